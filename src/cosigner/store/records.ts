/**
 * Row shapes, their mapping to records, sealing contexts and input checks that both store
 * backends (SQLite in database.ts, PostgreSQL in postgres/) share, so they answer alike.
 */
import type { Address, Hex } from 'viem';
import type { EnvelopeContext } from './envelope.js';
import { InvalidRecordError, NotFoundError, SpendLimitError, WalletLockedError, WalletStateError } from './errors.js';
import type { DeviceRecord, DeviceStatus, PendingShare, RateLimitDecision, RateLimitRequest, ReshareKind, ShareUse, WalletParties, WalletRecord, WalletStatus } from './types.js';
import * as check from './validate.js';

export interface WalletRow {
  wallet_id: string;
  threshold: number;
  parties: string;
  status: WalletStatus;
  address: string | null;
  public_key: string | null;
  generation: number | null;
  locked_reason: string | null;
  locked_at: number | null;
  created_at: number;
  activated_at: number | null;
  updated_at: number;
  share_updated_at: number | null;
}

export interface DeviceRow {
  device_id: string;
  identity_public_key: string;
  wallet_id: string;
  status: DeviceStatus;
  created_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  restore_approved_at: number | null;
}

export interface PresignatureRow {
  status: 'ready' | 'used';
  generation: number;
  sealed_state: Uint8Array | null;
}

export interface PendingShareRow {
  generation: number;
  sealed: Uint8Array;
  kind: ReshareKind;
  parties: string | null;
  shares_digest: string | null;
}

export const WALLET_SELECT = `
  SELECT w.wallet_id, w.threshold, w.parties, w.status, w.address, w.public_key, s.generation,
         w.locked_reason, w.locked_at, w.created_at, w.activated_at, w.updated_at, s.updated_at AS share_updated_at
  FROM wallets w LEFT JOIN shares s ON s.wallet_id = w.wallet_id`;

/** A wallet's state and its sealed share in one statement (one snapshot, one round trip): read for every signature. */
export const SHARE_SELECT = 'SELECT w.status, w.locked_reason, s.generation, s.sealed FROM wallets w LEFT JOIN shares s ON s.wallet_id = w.wallet_id WHERE w.wallet_id = ?';

export interface ShareRow {
  status: WalletStatus;
  locked_reason: string | null;
  generation: number | null;
  sealed: Uint8Array | null;
}

/** The sealed share of SHARE_SELECT's row, or why it may not be used for `use`. */
export function usableShare(walletId: string, use: ShareUse, row: ShareRow | undefined): { generation: number; sealed: Uint8Array } {
  if (!row) throw new NotFoundError('wallet', walletId, 'Enroll the device first.');
  if (row.status === 'pending') throw notActive(walletId);
  if (use === 'sign' && row.status === 'locked') throw new WalletLockedError(walletId, row.locked_reason ?? 'locked');
  if (row.generation === null || row.sealed === null) throw new NotFoundError('share', walletId);
  return { generation: row.generation, sealed: row.sealed };
}

export const DEVICE_SELECT = 'SELECT device_id, identity_public_key, wallet_id, status, created_at, revoked_at, revoked_reason, restore_approved_at FROM devices';

export function shareContext(walletId: string, generation: number): EnvelopeContext {
  return ['shares', walletId, generation];
}

export function pendingShareContext(walletId: string, deviceId: string, generation: number): EnvelopeContext {
  return ['pending-shares', walletId, deviceId, generation];
}

export function presignatureContext(walletId: string, presignatureId: string, generation: number): EnvelopeContext {
  return ['presignatures', walletId, presignatureId, generation];
}

export function notActive(walletId: string): WalletStateError {
  return new WalletStateError('WALLET_NOT_ACTIVE', walletId, `Wallet ${walletId} has not finished key generation. Run DKG first.`);
}

export function deviceNotRestoring(row: DeviceRow): WalletStateError {
  const what = row.status === 'revoked' ? `is revoked${row.revoked_reason ? ` (${row.revoked_reason})` : ''}` : 'is active: it already holds its share';
  return new WalletStateError(
    'DEVICE_NOT_RESTORING',
    row.wallet_id,
    `Device ${row.device_id} ${what}, so there is no restore of it to approve. Only a device enrolled from the recovery kit and still restoring can be approved (see devices list ${row.wallet_id}).`,
  );
}

export function generationMismatch(walletId: string, held: number, got: number, what: 'refresh' | 'restore'): WalletStateError {
  return what === 'refresh'
    ? new WalletStateError('WALLET_GENERATION_MISMATCH', walletId, `Wallet ${walletId} holds share generation ${held}; a refresh must store generation ${held + 1}, not ${got}.`)
    : new WalletStateError('WALLET_GENERATION_MISMATCH', walletId, `Wallet ${walletId} holds generation ${held}; a restore must produce ${held + 1}, not ${got}.`);
}

/** Why the other devices of a wallet are revoked when a pending share of this kind commits. */
export const RESHARE_REVOKE_REASON: Record<ReshareKind, string> = {
  restore: 'replaced by a restore from the recovery kit',
  refresh: 'its shares were replaced by a refresh',
  'new-backup': 'its shares were replaced when the wallet made a new backup',
};

