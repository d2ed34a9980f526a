import Database from 'better-sqlite3';
import { Statements, type Param } from './statements.js';
import { chmodSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteAuditLog } from '../audit/audit-log.js';
import type { AuditSummaryInput } from '../audit/types.js';
import { validatePolicy } from '../policy/validate.js';
import type { WalletPolicy } from '../policy/types.js';
import { EnvelopeCipher } from './envelope.js';
import {
  ConflictError,
  DecisionRefusedError,
  MasterKeyMismatchError,
  NotFoundError,
  PresignatureUnavailableError,
  WalletLockedError,
  WalletStateError,
} from './errors.js';
import type { MasterKey } from './master-key.js';
import { migrate } from './schema.js';
import { WalSync } from './wal-sync.js';
import { SqliteApprovalStore } from './approvals.js';
import type { RequestView } from '../../channel/approval-protocol.js';
import type {
  ApprovalStore,
  CosignerStore,
  HeldRequestInput,
  DeviceRecord,
  NewDevice,
  PendingShare,
  NewPresignature,
  NewWallet,
  RateLimitDecision,
  RateLimitRequest,
  ReshareKind,
  ShareReplacement,
  ShareUse,
  SigningRecord,
  SpendInput,
  WalletActivation,
  WalletRecord,
  WalletStatus,
} from './types.js';
import * as check from './validate.js';
import {
  checkCommit,
  checkPendingShare,
  checkRateLimit,
  checkSpendLimit,
  commitAuditEntry,
  DEVICE_SELECT,
  deviceNotRestoring,
  generationMismatch,
  notActive,
  pendingShareContext,
  presignatureContext,
  rateLimitDecision,
  RESHARE_REVOKE_REASON,
  SHARE_SELECT,
  shareContext,
  toDevice,
  toWallet,
  usableShare,
  WALLET_SELECT,
  type DeviceRow,
  type PendingShareRow,
  type PresignatureRow,
  type ShareRow,
  type WalletRow,
} from './records.js';

export { DATABASE_FILE, databasePath } from './paths.js';

export interface OpenDatabaseOptions {
  readonly?: boolean;
  /** How long a write waits for another connection's lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Opens the SQLite file with the settings the store relies on and brings its schema up to date.
 * WAL lets readers run beside the writer; synchronous=FULL makes every commit durable, even across
 * power loss (the signing path commits with NORMAL and waits for a shared WAL flush instead, see
 * #durableTx, which is as durable); secure_delete overwrites the pages that held wiped presignature states.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Database.Database {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const isFile = path !== ':memory:' && path !== '';
  const created = isFile && !options.readonly && !existsSync(path);
  if (created) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false, timeout: busyTimeoutMs });
  try {
    if (created) chmodSync(path, 0o600);
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    db.pragma('foreign_keys = ON');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('secure_delete = ON');
      migrate(db);
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export interface SqliteStoreOptions {
  /** The SQLite file (see databasePath), or ':memory:'. */
  path: string;
  masterKey: MasterKey;
  /** Milliseconds since the epoch. */
  now?: () => number;
  busyTimeoutMs?: number;
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteCosignerStore {
  return new SqliteCosignerStore(options);
}

/** The CosignerStore on embedded SQLite (better-sqlite3): every method is synchronous, except the signing path's three durable writes (see #durableTx). */
export class SqliteCosignerStore implements CosignerStore {
  readonly audit: SqliteAuditLog;
  readonly approvals: ApprovalStore;
  readonly #approvals: SqliteApprovalStore;
  readonly #db: Database.Database;
  readonly #cipher: EnvelopeCipher;
  readonly #now: () => number;
  readonly #sql: Statements;
  /** Absent for an in-memory database, where synchronous commits cost nothing. */
  readonly #walSync: WalSync | undefined;

