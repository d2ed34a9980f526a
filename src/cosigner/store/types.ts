import type { Address, Hex } from 'viem';
import type { AuditLogStore, AuditSummaryInput, MaybePromise } from '../audit/types.js';
import type { WalletPolicy } from '../policy/types.js';
import type { DecodedRequest, DecisionVerdict, RequestQuorum, RequestResult, RequestState, RequestView } from '../../channel/approval-protocol.js';

export type { MaybePromise };

/** pending: enrolled, DKG not finished. active: signs. locked: a check failed; signs nothing until refreshed. */
export type WalletStatus = 'pending' | 'active' | 'locked';

/** 2-of-2 is [1, 2], 2-of-3 is [1, 2, 3]. The co-signer is party 2 in both. */
export type WalletParties = readonly [1, 2] | readonly [1, 2, 3];

export const COSIGNER_PARTY_ID = 2;

/** active: signs for its wallet. restoring: enrolled from a recovery kit, may only restore. revoked: refused everywhere. */
export type DeviceStatus = 'active' | 'restoring' | 'revoked';

export interface DeviceRecord {
  deviceId: string;
  /** Compressed secp256k1 public key, 66 lowercase hex characters, no 0x. */
  identityPublicKey: string;
  walletId: string;
  status: DeviceStatus;
  createdAt: number;
  revokedAt?: number;
  revokedReason?: string;
  /** When an operator approved this device's restore (for a wallet whose policy has restoreNeedsOperator). */
  restoreApprovedAt?: number;
}

/** Why a re-sharing left a share pending: a refresh, a restore onto a new device, or a new backup made by the device. */
export type ReshareKind = 'refresh' | 'restore' | 'new-backup';

/** A re-sharing's new co-signer share, kept aside until the device confirms it stored its own. */
export interface PendingShare {
  walletId: string;
  deviceId: string;
  /** exportKeyShare(...) output. Secret: stored sealed. */
  share: string;
  /** Must be the stored generation + 1. */
  generation: number;
  /** Default 'restore'. */
  kind?: ReshareKind;
  /** The wallet's parties once committed (a new backup turns a 2-of-2 wallet into 2-of-3). Default: unchanged. */
  parties?: WalletParties;
  /** Names the run that made it (publicSharesDigest): a commit naming another run is refused. */
  sharesDigest?: string;
}

export interface WalletRecord {
  walletId: string;
  threshold: 2;
  parties: WalletParties;
  status: WalletStatus;
  /** Set once DKG finished (status active or locked). */
  address: Address | undefined;
  /** The group public key as the caller gave it, lowercase 0x hex. */
  publicKey: Hex | undefined;
  /** The generation of the stored share: 0 after DKG, +1 per refresh. */
  generation: number | undefined;
  lockedReason: string | undefined;
  lockedAt: number | undefined;
  createdAt: number;
  activatedAt: number | undefined;
  updatedAt: number;
  /** When the stored share was last written (keygen, refresh or restore); undefined until keygen. */
  shareUpdatedAt?: number;
}

export interface NewWallet {
  walletId: string;
  threshold: 2;
  parties: readonly number[];
}

export interface NewDevice {
  deviceId: string;
  identityPublicKey: string;
  walletId: string;
}

export interface WalletActivation {
  walletId: string;
  address: Address;
  /** The group public key, 33 (compressed) or 65 bytes, hex with or without 0x. */
  publicKey: string;
  /** exportKeyShare(...) output. Secret: stored sealed, never logged. */
  share: string;
  generation: number;
}

export interface ShareReplacement {
  walletId: string;
  share: string;
  /** Must be the stored generation + 1. */
  generation: number;
}

export interface NewPresignature {
  walletId: string;
  presignatureId: string;
  /** SignParty.exportState() output. Secret: stored sealed, wiped when consumed. */
  state: string;
  /** The generation of the share it was made with: refused when a refresh committed meanwhile. */
  generation?: number;
}

