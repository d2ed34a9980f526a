/**
 * The shape of every Tandem error, in every room: a stable code, a short message a person can act
 * on, the details behind it and the cause. Each room derives its own base class from this one.
 */
export class CodedError<Code extends string = string> extends Error {
  override name = 'CodedError';
  readonly code: Code;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: Code, shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** Every error raised by src/mpc. */
export class MpcError extends CodedError {
  override name = 'MpcError';
}

/** Why a protocol aborted. Stable strings so that callers and audit logs can match on them. */
export type AbortReason =
  | 'bad-encoding'
  | 'unsupported-version'
  | 'wrong-protocol'
  | 'wrong-session'
  | 'wrong-sender'
  | 'wrong-recipient'
  | 'wrong-round'
  | 'duplicate-message'
  | 'invalid-point'
  | 'invalid-scalar'
  | 'commitment-mismatch'
  | 'invalid-proof'
  | 'invalid-share'
  | 'view-mismatch'
  | 'ot-check-failed'
  | 'multiplication-check-failed'
  | 'consistency-check-failed'
  | 'public-key-mismatch'
  | 'nonce-overflow'
  | 'signature-invalid';

/**
 * A protocol run stopped because something it received failed a check.
 * The party is dead afterwards: a new session is needed, and after a failed
 * check in signing the wallet should be refreshed before it signs again.
 */
export class ProtocolAbortError extends MpcError {
  override name = 'ProtocolAbortError';
  readonly protocol: string;
  readonly round: number;
  readonly reason: AbortReason;
  readonly culprit: number | undefined;

  constructor(args: { protocol: string; round: number; reason: AbortReason; culprit?: number; details?: string; cause?: unknown }) {
    const who = args.culprit === undefined ? '' : ` from party ${args.culprit}`;
    super('MPC_ABORT', `${args.protocol} aborted in round ${args.round}: ${args.reason}${who}.`, {
      details: args.details,
      cause: args.cause,
    });
    this.protocol = args.protocol;
    this.round = args.round;
    this.reason = args.reason;
    this.culprit = args.culprit;
  }
}

/** The party already aborted (or finished) and refuses to go on. */
export class PartyClosedError extends MpcError {
  override name = 'PartyClosedError';
  constructor(protocol: string, state: 'aborted' | 'finished', cause?: unknown) {
    super(
      'MPC_PARTY_CLOSED',
      state === 'aborted'
        ? `This ${protocol} party aborted earlier and cannot continue. Start a new session.`
        : `This ${protocol} party has finished. Start a new session.`,
      { cause },
    );
  }
}

/** A presignature may sign exactly one digest. */
export class PresignatureUsedError extends MpcError {
  override name = 'PresignatureUsedError';
  constructor() {
    super('MPC_PRESIGNATURE_USED', 'This presignature was already used. Run a new presigning session.');
  }
}

/** The caller passed something the protocol cannot work with (not a message from a peer). */
export class InvalidArgumentError extends MpcError {
  override name = 'InvalidArgumentError';
  constructor(shortMessage: string, details?: string) {
    super('MPC_INVALID_ARGUMENT', shortMessage, { details });
  }
}

/** Thrown by the binary readers; the party turns it into a ProtocolAbortError naming the round. */
export class DecodeError extends MpcError {
  override name = 'DecodeError';
  readonly reason: AbortReason;
  constructor(reason: AbortReason, details: string) {
    super('MPC_DECODE', `Could not decode a protocol field: ${reason}.`, { details });
    this.reason = reason;
  }
}

/** Two shares that are not of the same key and generation (another wallet's, or one from before a refresh). */
export class ShareMismatchError extends MpcError {
  override name = 'ShareMismatchError';
  constructor(shortMessage: string, details?: string) {
    super('MPC_SHARE_MISMATCH', shortMessage, { details });
  }
}