  constructor(options: SqliteStoreOptions) {
    this.#db = openDatabase(options.path, options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs });
    this.#walSync = this.#db.memory ? undefined : WalSync.forDatabase(realpathSync(this.#db.name));
    this.#sql = new Statements(this.#db);
    try {
      this.#now = options.now ?? Date.now;
      this.#cipher = new EnvelopeCipher(options.masterKey);
      this.audit = new SqliteAuditLog(this.#db, { now: this.#now });
      this.#approvals = new SqliteApprovalStore(this.#db, this.#cipher, this.audit, this.#now);
      // A settled request's record is written after the answer left, beside the durable audit row and
      // spend of the signing itself: its commit need not wait for the disk (see #unsyncedTx).
      this.approvals = inTransactions(this.#approvals, (body, method) => (method === 'recordSettled' ? this.#unsyncedTx(body) : this.#tx(body)));
      this.#bindMasterKey(options.masterKey.keyId);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  // ---- wallets and devices

  createWallet(wallet: NewWallet): WalletRecord {
    const id = check.walletId(wallet.walletId);
    const { text } = check.parties(wallet.threshold, wallet.parties);
    return this.#tx(() => {
      if (this.#walletRow(id)) throw new ConflictError(`Wallet ${id} already exists. Pick a fresh wallet id.`);
      const now = this.#now();
      this.#run('INSERT INTO wallets (wallet_id, threshold, parties, status, created_at, updated_at) VALUES (?, 2, ?, ?, ?, ?)', id, text, 'pending', now, now);
      return this.#requireWallet(id);
    });
  }

  createDevice(device: NewDevice): DeviceRecord {
    const id = check.deviceId(device.deviceId);
    const key = check.identityPublicKey(device.identityPublicKey);
    const wallet = check.walletId(device.walletId);
    return this.#tx(() => {
      const walletRecord = this.#requireWallet(wallet);
      if (this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, id)) throw new ConflictError(`Device ${id} is already enrolled.`);
      if (this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE identity_public_key = ?`, key)) {
        throw new ConflictError('This identity key is already enrolled as another device. Each device enrolls with its own identity key.');
      }
      if (this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ?`, wallet)) throw new ConflictError(`Wallet ${wallet} already has a device.`);
      const now = this.#now();
      this.#run("INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, 'active', ?)", id, key, wallet, now);
      this.audit.append({
        kind: 'enroll',
        walletId: wallet,
        deviceId: id,
        at: now,
        summary: { identityPublicKey: key, threshold: walletRecord.threshold, parties: [...walletRecord.parties] },
      });
      return { deviceId: id, identityPublicKey: key, walletId: wallet, status: 'active', createdAt: now };
    });
  }

