import { CodedError } from '../mpc/errors.js';

/**
 * Every error raised by src/channel is a ChannelError with a stable code.
 *
 * Codes that end a session (it refuses every later call): CHANNEL_BAD_FRAME, CHANNEL_TAMPERED,
 * CHANNEL_REPLAY, CHANNEL_OUT_OF_ORDER, CHANNEL_EXPIRED, CHANNEL_BAD_SIGNATURE, CHANNEL_WRONG_PEER,
 * CHANNEL_WRONG_SESSION, CHANNEL_SESSION_DEAD, CHANNEL_CLOSED.
 * Codes a caller may retry after: CHANNEL_TIMEOUT, CHANNEL_DISCONNECTED (while the transport reconnects).
 */
export type ChannelErrorCode =
  | 'CHANNEL_BAD_FRAME'
  | 'CHANNEL_TAMPERED'
  | 'CHANNEL_REPLAY'
  | 'CHANNEL_OUT_OF_ORDER'
  | 'CHANNEL_EXPIRED'
  | 'CHANNEL_BAD_SIGNATURE'
  | 'CHANNEL_WRONG_PEER'
  | 'CHANNEL_WRONG_SESSION'
  | 'CHANNEL_UNKNOWN_PEER'
  | 'CHANNEL_SESSION_DEAD'
  | 'CHANNEL_CLOSED'
  | 'CHANNEL_NOT_READY'
  | 'CHANNEL_TIMEOUT'
  | 'CHANNEL_DISCONNECTED'
  | 'CHANNEL_AUTH_REFUSED'
  | 'CHANNEL_CONNECT_FAILED'
  | 'CHANNEL_SUBSCRIBE_REFUSED'
  | 'CHANNEL_INVALID_ARGUMENT'
  | 'CHANNEL_NO_KEY'
  | 'CHANNEL_ENROLL_FAILED'
  | 'CHANNEL_PEER_RESTARTED'
  /** The co-signer revoked this device (the operator did, or the wallet was restored elsewhere). Final. */
  | 'CHANNEL_DEVICE_REVOKED';

const RETRYABLE: ReadonlySet<ChannelErrorCode> = new Set(['CHANNEL_TIMEOUT', 'CHANNEL_DISCONNECTED', 'CHANNEL_NOT_READY']);

export class ChannelError extends CodedError<ChannelErrorCode> {
  override name = 'ChannelError';

  /** True when the same conversation may still go on (try again, or wait for the transport to reconnect). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function isChannelError(error: unknown, code?: ChannelErrorCode): error is ChannelError {
  return error instanceof ChannelError && (code === undefined || error.code === code);
}

export function invalidArgument(shortMessage: string, details?: string): ChannelError {
  return new ChannelError('CHANNEL_INVALID_ARGUMENT', shortMessage, { details });
}

export function badFrame(details: string, cause?: unknown): ChannelError {
  return new ChannelError('CHANNEL_BAD_FRAME', 'A channel frame is malformed and was refused.', { details, cause });
}
