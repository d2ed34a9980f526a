import type { MailRefusalCode } from '../../channel/approval-protocol.js';
import { CodedError } from '../../mpc/errors.js';

/**
 * Errors of the co-signer's storage: master key, envelope encryption, the repository and the audit log.
 * Each carries a stable `code` for callers and logs, and a `shortMessage` an operator can act on.
 */
export class StoreError<Code extends string = string> extends CodedError<Code> {
  override name = 'StoreError';
}

export type MasterKeyErrorCode =
  | 'MASTER_KEY_BAD_ENCODING'
  | 'MASTER_KEY_WRONG_LENGTH'
  | 'MASTER_KEY_INSECURE_FILE'
  | 'MASTER_KEY_UNREADABLE'
  | 'MASTER_KEY_AMBIGUOUS'
  | 'MASTER_KEY_MISSING';

/** The master key could not be loaded, or was refused because it is unsafe. */
export class MasterKeyError extends StoreError<MasterKeyErrorCode> {
  override name = 'MasterKeyError';
}

/** The database was sealed under another master key: nothing in it can be decrypted with this one. */
export class MasterKeyMismatchError extends StoreError {
  override name = 'MasterKeyMismatchError';
  constructor(expectedKeyId: string, actualKeyId: string) {
    super(
      'MASTER_KEY_MISMATCH',
      `This data was encrypted under another master key (key id ${expectedKeyId}), but the loaded key has id ${actualKeyId}. ` +
        'Start the co-signer with the original master key; with any other key the shares cannot be decrypted.',
    );
  }
}

export type EnvelopeErrorCode = 'ENVELOPE_BAD_FORMAT' | 'ENVELOPE_UNSUPPORTED_VERSION' | 'ENVELOPE_WRONG_MASTER_KEY' | 'ENVELOPE_AUTH_FAILED';

/** A sealed record could not be opened. */
export class EnvelopeError extends StoreError<EnvelopeErrorCode> {
  override name = 'EnvelopeError';
}

/** The database file was written by a newer co-signer, or its schema is not one this code knows. */
export class SchemaVersionError extends StoreError {
  override name = 'SchemaVersionError';
  constructor(found: number, supported: number) {
    super(
      'STORE_SCHEMA_TOO_NEW',
      `The database has schema version ${found}, but this co-signer knows only up to ${supported}. Run a newer co-signer against it, or restore a matching backup.`,
    );
  }
}

export type RecordKind = 'wallet' | 'device' | 'share' | 'presignature' | 'approver' | 'request';

export class NotFoundError extends StoreError {
  override name = 'NotFoundError';
  readonly kind: RecordKind;
  readonly id: string;
  constructor(kind: RecordKind, id: string, hint?: string) {
    super('STORE_NOT_FOUND', `No ${kind} ${id}.${hint ? ` ${hint}` : ''}`);
    this.kind = kind;
    this.id = id;
  }
}

/** The record already exists, or a unique value (identity key, wallet's device) is taken. */
export class ConflictError extends StoreError {
  override name = 'ConflictError';
  constructor(shortMessage: string, cause?: unknown) {
    super('STORE_CONFLICT', shortMessage, { cause });
  }
}

/** The caller passed a value the store refuses to write (bad id, bad threshold, ...). */
export class InvalidRecordError extends StoreError {
  override name = 'InvalidRecordError';
  constructor(shortMessage: string, details?: string) {
    super('STORE_INVALID_RECORD', shortMessage, { details });
  }
}

export type WalletStateErrorCode = 'WALLET_LOCKED' | 'WALLET_NOT_ACTIVE' | 'WALLET_ALREADY_ACTIVE' | 'WALLET_GENERATION_MISMATCH' | 'DEVICE_REVOKED' | 'NO_PENDING_RESTORE' | 'DEVICE_NOT_RESTORING';

/** The wallet is not in a state that allows this operation. */
export class WalletStateError extends StoreError {
  override name = 'WalletStateError';
  declare readonly code: WalletStateErrorCode;
  readonly walletId: string;
  constructor(code: WalletStateErrorCode, walletId: string, shortMessage: string) {
    super(code, shortMessage);
    this.walletId = walletId;
  }
}

/** After a failed check the co-signer signs nothing for this wallet until its shares are refreshed. */
export class WalletLockedError extends WalletStateError {
  override name = 'WalletLockedError';
  readonly reason: string;
  constructor(walletId: string, reason: string) {
    super(
      'WALLET_LOCKED',
      walletId,
      `Wallet ${walletId} is locked (${reason}). The co-signer will not sign for it until its key shares are refreshed.`,
    );
    this.reason = reason;
  }
}

/** This presignature does not exist, was already used, or belongs to an older generation. Never retry with it. */
export class PresignatureUnavailableError extends StoreError {
  override name = 'PresignatureUnavailableError';
  readonly walletId: string;
  readonly presignatureId: string;
  constructor(walletId: string, presignatureId: string, why: 'used' | 'unknown' | 'stale') {
    const text = {
      used: 'was already used',
      unknown: 'does not exist',
      stale: 'belongs to an older key generation',
    }[why];
    super('PRESIGNATURE_UNAVAILABLE', `Presignature ${presignatureId} of wallet ${walletId} ${text}. Sign with a fresh presignature or the full protocol.`);
    this.walletId = walletId;
    this.presignatureId = presignatureId;
  }
}

export type AuditErrorCode = 'AUDIT_BAD_ENTRY' | 'AUDIT_SECRET_FIELD';

/** An audit entry was refused before it was written. */
export class AuditError extends StoreError {
  override name = 'AuditError';
  declare readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, shortMessage: string, details?: string) {
    super(code, shortMessage, { details });
  }
}

/** A decision (or a signing of a held request) the request's state does not allow; the code is what the approver is told. */
export class DecisionRefusedError extends StoreError<MailRefusalCode> {
  override name = 'DecisionRefusedError';
  constructor(code: MailRefusalCode, shortMessage: string) {
    super(code, shortMessage);
  }
}

/** The signing would send more than the wallet's limit allows in its window (checked in the transaction that records it). */
export class SpendLimitError extends StoreError {
  override name = 'SpendLimitError';
  readonly walletId: string;
  readonly chainId: number;
  readonly leftWei: bigint;
  readonly limitWei: bigint;
  constructor(walletId: string, chainId: number, valueWei: bigint, leftWei: bigint, limitWei: bigint) {
    super(
      'SPEND_LIMIT_EXCEEDED',
      `Wallet ${walletId} may send ${leftWei} more wei on chain ${chainId} in this window (limit ${limitWei}); this signature sends ${valueWei}. Send less, wait, or ask the operator to raise the limit.`,
    );
    this.walletId = walletId;
    this.chainId = chainId;
    this.leftWei = leftWei;
    this.limitWei = limitWei;
  }
}

/** The write-ahead log could not be flushed: what was committed may not survive a power loss, so nothing that depends on it is answered. */
export class DurabilityError extends StoreError {
  override name = 'DurabilityError';
  constructor(cause: unknown) {
    super('STORE_NOT_DURABLE', 'The database could not flush its write-ahead log to disk; check the disk, then retry.', { cause, details: (cause as Error)?.message });
  }
}