/** The checked, canonical form of a pending share. */
export function checkPendingShare(pending: PendingShare): { walletId: string; deviceId: string; generation: number; share: string; kind: ReshareKind; parties: string | null } {
  const kind = pending.kind ?? 'restore';
  if (kind !== 'refresh' && kind !== 'restore' && kind !== 'new-backup') {
    throw new InvalidRecordError(`A pending share comes from a refresh, a restore or a new backup, not ${JSON.stringify(kind)}.`);
  }
  return {
    walletId: check.walletId(pending.walletId),
    deviceId: check.deviceId(pending.deviceId),
    generation: check.generation(pending.generation),
    share: check.secretText(pending.share, 'key share'),
    kind,
    parties: pending.parties === undefined ? null : check.parties(2, pending.parties).text,
  };
}

/** Checks a pending share against the wallet it would commit into; throws what the commit would refuse. */
export function checkCommit(walletId: string, deviceId: string, wallet: WalletRecord, pending: PendingShareRow, generation: number, sharesDigest: string | undefined): void {
  if (pending.generation !== generation || wallet.generation === undefined || generation !== wallet.generation + 1) {
    throw new WalletStateError('WALLET_GENERATION_MISMATCH', walletId, `The pending restore of wallet ${walletId} is generation ${pending.generation}, not ${generation}.`);
  }
  if (pending.shares_digest !== null && pending.shares_digest !== sharesDigest) {
    throw new WalletStateError('WALLET_GENERATION_MISMATCH', walletId, `The pending share of wallet ${walletId} is of another run than the one device ${deviceId} commits; run it again.`);
  }
}

/** The audit row of a committed pending share. */
export function commitAuditEntry(input: { walletId: string; deviceId: string; generation: number; wallet: WalletRecord; pending: PendingShareRow; parties: string; dropped: number; revokedDevices: string[]; at: number }) {
  const { wallet, pending } = input;
  const summary = {
    generation: input.generation,
    previousGeneration: wallet.generation,
    presignaturesDropped: input.dropped,
    revokedDevices: input.revokedDevices,
    unlocked: wallet.status === 'locked',
    ...(wallet.status === 'locked' ? { lockedReason: wallet.lockedReason } : {}),
  };
  const newBackup = pending.kind === 'new-backup' ? { newBackup: true, parties: JSON.parse(input.parties) as number[], previousParties: [...wallet.parties] } : {};
  return { kind: pending.kind === 'restore' ? ('restore' as const) : ('refresh' as const), walletId: input.walletId, deviceId: input.deviceId, at: input.at, summary: { ...summary, ...newBackup } };
}

/** The checked, canonical form of a rate-limit request. */
export function checkRateLimit(request: RateLimitRequest, now: () => number): { bucket: string; key: string; limit: number; windowMs: number; at: number } {
  const bucket = check.shortText(request.bucket, 'rate-limit bucket', 64);
  const key = check.shortText(request.key, 'rate-limit key', 256);
  if (!Number.isSafeInteger(request.limit) || request.limit < 1) throw new TypeError('A rate limit is a positive integer.');
  if (!Number.isSafeInteger(request.windowMs) || request.windowMs < 1) throw new TypeError('A rate-limit window is a positive number of milliseconds.');
  const at = request.at === undefined ? now() : check.timestamp(request.at);
  return { bucket, key, limit: request.limit, windowMs: request.windowMs, at };
}

/** The decision given the events already in the window; the caller records one more when allowed. */
export function rateLimitDecision(inWindow: number, oldest: number | null, limit: number, windowMs: number, at: number): RateLimitDecision {
  if (inWindow >= limit) return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, (oldest ?? at) + windowMs - at) };
  return { allowed: true, remaining: limit - inWindow - 1, retryAfterMs: 0 };
}

/** Refuses a spend that would take the wallet past its limit; `committed` is what the window already holds (signed and held). */
export function checkSpendLimit(walletId: string, chainId: number, committed: bigint, value: bigint, limitWei: bigint): void {
  if (committed + value > limitWei) throw new SpendLimitError(walletId, chainId, value, limitWei > committed ? limitWei - committed : 0n, limitWei);
}

export function toWallet(row: WalletRow): WalletRecord {
  return {
    walletId: row.wallet_id,
    threshold: 2,
    parties: (row.parties === '[1,2,3]' ? [1, 2, 3] : [1, 2]) as WalletParties,
    status: row.status,
    address: (row.address ?? undefined) as Address | undefined,
    publicKey: (row.public_key ?? undefined) as Hex | undefined,
    generation: row.generation ?? undefined,
    lockedReason: row.locked_reason ?? undefined,
    lockedAt: row.locked_at ?? undefined,
    createdAt: row.created_at,
    activatedAt: row.activated_at ?? undefined,
    updatedAt: row.updated_at,
    ...(row.share_updated_at === null ? {} : { shareUpdatedAt: row.share_updated_at }),
  };
}

export function toDevice(row: DeviceRow): DeviceRecord {
  return {
    deviceId: row.device_id,
    identityPublicKey: row.identity_public_key,
    walletId: row.wallet_id,
    status: row.status,
    createdAt: row.created_at,
    ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at }),
    ...(row.revoked_reason === null ? {} : { revokedReason: row.revoked_reason }),
    ...(row.restore_approved_at === null ? {} : { restoreApprovedAt: row.restore_approved_at }),
  };
}