/** What a signature leaves behind: written in the same transaction as the presignature consumption. */
export interface SigningRecord {
  deviceId?: string;
  /** Audit summary of what was signed (kind 'sign'). No secrets. */
  summary?: AuditSummaryInput;
  /** Native value the signed transaction sends, for the daily limit. */
  spend?: {
    chainId: number;
    valueWei: bigint;
    /**
     * The signed transaction's digest (0x hex). A transaction whose digest the ledger already holds is
     * not counted again: a second signature over it is a retry (the co-signer instance that made the
     * first died with its answer in flight), and its nonce lets only one of them ever be mined. This
     * holds however long ago the first was signed: the window of the daily limit does not apply.
     */
    digest?: string;
    /**
     * Refuse (SpendLimitError, nothing recorded) when what the window already holds (spent since
     * `sinceMs` plus held requests of that chain, but not the one being finished) plus this value
     * passes `limitWei`. Checked under the wallet's write lock, so concurrent co-signers cannot overspend.
     */
    limit?: { limitWei: bigint; sinceMs: number };
  };
  /** Milliseconds since the epoch; defaults to the store's clock. */
  at?: number;
}

export interface SpendInput {
  walletId: string;
  chainId: number;
  valueWei: bigint;
  at?: number;
}

/** Sliding-window rate limit: at most `limit` events per `windowMs` for one (bucket, key). */
export interface RateLimitRequest {
  bucket: string;
  key: string;
  limit: number;
  windowMs: number;
  at?: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Events still allowed in the current window after this one. */
  remaining: number;
  /** 0 when allowed; otherwise how long until the oldest event leaves the window. */
  retryAfterMs: number;
}

/** Why a share is loaded: signing refuses a locked wallet, refresh needs the share of a locked wallet. */
export type ShareUse = 'sign' | 'refresh';

export interface ApproverRecord {
  approverId: string;
  name: string;
  /** Compressed secp256k1 public key, 66 lowercase hex characters, no 0x. */
  identityPublicKey: string;
  status: 'active' | 'removed';
  createdAt: number;
  removedAt?: number;
}

/** A sign request the wallet's policy holds for approvers. */
export interface HeldRequestInput {
  requestId: string;
  walletId: string;
  deviceId: string;
  presignatureId: string;
  payloadJson: string;
  digest: Hex;
  payloadHash: Hex;
  decoded: DecodedRequest;
  quorums: RequestQuorum[];
  expiresAt: number;
}

/** A request that was settled when it arrived: signed at once, or refused. */
export interface SettledRequestInput {
  requestId: string;
  walletId: string;
  deviceId: string;
  payloadJson: string;
  digest: Hex;
  payloadHash: Hex;
  decoded: DecodedRequest;
  state: 'signed' | 'failed';
  result: RequestResult;
  generation: number;
  presignatureId?: string;
}

export interface RequestFilter {
  walletId?: string;
  deviceId?: string;
  /** Requests this approver is one of the approvers of. */
  approverId?: string;
  states?: RequestState[];
  /** Default 50, at most 500. Newest first. */
  limit?: number;
}

/** Approvers and held requests. Every call is one transaction. */
export interface ApprovalStore {
  /** A one-time enrollment code (its SHA-256 hex) for an approver of this name. Audited as 'admin'. */
  inviteApprover(input: { name: string; codeDigest: string; expiresAt: number; actor?: string }): MaybePromise<void>;
  /** Audited as 'enroll'. */
  enrollApprover(input: { codeDigest: string; approverId: string; identityPublicKey: string }): MaybePromise<ApproverRecord>;
  getApprover(approverId: string): MaybePromise<ApproverRecord | undefined>;
  listApprovers(): MaybePromise<ApproverRecord[]>;
  /** Audited as 'revoke'. */
  removeApprover(approverId: string, actor?: string): MaybePromise<ApproverRecord>;
  /**
   * Records a request settled on arrival (signed at once, or refused), so its status can be asked like any other.
   * One statement: every signature writes one, after its answer left. ConflictError if the id exists.
   */
  recordSettled(input: SettledRequestInput): MaybePromise<void>;
  getRequest(requestId: string): MaybePromise<RequestView | undefined>;
  listRequests(filter?: RequestFilter): MaybePromise<RequestView[]>;
  /** A verified decision (audited as 'decision'); moves the request to approved or rejected when the quorums say so. */
  recordDecision(input: { requestId: string; approverId: string; verdict: DecisionVerdict; decidedAt: number; signature: Hex }): MaybePromise<{ request: RequestView; counted: boolean }>;
  finish(requestId: string, state: 'signed' | 'broadcast' | 'failed', result: RequestResult): MaybePromise<RequestView>;
  expireDue(): MaybePromise<RequestView[]>;
  listApprovedUnsigned(): MaybePromise<string[]>;
  /** Held requests that ended (rejected, failed) at or after `sinceMs`, whoever ended them. */
  listEndedSince(sinceMs: number): MaybePromise<RequestView[]>;
  failInterrupted(): MaybePromise<RequestView[]>;
  /** Pending requests of a wallet, or awaiting this approver's decision. */
  countPending(filter: { walletId?: string; approverId?: string }): MaybePromise<number>;
}