  createRestoringDevice(device: NewDevice): DeviceRecord {
    const id = check.deviceId(device.deviceId);
    const key = check.identityPublicKey(device.identityPublicKey);
    const wallet = check.walletId(device.walletId);
    return this.#tx(() => {
      const walletRecord = this.#requireWallet(wallet);
      if (walletRecord.status === 'pending') throw notActive(wallet);
      if (this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ? OR identity_public_key = ?`, id, key)) {
        throw new ConflictError('This identity key is already enrolled as a device. Each device enrolls with its own identity key.');
      }
      const now = this.#now();
      const superseded = this.#all<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? AND status = 'restoring'`, wallet);
      for (const row of superseded) this.#revoke(row, 'superseded by a newer restore', now, 'cosigner');
      this.#run("INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, 'restoring', ?)", id, key, wallet, now);
      this.audit.append({
        kind: 'enroll',
        walletId: wallet,
        deviceId: id,
        at: now,
        summary: { identityPublicKey: key, restore: true, supersededDevices: superseded.map((row) => row.device_id) },
      });
      return this.#requireDevice(id);
    });
  }

  listDevices(walletId: string): DeviceRecord[] {
    return this.#all<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? ORDER BY created_at, device_id`, check.walletId(walletId)).map(toDevice);
  }

  listRevokedSince(sinceMs: number): DeviceRecord[] {
    return this.#all<DeviceRow>(`${DEVICE_SELECT} WHERE status = 'revoked' AND revoked_at >= ? ORDER BY revoked_at`, check.timestamp(sinceMs)).map(toDevice);
  }

  revokeDevice(deviceId: string, reason: string, options: { actor?: string } = {}): DeviceRecord {
    const id = check.deviceId(deviceId);
    const why = check.shortText(reason, 'revocation reason');
    return this.#tx(() => {
      const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, id);
      if (!row) throw new NotFoundError('device', id);
      if (row.status !== 'revoked') this.#revoke(row, why, this.#now(), options.actor ?? 'operator');
      return this.#requireDevice(id);
    });
  }

  approveRestore(deviceId: string, options: { actor?: string } = {}): DeviceRecord {
    const id = check.deviceId(deviceId);
    const actor = check.shortText(options.actor ?? 'operator', 'approval actor', 200);
    return this.#tx(() => {
      const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, id);
      if (!row) throw new NotFoundError('device', id);
      if (row.status !== 'restoring') throw deviceNotRestoring(row);
      if (row.restore_approved_at !== null) return toDevice(row);
      const now = this.#now();
      this.#run('UPDATE devices SET restore_approved_at = ? WHERE device_id = ?', now, id);
      this.audit.append({ kind: 'approve', walletId: row.wallet_id, deviceId: id, at: now, summary: { action: 'approve-restore', deviceId: id, actor } });
      return this.#requireDevice(id);
    });
  }

  #revoke(row: DeviceRow, reason: string, now: number, actor: string): void {
    this.#run("UPDATE devices SET status = 'revoked', revoked_at = ?, revoked_reason = ? WHERE device_id = ?", now, reason, row.device_id);
    this.#run('DELETE FROM pending_shares WHERE device_id = ?', row.device_id);
    this.#approvals.failHeldForDevice(row.device_id, now);
    this.audit.append({ kind: 'revoke', walletId: row.wallet_id, deviceId: row.device_id, at: now, summary: { reason, actor, previousStatus: row.status } });
  }

  #requireDevice(id: string): DeviceRecord {
    const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, id);
    if (!row) throw new NotFoundError('device', id);
    return toDevice(row);
  }

  putPendingShare(pending: PendingShare): void {
    const { walletId: id, deviceId: device, generation, share, kind, parties } = checkPendingShare(pending);
    this.#tx(() => {
      const wallet = this.#requireWallet(id);
      if (wallet.status === 'pending' || wallet.generation === undefined) throw notActive(id);
      const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ? AND wallet_id = ?`, device, id);
      if (!row) throw new NotFoundError('device', device);
      if (row.status === 'revoked') throw new WalletStateError('DEVICE_REVOKED', id, `Device ${device} is revoked.`);
      if (generation !== wallet.generation + 1) throw generationMismatch(id, wallet.generation, generation, 'restore');
      const sealed = this.#cipher.seal(share, pendingShareContext(id, device, generation));
      this.#run('DELETE FROM pending_shares WHERE wallet_id = ?', id);
      this.#run(
        'INSERT INTO pending_shares (wallet_id, device_id, generation, sealed, created_at, kind, parties, shares_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        id, device, generation, sealed, this.#now(), kind, parties, pending.sharesDigest ?? null,
      );
    });
  }

  commitPendingShare(input: { walletId: string; deviceId: string; generation: number; sharesDigest?: string }): { wallet: WalletRecord; revoked: string[]; kind: ReshareKind } {
    const id = check.walletId(input.walletId);
    const device = check.deviceId(input.deviceId);
    const generation = check.generation(input.generation);
    return this.#tx(() => {
      const wallet = this.#requireWallet(id);
      const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ? AND wallet_id = ?`, device, id);
      if (!row) throw new NotFoundError('device', device);
      if (row.status === 'revoked') throw new WalletStateError('DEVICE_REVOKED', id, `Device ${device} is revoked.`);
      const pending = this.#get<PendingShareRow>(
        'SELECT generation, sealed, kind, parties, shares_digest FROM pending_shares WHERE wallet_id = ? AND device_id = ?',
        id, device,
      );
      if (!pending) {
        // The confirmation of a commit that went through was lost: the device asks again.
        if (row.status === 'active' && wallet.generation === generation) return { wallet, revoked: [], kind: 'restore' };
        throw new WalletStateError('NO_PENDING_RESTORE', id, `Wallet ${id} has no restore waiting for device ${device}; run the restore again.`);
      }
      checkCommit(id, device, wallet, pending, generation, input.sharesDigest);
      const now = this.#now();
      const share = this.#cipher.openString(pending.sealed, pendingShareContext(id, device, generation));
      this.#run('UPDATE shares SET generation = ?, sealed = ?, updated_at = ? WHERE wallet_id = ?', generation, this.#cipher.seal(share, shareContext(id, generation)), now, id);
      this.#run('DELETE FROM pending_shares WHERE wallet_id = ?', id);
      const dropped = this.#deleteReadyPresignatures(id);
      const parties = pending.parties ?? JSON.stringify(wallet.parties);
      this.#run("UPDATE wallets SET status = 'active', parties = ?, locked_reason = NULL, locked_at = NULL, updated_at = ? WHERE wallet_id = ?", parties, now, id);
      this.#run("UPDATE devices SET status = 'active' WHERE device_id = ?", device);
      // Whatever else was enrolled holds a share (or a kit) that no longer combines with the new ones.
      const others = this.#all<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? AND device_id != ? AND status != 'revoked'`, id, device);
      for (const other of others) this.#revoke(other, RESHARE_REVOKE_REASON[pending.kind], now, pending.kind);
      const revokedDevices = others.map((other) => other.device_id);
      this.audit.append(commitAuditEntry({ walletId: id, deviceId: device, generation, wallet, pending, parties, dropped, revokedDevices, at: now }));
      return { wallet: this.#requireWallet(id), revoked: revokedDevices, kind: pending.kind };
    });
  }

  enroll(input: NewDevice & Omit<NewWallet, 'walletId'>): { wallet: WalletRecord; device: DeviceRecord } {
    return this.#tx(() => {
      this.createWallet({ walletId: input.walletId, threshold: input.threshold, parties: input.parties });
      const device = this.createDevice({ deviceId: input.deviceId, identityPublicKey: input.identityPublicKey, walletId: input.walletId });
      return { wallet: this.#requireWallet(device.walletId), device };
    });
  }

  getDevice(deviceId: string): DeviceRecord | undefined {
    const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, check.deviceId(deviceId));
    return row && toDevice(row);
  }

  getDeviceByIdentityKey(identityPublicKey: string): DeviceRecord | undefined {
    const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE identity_public_key = ?`, check.identityPublicKey(identityPublicKey));
    return row && toDevice(row);
  }

  getDeviceForWallet(walletId: string): DeviceRecord | undefined {
    const row = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? AND status = 'active' ORDER BY created_at LIMIT 1`, check.walletId(walletId));
    return row && toDevice(row);
  }

  getWallet(walletId: string): WalletRecord | undefined {
    const row = this.#walletRow(check.walletId(walletId));
    return row && toWallet(row);
  }

  listWallets(filter: { status?: WalletStatus } = {}): WalletRecord[] {
    const rows =
      filter.status === undefined
        ? this.#all<WalletRow>(`${WALLET_SELECT} ORDER BY w.created_at, w.wallet_id`)
        : this.#all<WalletRow>(`${WALLET_SELECT} WHERE w.status = ? ORDER BY w.created_at, w.wallet_id`, filter.status);
    return rows.map(toWallet);
  }

  // ---- shares

  activateWallet(activation: WalletActivation): WalletRecord {
    const id = check.walletId(activation.walletId);
    const address = check.address(activation.address);
    const publicKey = check.groupPublicKey(activation.publicKey);
    const generation = check.generation(activation.generation);
    const share = check.secretText(activation.share, 'key share');
    return this.#tx(() => {
      const wallet = this.#requireWallet(id);
      if (wallet.status !== 'pending') {
        throw new WalletStateError('WALLET_ALREADY_ACTIVE', id, `Wallet ${id} already finished key generation; refresh its shares instead.`);
      }
      const now = this.#now();
      const sealed = this.#cipher.seal(share, shareContext(id, generation));
      this.#run('INSERT INTO shares (wallet_id, generation, sealed, updated_at) VALUES (?, ?, ?, ?)', id, generation, sealed, now);
      this.#run(
        "UPDATE wallets SET status = 'active', address = ?, public_key = ?, activated_at = ?, updated_at = ? WHERE wallet_id = ?",
        address, publicKey, now, now, id,
      );
      const device = this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ?`, id);
      this.audit.append({
        kind: 'keygen',
        walletId: id,
        ...(device ? { deviceId: device.device_id } : {}),
        at: now,
        summary: { address, publicKey, generation, threshold: wallet.threshold, parties: [...wallet.parties] },
      });
      return this.#requireWallet(id);
    });
  }

  loadShare(walletId: string, use: ShareUse = 'sign'): string {
    const id = check.walletId(walletId);
    const { generation, sealed } = usableShare(id, use, this.#get<ShareRow>(SHARE_SELECT, id));
    return this.#cipher.openString(sealed, shareContext(id, generation));
  }

  replaceShare(replacement: ShareReplacement): WalletRecord {
    const id = check.walletId(replacement.walletId);
    const generation = check.generation(replacement.generation);
    const share = check.secretText(replacement.share, 'key share');
    return this.#tx(() => {
      const wallet = this.#requireWallet(id);
      if (wallet.status === 'pending' || wallet.generation === undefined) throw notActive(id);
      if (generation !== wallet.generation + 1) throw generationMismatch(id, wallet.generation, generation, 'refresh');
      const now = this.#now();
      const sealed = this.#cipher.seal(share, shareContext(id, generation));
      this.#run('UPDATE shares SET generation = ?, sealed = ?, updated_at = ? WHERE wallet_id = ?', generation, sealed, now, id);
      const dropped = this.#deleteReadyPresignatures(id);
      this.#run("UPDATE wallets SET status = 'active', locked_reason = NULL, locked_at = NULL, updated_at = ? WHERE wallet_id = ?", now, id);
      this.audit.append({
        kind: 'refresh',
        walletId: id,
        at: now,
        summary: {
          generation,
          previousGeneration: wallet.generation,
          presignaturesDropped: dropped,
          unlocked: wallet.status === 'locked',
          lockedReason: wallet.lockedReason,
        },
      });
      return this.#requireWallet(id);
    });
  }

  lockWallet(walletId: string, reason: string): WalletRecord {
    const id = check.walletId(walletId);
    const why = check.shortText(reason, 'lock reason');
    return this.#tx(() => {
      const wallet = this.#requireWallet(id);
      if (wallet.status === 'pending') throw notActive(id);
      const now = this.#now();
      // A second lock keeps the first reason: the first failure is the one to investigate.
      if (wallet.status === 'active') {
        this.#run("UPDATE wallets SET status = 'locked', locked_reason = ?, locked_at = ?, updated_at = ? WHERE wallet_id = ?", why, now, now, id);
      }
      const dropped = this.#deleteReadyPresignatures(id);
      this.audit.append({
        kind: 'lock',
        walletId: id,
        at: now,
        summary: { reason: why, alreadyLocked: wallet.status === 'locked', presignaturesDropped: dropped },
      });
      return this.#requireWallet(id);
    });
  }

  // ---- presignatures

  putPresignature(presignature: NewPresignature): Promise<void> {
    const id = check.walletId(presignature.walletId);
    const presignatureId = check.presignatureId(presignature.presignatureId);
    const state = check.secretText(presignature.state, 'presignature state');
    return this.#durableTx(() => {
      const wallet = this.#requireSignable(id);
      const generation = wallet.generation!;
      if (presignature.generation !== undefined && presignature.generation !== generation) {
        throw new WalletStateError('WALLET_GENERATION_MISMATCH', id, `Presignature ${presignatureId} was made with generation ${presignature.generation} of wallet ${id}, which now holds ${generation}.`);
      }
      if (this.#get('SELECT 1 FROM presignatures WHERE wallet_id = ? AND presignature_id = ?', id, presignatureId)) {
        throw new ConflictError(`Presignature ${presignatureId} of wallet ${id} already exists; presignature ids are never reused.`);
      }
      const sealed = this.#cipher.seal(state, presignatureContext(id, presignatureId, generation));
      this.#run(
        "INSERT INTO presignatures (wallet_id, presignature_id, generation, status, sealed_state, created_at) VALUES (?, ?, ?, 'ready', ?, ?)",
        id, presignatureId, generation, sealed, this.#now(),
      );
    });
  }

  consumePresignature(walletId: string, presignatureId: string, signing?: SigningRecord): Promise<string> {
    const id = check.walletId(walletId);
    const presigId = check.presignatureId(presignatureId);
    return this.#durableTx(() => {
      const now = signing?.at ?? this.#now();
      const { state } = this.#claimPresignature(id, presigId, now);
      if (signing) this.#recordSigning(id, signing, now, { presignatureId: presigId });
      return state;
    });
  }

  heldValue(walletId: string, chainId: number, exceptRequestId?: string): bigint {
    return this.#approvals.heldValue(check.walletId(walletId), check.chainId(chainId), exceptRequestId);
  }

  holdSignRequest(input: HeldRequestInput, deviceMessages: string[], verify?: (presignatureState: string) => void): RequestView {
    const id = check.walletId(input.walletId);
    const presigId = check.presignatureId(input.presignatureId);
    return this.#tx(() => {
      const { state, generation } = this.#claimPresignature(id, presigId, this.#now());
      verify?.(state);
      return this.#approvals.insertHeld({ ...input, walletId: id, presignatureId: presigId }, { presignature: state, deviceMessages }, generation);
    });
  }

  takeApprovedRequest(requestId: string, signing: SigningRecord): { view: RequestView; presignature: string; deviceMessages: string[] } {
    return this.#tx(() => {
      const request = this.#approvals.getRequest(requestId);
      if (!request) throw new NotFoundError('request', requestId);
      this.#requireSignable(request.walletId);
      if (this.#get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, request.deviceId)?.status !== 'active') {
        throw new DecisionRefusedError('NOT_PENDING', `The device that sent request ${requestId} is no longer active; it will not be signed.`);
      }
      const { view, held } = this.#approvals.takeApproved(requestId);
      this.#recordSigning(request.walletId, signing, this.#now(), { requestId });
      return { view, presignature: held.presignature, deviceMessages: held.deviceMessages };
    });
  }

  /** Marks a ready presignature of the wallet's current generation used and returns its state: the guarded update makes it single-use. */
  #claimPresignature(id: string, presigId: string, now: number): { state: string; generation: number } {
    const wallet = this.#requireSignable(id);
    const row = this.#get<PresignatureRow>(
      'SELECT status, generation, sealed_state FROM presignatures WHERE wallet_id = ? AND presignature_id = ?',
      id, presigId,
    );
    if (!row) throw new PresignatureUnavailableError(id, presigId, 'unknown');
    if (row.status !== 'ready' || !row.sealed_state) throw new PresignatureUnavailableError(id, presigId, 'used');
    if (row.generation !== wallet.generation) throw new PresignatureUnavailableError(id, presigId, 'stale');
    // The guarded update is what makes consumption single-use on any backend; the checks above only explain failures.
    const claimed = this.#run(
      "UPDATE presignatures SET status = 'used', used_at = ?, sealed_state = NULL WHERE wallet_id = ? AND presignature_id = ? AND status = 'ready'",
      now, id, presigId,
    );
    if (claimed.changes !== 1) throw new PresignatureUnavailableError(id, presigId, 'used');
    return { state: this.#cipher.openString(row.sealed_state, presignatureContext(id, presigId, row.generation)), generation: row.generation };
  }

  countReadyPresignatures(walletId: string): number {
    const row = this.#get<{ n: number }>("SELECT count(*) AS n FROM presignatures WHERE wallet_id = ? AND status = 'ready'", check.walletId(walletId));
    return row?.n ?? 0;
  }

  /** Drops every ready presignature of the wallet; used ones stay as tombstones. Returns how many were dropped. */
  deleteAllPresignatures(walletId: string): number {
    const id = check.walletId(walletId);
    return this.#tx(() => this.#deleteReadyPresignatures(id));
  }

  /**
   * Drops every ready presignature of every wallet. The co-signer does this at each start: it cannot
   * tell a restart from a restored backup, and a restored presignature may already have been used
   * (checklist item 5). Devices presign again. Returns how many were dropped.
   */
  dropReadyPresignatures(): number {
    return this.#tx(() => this.#run("DELETE FROM presignatures WHERE status = 'ready'").changes);
  }

  /** Removes tombstones of presignatures used before `usedBeforeMs`. Returns how many. */
  pruneUsedPresignatures(usedBeforeMs: number): number {
    const before = check.timestamp(usedBeforeMs);
    return this.#tx(() => this.#run("DELETE FROM presignatures WHERE status = 'used' AND used_at < ?", before).changes);
  }

  recordSignature(walletId: string, signing: SigningRecord): Promise<void> {
    const id = check.walletId(walletId);
    return this.#durableTx(() => {
      this.#requireSignable(id);
      this.#recordSigning(id, signing, signing.at ?? this.#now(), {});
    });
  }

  // ---- policies

  getPolicy(walletId: string): WalletPolicy {
    const row = this.#get<{ policy: string }>('SELECT policy FROM policies WHERE wallet_id = ?', check.walletId(walletId));
    return row ? validatePolicy(JSON.parse(row.policy)) : {};
  }

  setPolicy(walletId: string, policy: unknown, options: { actor?: string } = {}): WalletPolicy {
    const id = check.walletId(walletId);
    const normalised = validatePolicy(policy);
    const actor = options.actor === undefined ? undefined : check.shortText(options.actor, 'policy actor', 200);
    return this.#tx(() => {
      this.#requireWallet(id);
      const previous = this.getPolicy(id);
      const now = this.#now();
      this.#run(
        'INSERT INTO policies (wallet_id, policy, updated_at) VALUES (?, ?, ?) ON CONFLICT (wallet_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at',
        id, JSON.stringify(normalised), now,
      );
      this.audit.append({ kind: 'policy', walletId: id, at: now, summary: { policy: { ...normalised }, previous: { ...previous }, actor } });
      return normalised;
    });
  }

  // ---- spend ledger

  recordSpend(spend: SpendInput): void {
    const id = check.walletId(spend.walletId);
    const chainId = check.chainId(spend.chainId);
    const value = check.weiValue(spend.valueWei);
    const at = spend.at === undefined ? this.#now() : check.timestamp(spend.at);
    this.#tx(() => {
      this.#requireWallet(id);
      this.#insertSpend(id, chainId, value, at);
    });
  }

  spentSince(walletId: string, chainId: number, sinceMs: number, exceptDigest?: string): bigint {
    const rows = this.#all<{ value_wei: string }>(
      'SELECT value_wei FROM spends WHERE wallet_id = ? AND chain_id = ? AND at >= ? AND (tx_digest IS NULL OR tx_digest <> ?)',
      check.walletId(walletId), check.chainId(chainId), check.timestamp(sinceMs), exceptDigest === undefined ? '' : check.txDigest(exceptDigest),
    );
    return rows.reduce((sum, row) => sum + BigInt(row.value_wei), 0n);
  }

  // ---- rate limits

  takeRateLimit(request: RateLimitRequest): RateLimitDecision {
    const { bucket, key, limit, windowMs, at } = checkRateLimit(request, this.#now);
    return this.#tx(() => {
      this.#run('DELETE FROM rate_limit_events WHERE bucket = ? AND at <= ?', bucket, at - windowMs);
      const window = this.#get<{ n: number; oldest: number | null }>('SELECT count(*) AS n, min(at) AS oldest FROM rate_limit_events WHERE bucket = ? AND key = ?', bucket, key)!;
      const decision = rateLimitDecision(window.n, window.oldest, limit, windowMs, at);
      if (decision.allowed) this.#run('INSERT INTO rate_limit_events (bucket, key, at) VALUES (?, ?, ?)', bucket, key, at);
      return decision;
    });
  }

  close(): void {
    // Closing checkpoints the WAL into the database file and syncs it, then removes the WAL.
    this.#walSync?.close();
    if (this.#db.open) this.#db.close();
  }

  // ---- internals

  #bindMasterKey(keyId: string): void {
    this.#tx(() => {
      const row = this.#get<{ value: string }>("SELECT value FROM meta WHERE key = 'master_key_id'");
      if (!row) this.#run("INSERT INTO meta (key, value) VALUES ('master_key_id', ?)", keyId);
      else if (row.value !== keyId) throw new MasterKeyMismatchError(row.value, keyId);
    });
  }

  #recordSigning(walletId: string, signing: SigningRecord, at: number, extra: AuditSummaryInput): void {
    let spentBefore = false;
    if (signing.spend) {
      const chainId = check.chainId(signing.spend.chainId);
      const value = check.weiValue(signing.spend.valueWei);
      const digest = signing.spend.digest === undefined ? undefined : check.txDigest(signing.spend.digest);
      spentBefore = digest !== undefined && this.#get('SELECT 1 FROM spends WHERE wallet_id = ? AND chain_id = ? AND tx_digest = ?', walletId, chainId, digest) !== undefined;
      if (!spentBefore) {
        const limit = signing.spend.limit;
        if (limit) {
          const committed = this.spentSince(walletId, chainId, limit.sinceMs) + this.#approvals.heldValue(walletId, chainId, typeof extra.requestId === 'string' ? extra.requestId : undefined);
          checkSpendLimit(walletId, chainId, committed, value, check.weiValue(limit.limitWei));
        }
        this.#insertSpend(walletId, chainId, value, at, digest);
      }
    }
    this.audit.append({
      kind: 'sign',
      walletId,
      ...(signing.deviceId === undefined ? {} : { deviceId: check.deviceId(signing.deviceId) }),
      at,
      summary: { ...signing.summary, ...extra, ...(spentBefore ? { spentBefore: true } : {}) },
    });
  }

  #insertSpend(walletId: string, chainId: number, value: bigint, at: number, digest?: string): void {
    this.#run('INSERT INTO spends (wallet_id, chain_id, value_wei, at, tx_digest) VALUES (?, ?, ?, ?, ?)', walletId, chainId, value.toString(10), at, digest ?? null);
  }

  /** Every place that drops a wallet's presignatures (refresh, restore, lock) also fails the requests held on one. */
  #deleteReadyPresignatures(walletId: string): number {
    this.#approvals.failHeldForWallet(walletId, this.#now());
    return this.#run("DELETE FROM presignatures WHERE wallet_id = ? AND status = 'ready'", walletId).changes;
  }

  #walletRow(walletId: string): WalletRow | undefined {
    return this.#get<WalletRow>(`${WALLET_SELECT} WHERE w.wallet_id = ?`, walletId);
  }

  #requireWallet(walletId: string): WalletRecord {
    const row = this.#walletRow(walletId);
    if (!row) throw new NotFoundError('wallet', walletId, 'Enroll the device first.');
    return toWallet(row);
  }

  #requireSignable(walletId: string): WalletRecord {
    const wallet = this.#requireWallet(walletId);
    if (wallet.status === 'locked') throw new WalletLockedError(walletId, wallet.lockedReason ?? 'locked');
    if (wallet.status !== 'active' || wallet.generation === undefined) throw notActive(walletId);
    return wallet;
  }

  /** Write transactions take the write lock up front, so two connections queue instead of failing on upgrade. */
  #tx<T>(body: () => T): T {
    return this.#db.transaction(body).immediate();
  }

  /**
   * The three writes of every signing (a new presignature, a consumed presignature, a signing's spend and audit row) commit
   * without blocking the event loop on the disk and resolve once the WAL is flushed (see WalSync):
   * they are as durable as with synchronous = FULL before the caller answers, and concurrent
   * signings share one fsync. Errors of the body itself still throw synchronously.
   */
  #durableTx<T>(body: () => T): Promise<T> {
    if (!this.#walSync) return Promise.resolve(this.#tx(body));
    const result = this.#unsyncedTx(body);
    return this.#walSync.durable().then(() => result);
  }

  /**
   * A transaction whose commit is not fsynced: in WAL mode with synchronous = NORMAL it survives the
   * process dying, and only a power loss right after may roll it back. The connection is synchronous,
   * so nothing else commits in between.
   */
  #unsyncedTx<T>(body: () => T): T {
    this.#db.pragma('synchronous = NORMAL');
    try {
      return this.#tx(body);
    } finally {
      this.#db.pragma('synchronous = FULL');
    }
  }

  /** A consistent snapshot for reads that span statements, without taking the write lock. */
  #read<T>(body: () => T): T {
    return this.#db.transaction(body).deferred();
  }

  #run(sql: string, ...params: Param[]): Database.RunResult {
    return this.#sql.run(sql, ...params);
  }

  #get<T>(sql: string, ...params: Param[]): T | undefined {
    return this.#sql.get<T>(sql, ...params);
  }

  #all<T>(sql: string, ...params: Param[]): T[] {
    return this.#sql.all<T>(sql, ...params);
  }
}

/** Runs every method of `target` in its own transaction. */
function inTransactions<T extends object>(target: T, tx: <R>(body: () => R, method: string) => R): T {
  return new Proxy(target, {
    get(object, key) {
      const value = Reflect.get(object, key) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => tx(() => (value as (...a: unknown[]) => unknown).apply(object, args), String(key));
    },
  });
}
