import { CodedError } from '../mpc/errors.js';

export type ClientErrorCode =
  | 'CLIENT_FILE_EXISTS'
  | 'CLIENT_FILE_MISSING'
  | 'CLIENT_FILE_PERMISSIONS'
  | 'CLIENT_FILE_CORRUPT'
  | 'CLIENT_FILE_BUSY'
  | 'CLIENT_NO_KEY'
  | 'CLIENT_ENROLL_FAILED'
  | 'CLIENT_HTTP'
  | 'CLIENT_USAGE';

/** Every error of the headless client: a stable code, a message a person can act on, and the cause. */
export class ClientError extends CodedError<ClientErrorCode> {
  override name = 'ClientError';
}
