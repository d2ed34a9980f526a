/** Failures while preparing a request that are not the dapp's fault: the chain could not be read. */
import { CodedError } from '../../mpc/errors.js';

export type RequestErrorCode = 'CHAIN_UNAVAILABLE' | 'FEES_UNSUPPORTED';

export class RequestError extends CodedError<RequestErrorCode> {
  override name = 'RequestError';
}