/**
 * The co-signer's persistence, behind an interface a PostgreSQL backend can implement too.
 * Await every call: the SQLite implementation answers synchronously, a network database will not.
 *
 * Mutations that change a wallet's security state write their own audit row in the same
 * transaction: createDevice/enroll ('enroll'), activateWallet ('keygen'), replaceShare ('refresh'),
 * lockWallet ('lock'), setPolicy ('policy'), and consumePresignature/recordSignature ('sign') when
 * given a SigningRecord. Refusals, aborts and anything else go through `audit.append`.
 */
export interface CosignerStore {
  readonly audit: AuditLogStore;

  createWallet(wallet: NewWallet): MaybePromise<WalletRecord>;
  /** Audited as 'enroll'. The wallet must exist and have no device yet. */
  createDevice(device: NewDevice): MaybePromise<DeviceRecord>;
  /** createWallet + createDevice in one transaction. */
  enroll(input: NewDevice & Omit<NewWallet, 'walletId'>): MaybePromise<{ wallet: WalletRecord; device: DeviceRecord }>;
  getDevice(deviceId: string): MaybePromise<DeviceRecord | undefined>;
  getDeviceByIdentityKey(identityPublicKey: string): MaybePromise<DeviceRecord | undefined>;
  /** The wallet's active device (the first enrolled, if several). */
  getDeviceForWallet(walletId: string): MaybePromise<DeviceRecord | undefined>;
  listDevices(walletId: string): MaybePromise<DeviceRecord[]>;
  /** Devices revoked at or after `sinceMs` (by any process sharing the store): their connections must close. */
  listRevokedSince(sinceMs: number): MaybePromise<DeviceRecord[]>;
  /**
   * Enrolls a device that may only restore the wallet (from its recovery kit). An earlier device
   * still restoring is revoked: one restore at a time. Audited as 'enroll' with restore: true.
   */
  createRestoringDevice(device: NewDevice): MaybePromise<DeviceRecord>;
  /** Refused everywhere from now on; its pending restore goes too. Audited as 'revoke'. */
  revokeDevice(deviceId: string, reason: string, options?: { actor?: string }): MaybePromise<DeviceRecord>;
  /**
   * An operator lets this restoring device run its restore (the wallet's policy has restoreNeedsOperator).
   * Audited as 'approve'. A device that is not 'restoring' is refused with WalletStateError DEVICE_NOT_RESTORING;
   * approving an approved device again changes nothing and answers the same.
   */
  approveRestore(deviceId: string, options?: { actor?: string }): MaybePromise<DeviceRecord>;
  /** Keeps a re-sharing's new share aside (replacing an older pending one); the current share stays in force. */
  putPendingShare(pending: PendingShare): MaybePromise<void>;
  /**
   * Makes the pending share of this device current: presignatures dropped, wallet unlocked (and
   * its parties updated), the device active and every other device revoked, in one transaction.
   * Audited as 'restore' for a restore, 'refresh' for a refresh (with newBackup: true for a new backup).
   * Calling it again after it succeeded answers the same without changing anything.
   */
  commitPendingShare(input: { walletId: string; deviceId: string; generation: number; sharesDigest?: string }): MaybePromise<{ wallet: WalletRecord; revoked: string[]; kind: ReshareKind }>;
  getWallet(walletId: string): MaybePromise<WalletRecord | undefined>;
  listWallets(filter?: { status?: WalletStatus }): MaybePromise<WalletRecord[]>;

  /** Stores the DKG result and marks the wallet active. Audited as 'keygen'. */
  activateWallet(activation: WalletActivation): MaybePromise<WalletRecord>;
  /** The decrypted share. For 'sign' (the default) a locked or pending wallet is refused. */
  loadShare(walletId: string, use?: ShareUse): MaybePromise<string>;
  /** Stores a refreshed share (generation + 1), drops every presignature and unlocks. Audited as 'refresh'. */
  replaceShare(replacement: ShareReplacement): MaybePromise<WalletRecord>;
  /** Refuses signing until the next refresh and drops every presignature. Audited as 'lock'. */
  lockWallet(walletId: string, reason: string): MaybePromise<WalletRecord>;

  /** Adds a ready presignature for the wallet's current generation. Ids are never reused. */
  putPresignature(presignature: NewPresignature): MaybePromise<void>;
  /**
   * Marks the presignature used, durably, and returns its decrypted state: only to the one caller
   * that won it. Anyone else gets PresignatureUnavailableError. A locked wallet gets WalletLockedError.
   */
  consumePresignature(walletId: string, presignatureId: string, signing?: SigningRecord): MaybePromise<string>;
  countReadyPresignatures(walletId: string): MaybePromise<number>;
  deleteAllPresignatures(walletId: string): MaybePromise<number>;
  /**
   * Drops every ready presignature of every wallet. The co-signer does this at each start: it cannot
   * tell a restart from a restored backup, and a restored presignature may already have been used
   * (checklist item 5). Devices presign again. Returns how many were dropped.
   */
  dropReadyPresignatures(): MaybePromise<number>;
  /** Removes tombstones of presignatures used before `usedBeforeMs`. Returns how many. */
  pruneUsedPresignatures(usedBeforeMs: number): MaybePromise<number>;
  /** For a signature made without a presignature: audit row ('sign') and spend, in one transaction. */
  recordSignature(walletId: string, signing: SigningRecord): MaybePromise<void>;

  /** The wallet's policy; {} (no restriction) when none was set. */
  getPolicy(walletId: string): MaybePromise<WalletPolicy>;
  /** Validates, normalises and stores the policy. Audited as 'policy'. Returns what was stored. */
  setPolicy(walletId: string, policy: unknown, options?: { actor?: string }): MaybePromise<WalletPolicy>;

  recordSpend(spend: SpendInput): MaybePromise<void>;
  /** Sum of native value sent on the chain at or after `sinceMs`, leaving out the transaction with digest `exceptDigest`. */
  spentSince(walletId: string, chainId: number, sinceMs: number, exceptDigest?: string): MaybePromise<bigint>;

  takeRateLimit(request: RateLimitRequest): MaybePromise<RateLimitDecision>;

  readonly approvals: ApprovalStore;
  /** Native value of the wallet's held transactions on a chain (pending or approved): the daily limit counts them as spent. */
  heldValue(walletId: string, chainId: number, exceptRequestId?: string): MaybePromise<bigint>;
  /**
   * Holds a sign request for approvers: takes the presignature (as consumePresignature does) and
   * keeps its state sealed with the device's online message, in one transaction. Audited as 'hold'.
   * `verify` runs on the taken state inside that transaction: if it throws, nothing is taken or held.
   */
  holdSignRequest(input: HeldRequestInput, deviceMessages: string[], verify?: (presignatureState: string) => void): MaybePromise<RequestView>;
  /**
   * Takes an approved request's signing state, once, and records the signing (audit and spend) in
   * the same transaction. A locked wallet gets WalletLockedError.
   */
  takeApprovedRequest(requestId: string, signing: SigningRecord): MaybePromise<{ view: RequestView; presignature: string; deviceMessages: string[] }>;

  close(): MaybePromise<void>;
}
