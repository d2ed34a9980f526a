/**
 * The CosignerStore on PostgreSQL (pg): the same semantics as SqliteCosignerStore, method by
 * method, for several co-signer processes sharing one database.
 *
 * Every mutating call is one READ COMMITTED transaction. A call that changes a wallet (or checks
 * and spends against it) first locks the wallet's row (SELECT ... FOR UPDATE), so calls on one
 * wallet run one after the other across processes while other wallets proceed; a presignature is
 * claimed by a guarded UPDATE ... WHERE status = 'ready' RETURNING, which only one transaction can
 * win. Audit rows are chained under an advisory lock (pg-audit.ts). See ../README.md.
 */
import type pg from 'pg';
import type { RequestView } from '../../../channel/approval-protocol.js';
import type { AuditSummaryInput } from '../../audit/types.js';
import type { WalletPolicy } from '../../policy/types.js';
import { validatePolicy } from '../../policy/validate.js';
import { EnvelopeCipher } from '../envelope.js';
import { ConflictError, DecisionRefusedError, MasterKeyMismatchError, NotFoundError, PresignatureUnavailableError, WalletLockedError, WalletStateError } from '../errors.js';
import type { MasterKey } from '../master-key.js';
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
} from '../records.js';
import type {
  ApprovalStore,
  CosignerStore,
  DeviceRecord,
  HeldRequestInput,
  NewDevice,
  NewPresignature,
  NewWallet,
  PendingShare,
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
} from '../types.js';
import * as check from '../validate.js';
import { PgApprovalStore } from './pg-approvals.js';
import { PgAuditLog } from './pg-audit.js';
import { migratePostgres } from './pg-schema.js';
import { createPool, Session, transaction } from './pg-sql.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database (or postgresql://). */
  url: string;
  masterKey: MasterKey;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Connections in the pool. Default 10. */
  maxConnections?: number;
}

/** Opens the pool, brings the schema up to date and checks the master key against the one the database was sealed under. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresCosignerStore> {
  const pool = createPool(options.url, options.maxConnections === undefined ? {} : { max: options.maxConnections });
  try {
    const now = options.now ?? Date.now;
    await migratePostgres(pool, now);
    const store = new PostgresCosignerStore(pool, options.masterKey, now);
    await store.bindMasterKey(options.masterKey.keyId);
    return store;
  } catch (error) {
    await pool.end();
    throw error;
  }
}

const UNIQUE_VIOLATION = '23505';

export class PostgresCosignerStore implements CosignerStore {
  readonly audit: PgAuditLog;
  readonly approvals: ApprovalStore;
  readonly #approvals: PgApprovalStore;
  readonly #pool: pg.Pool;
  readonly #cipher: EnvelopeCipher;
  readonly #now: () => number;
  #closed = false;

  /** Use openPostgresStore: the schema and the master key are checked there. */
  constructor(pool: pg.Pool, masterKey: MasterKey, now: () => number) {
    this.#pool = pool;
    this.#now = now;
    this.#cipher = new EnvelopeCipher(masterKey);
    this.audit = new PgAuditLog(pool, { now });
    this.#approvals = new PgApprovalStore(this.#cipher, this.audit, now);
    const a = this.#approvals;
    this.approvals = {
      inviteApprover: (input) => this.#tx((sql) => a.inviteApprover(sql, input)),
      enrollApprover: (input) => this.#tx((sql) => a.enrollApprover(sql, input)),
      getApprover: (approverId) => a.getApprover(this.#plain(), approverId),
      listApprovers: () => a.listApprovers(this.#plain()),
      removeApprover: (approverId, actor) => this.#tx((sql) => a.removeApprover(sql, approverId, actor)),
      recordSettled: (input) => a.recordSettled(this.#plain(), input),
      getRequest: (requestId) => this.#read((sql) => a.getRequest(sql, requestId)),
      listRequests: (filter) => this.#read((sql) => a.listRequests(sql, filter)),
      recordDecision: (input) => this.#tx((sql) => a.recordDecision(sql, input)),
      finish: (requestId, state, result) => this.#tx((sql) => a.finish(sql, requestId, state, result)),
      expireDue: () => this.#tx((sql) => a.expireDue(sql)),
      listApprovedUnsigned: () => a.listApprovedUnsigned(this.#plain()),
      listEndedSince: (sinceMs) => this.#read((sql) => a.listEndedSince(sql, sinceMs)),
      failInterrupted: () => this.#tx((sql) => a.failInterrupted(sql)),
      countPending: (filter) => this.#read((sql) => a.countPending(sql, filter)),
    };
  }

  // ---- wallets and devices

  async createWallet(wallet: NewWallet): Promise<WalletRecord> {
    const id = check.walletId(wallet.walletId);
    const { text } = check.parties(wallet.threshold, wallet.parties);
    return this.#tx((sql) => this.#createWallet(sql, id, text));
  }

  async #createWallet(sql: Session, id: string, parties: string): Promise<WalletRecord> {
    if (await this.#walletRow(sql, id)) throw new ConflictError(`Wallet ${id} already exists. Pick a fresh wallet id.`);
    const now = this.#now();
    await sql.run("INSERT INTO wallets (wallet_id, threshold, parties, status, created_at, updated_at) VALUES (?, 2, ?, 'pending', ?, ?)", id, parties, now, now);
    return this.#requireWallet(sql, id);
  }

  async createDevice(device: NewDevice): Promise<DeviceRecord> {
    const input = { id: check.deviceId(device.deviceId), key: check.identityPublicKey(device.identityPublicKey), wallet: check.walletId(device.walletId) };
    return this.#tx((sql) => this.#createDevice(sql, input));
  }

  async #createDevice(sql: Session, { id, key, wallet }: { id: string; key: string; wallet: string }): Promise<DeviceRecord> {
    const walletRecord = await this.#requireWallet(sql, wallet, { lock: true });
    if (await sql.get(`${DEVICE_SELECT} WHERE device_id = ?`, id)) throw new ConflictError(`Device ${id} is already enrolled.`);
    if (await sql.get(`${DEVICE_SELECT} WHERE identity_public_key = ?`, key)) {
      throw new ConflictError('This identity key is already enrolled as another device. Each device enrolls with its own identity key.');
    }
    if (await sql.get(`${DEVICE_SELECT} WHERE wallet_id = ?`, wallet)) throw new ConflictError(`Wallet ${wallet} already has a device.`);
    const now = this.#now();
    await sql.run("INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, 'active', ?)", id, key, wallet, now);
    await this.audit.appendIn(sql, {
      kind: 'enroll',
      walletId: wallet,
      deviceId: id,
      at: now,
      summary: { identityPublicKey: key, threshold: walletRecord.threshold, parties: [...walletRecord.parties] },
    });
    return { deviceId: id, identityPublicKey: key, walletId: wallet, status: 'active', createdAt: now };
  }

  async enroll(input: NewDevice & Omit<NewWallet, 'walletId'>): Promise<{ wallet: WalletRecord; device: DeviceRecord }> {
    const id = check.walletId(input.walletId);
    const { text } = check.parties(input.threshold, input.parties);
    const device = { id: check.deviceId(input.deviceId), key: check.identityPublicKey(input.identityPublicKey), wallet: id };
    return this.#tx(async (sql) => {
      await this.#createWallet(sql, id, text);
      const created = await this.#createDevice(sql, device);
      return { wallet: await this.#requireWallet(sql, id), device: created };
    });
  }

  async createRestoringDevice(device: NewDevice): Promise<DeviceRecord> {
    const id = check.deviceId(device.deviceId);
    const key = check.identityPublicKey(device.identityPublicKey);
    const wallet = check.walletId(device.walletId);
    return this.#tx(async (sql) => {
      const walletRecord = await this.#requireWallet(sql, wallet, { lock: true });
      if (walletRecord.status === 'pending') throw notActive(wallet);
      if (await sql.get(`${DEVICE_SELECT} WHERE device_id = ? OR identity_public_key = ?`, id, key)) {
        throw new ConflictError('This identity key is already enrolled as a device. Each device enrolls with its own identity key.');
      }
      const now = this.#now();
      const superseded = await sql.all<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? AND status = 'restoring' ORDER BY created_at, device_id`, wallet);
      for (const row of superseded) await this.#revoke(sql, row, 'superseded by a newer restore', now, 'cosigner');
      await sql.run("INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, 'restoring', ?)", id, key, wallet, now);
      await this.audit.appendIn(sql, {
        kind: 'enroll',
        walletId: wallet,
        deviceId: id,
        at: now,
        summary: { identityPublicKey: key, restore: true, supersededDevices: superseded.map((row) => row.device_id) },
      });
      return this.#requireDevice(sql, id);
    });
  }

  async listDevices(walletId: string): Promise<DeviceRecord[]> {
    return (await this.#plain().all<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? ORDER BY created_at, device_id`, check.walletId(walletId))).map(toDevice);
  }

  async listRevokedSince(sinceMs: number): Promise<DeviceRecord[]> {
    return (await this.#plain().all<DeviceRow>(`${DEVICE_SELECT} WHERE status = 'revoked' AND revoked_at >= ? ORDER BY revoked_at`, check.timestamp(sinceMs))).map(toDevice);
  }

  async revokeDevice(deviceId: string, reason: string, options: { actor?: string } = {}): Promise<DeviceRecord> {
    const id = check.deviceId(deviceId);
    const why = check.shortText(reason, 'revocation reason');
    return this.#tx(async (sql) => {
      const row = await this.#lockDevice(sql, id);
      if (row.status !== 'revoked') await this.#revoke(sql, row, why, this.#now(), options.actor ?? 'operator');
      return this.#requireDevice(sql, id);
    });
  }

  async approveRestore(deviceId: string, options: { actor?: string } = {}): Promise<DeviceRecord> {
    const id = check.deviceId(deviceId);
    const actor = check.shortText(options.actor ?? 'operator', 'approval actor', 200);
    return this.#tx(async (sql) => {
      const row = await this.#lockDevice(sql, id);
      if (row.status !== 'restoring') throw deviceNotRestoring(row);
      if (row.restore_approved_at !== null) return toDevice(row);
      const now = this.#now();
      await sql.run('UPDATE devices SET restore_approved_at = ? WHERE device_id = ?', now, id);
      await this.audit.appendIn(sql, { kind: 'approve', walletId: row.wallet_id, deviceId: id, at: now, summary: { action: 'approve-restore', deviceId: id, actor } });
      return this.#requireDevice(sql, id);
    });
  }

  /** The device's wallet is locked first, then the device: the same order as every other wallet change. */
  async #lockDevice(sql: Session, id: string): Promise<DeviceRow> {
    const owner = await sql.get<{ wallet_id: string }>('SELECT wallet_id FROM devices WHERE device_id = ?', id);
    if (!owner) throw new NotFoundError('device', id);
    await this.#requireWallet(sql, owner.wallet_id, { lock: true });
    const row = await sql.get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ? FOR UPDATE`, id);
    if (!row) throw new NotFoundError('device', id);
    return row;
  }

  async #revoke(sql: Session, row: DeviceRow, reason: string, now: number, actor: string): Promise<void> {
    await sql.run("UPDATE devices SET status = 'revoked', revoked_at = ?, revoked_reason = ? WHERE device_id = ?", now, reason, row.device_id);
    await sql.run('DELETE FROM pending_shares WHERE device_id = ?', row.device_id);
    await this.#approvals.failHeldForDevice(sql, row.device_id, now);
    await this.audit.appendIn(sql, { kind: 'revoke', walletId: row.wallet_id, deviceId: row.device_id, at: now, summary: { reason, actor, previousStatus: row.status } });
  }

  async #requireDevice(sql: Session, id: string): Promise<DeviceRecord> {
    const row = await sql.get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, id);
    if (!row) throw new NotFoundError('device', id);
    return toDevice(row);
  }

  async putPendingShare(pending: PendingShare): Promise<void> {
    const { walletId: id, deviceId: device, generation, share, kind, parties } = checkPendingShare(pending);
    await this.#tx(async (sql) => {
      const wallet = await this.#requireWallet(sql, id, { lock: true });
      if (wallet.status === 'pending' || wallet.generation === undefined) throw notActive(id);
      const row = await sql.get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ? AND wallet_id = ?`, device, id);
      if (!row) throw new NotFoundError('device', device);
      if (row.status === 'revoked') throw new WalletStateError('DEVICE_REVOKED', id, `Device ${device} is revoked.`);
      if (generation !== wallet.generation + 1) throw generationMismatch(id, wallet.generation, generation, 'restore');
      const sealed = this.#cipher.seal(share, pendingShareContext(id, device, generation));
      await sql.run('DELETE FROM pending_shares WHERE wallet_id = ?', id);
      await sql.run(
        'INSERT INTO pending_shares (wallet_id, device_id, generation, sealed, created_at, kind, parties, shares_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        id, device, generation, sealed, this.#now(), kind, parties, pending.sharesDigest ?? null,
      );
    });
  }

  async commitPendingShare(input: { walletId: string; deviceId: string; generation: number; sharesDigest?: string }): Promise<{ wallet: WalletRecord; revoked: string[]; kind: ReshareKind }> {
    const id = check.walletId(input.walletId);
    const device = check.deviceId(input.deviceId);
    const generation = check.generation(input.generation);
    return this.#tx(async (sql) => {
      const wallet = await this.#requireWallet(sql, id, { lock: true });
      const row = await sql.get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ? AND wallet_id = ?`, device, id);
      if (!row) throw new NotFoundError('device', device);
      if (row.status === 'revoked') throw new WalletStateError('DEVICE_REVOKED', id, `Device ${device} is revoked.`);
      const pending = await sql.get<PendingShareRow>('SELECT generation, sealed, kind, parties, shares_digest FROM pending_shares WHERE wallet_id = ? AND device_id = ?', id, device);
      if (!pending) {
        // The confirmation of a commit that went through was lost: the device asks again.
        if (row.status === 'active' && wallet.generation === generation) return { wallet, revoked: [], kind: 'restore' as const };
        throw new WalletStateError('NO_PENDING_RESTORE', id, `Wallet ${id} has no restore waiting for device ${device}; run the restore again.`);
      }
      checkCommit(id, device, wallet, pending, generation, input.sharesDigest);
      const now = this.#now();
      const share = this.#cipher.openString(pending.sealed, pendingShareContext(id, device, generation));
      await sql.run('UPDATE shares SET generation = ?, sealed = ?, updated_at = ? WHERE wallet_id = ?', generation, this.#cipher.seal(share, shareContext(id, generation)), now, id);
      await sql.run('DELETE FROM pending_shares WHERE wallet_id = ?', id);
      const dropped = await this.#deleteReadyPresignatures(sql, id);
      const parties = pending.parties ?? JSON.stringify(wallet.parties);
      await sql.run("UPDATE wallets SET status = 'active', parties = ?, locked_reason = NULL, locked_at = NULL, updated_at = ? WHERE wallet_id = ?", parties, now, id);
      await sql.run("UPDATE devices SET status = 'active' WHERE device_id = ?", device);
      // Whatever else was enrolled holds a share (or a kit) that no longer combines with the new ones.
      const others = await sql.all<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? AND device_id != ? AND status != 'revoked' ORDER BY created_at, device_id`, id, device);
      for (const other of others) await this.#revoke(sql, other, RESHARE_REVOKE_REASON[pending.kind], now, pending.kind);
      const revokedDevices = others.map((other) => other.device_id);
      await this.audit.appendIn(sql, commitAuditEntry({ walletId: id, deviceId: device, generation, wallet, pending, parties, dropped, revokedDevices, at: now }));
      return { wallet: await this.#requireWallet(sql, id), revoked: revokedDevices, kind: pending.kind };
    });
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    const row = await this.#plain().get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, check.deviceId(deviceId));
    return row && toDevice(row);
  }

  async getDeviceByIdentityKey(identityPublicKey: string): Promise<DeviceRecord | undefined> {
    const row = await this.#plain().get<DeviceRow>(`${DEVICE_SELECT} WHERE identity_public_key = ?`, check.identityPublicKey(identityPublicKey));
    return row && toDevice(row);
  }

  async getDeviceForWallet(walletId: string): Promise<DeviceRecord | undefined> {
    const row = await this.#plain().get<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? AND status = 'active' ORDER BY created_at LIMIT 1`, check.walletId(walletId));
    return row && toDevice(row);
  }

  async getWallet(walletId: string): Promise<WalletRecord | undefined> {
    const row = await this.#walletRow(this.#plain(), check.walletId(walletId));
    return row && toWallet(row);
  }

  async listWallets(filter: { status?: WalletStatus } = {}): Promise<WalletRecord[]> {
    const rows =
      filter.status === undefined
        ? await this.#plain().all<WalletRow>(`${WALLET_SELECT} ORDER BY w.created_at, w.wallet_id`)
        : await this.#plain().all<WalletRow>(`${WALLET_SELECT} WHERE w.status = ? ORDER BY w.created_at, w.wallet_id`, filter.status);
    return rows.map(toWallet);
  }

  // ---- shares

  async activateWallet(activation: WalletActivation): Promise<WalletRecord> {
    const id = check.walletId(activation.walletId);
    const address = check.address(activation.address);
    const publicKey = check.groupPublicKey(activation.publicKey);
    const generation = check.generation(activation.generation);
    const share = check.secretText(activation.share, 'key share');
    return this.#tx(async (sql) => {
      const wallet = await this.#requireWallet(sql, id, { lock: true });
      if (wallet.status !== 'pending') throw new WalletStateError('WALLET_ALREADY_ACTIVE', id, `Wallet ${id} already finished key generation; refresh its shares instead.`);
      const now = this.#now();
      await sql.run('INSERT INTO shares (wallet_id, generation, sealed, updated_at) VALUES (?, ?, ?, ?)', id, generation, this.#cipher.seal(share, shareContext(id, generation)), now);
      await sql.run("UPDATE wallets SET status = 'active', address = ?, public_key = ?, activated_at = ?, updated_at = ? WHERE wallet_id = ?", address, publicKey, now, now, id);
      const device = await sql.get<DeviceRow>(`${DEVICE_SELECT} WHERE wallet_id = ? ORDER BY created_at, device_id LIMIT 1`, id);
      await this.audit.appendIn(sql, {
        kind: 'keygen',
        walletId: id,
        ...(device ? { deviceId: device.device_id } : {}),
        at: now,
        summary: { address, publicKey, generation, threshold: wallet.threshold, parties: [...wallet.parties] },
      });
      return this.#requireWallet(sql, id);
    });
  }

  async loadShare(walletId: string, use: ShareUse = 'sign'): Promise<string> {
    const id = check.walletId(walletId);
    const { generation, sealed } = usableShare(id, use, await this.#plain().get<ShareRow>(SHARE_SELECT, id));
    return this.#cipher.openString(sealed, shareContext(id, generation));
  }

  async replaceShare(replacement: ShareReplacement): Promise<WalletRecord> {
    const id = check.walletId(replacement.walletId);
    const generation = check.generation(replacement.generation);
    const share = check.secretText(replacement.share, 'key share');
    return this.#tx(async (sql) => {
      const wallet = await this.#requireWallet(sql, id, { lock: true });
      if (wallet.status === 'pending' || wallet.generation === undefined) throw notActive(id);
      if (generation !== wallet.generation + 1) throw generationMismatch(id, wallet.generation, generation, 'refresh');
      const now = this.#now();
      await sql.run('UPDATE shares SET generation = ?, sealed = ?, updated_at = ? WHERE wallet_id = ?', generation, this.#cipher.seal(share, shareContext(id, generation)), now, id);
      const dropped = await this.#deleteReadyPresignatures(sql, id);
      await sql.run("UPDATE wallets SET status = 'active', locked_reason = NULL, locked_at = NULL, updated_at = ? WHERE wallet_id = ?", now, id);
      await this.audit.appendIn(sql, {
        kind: 'refresh',
        walletId: id,
        at: now,
        summary: { generation, previousGeneration: wallet.generation, presignaturesDropped: dropped, unlocked: wallet.status === 'locked', lockedReason: wallet.lockedReason },
      });
      return this.#requireWallet(sql, id);
    });
  }

  async lockWallet(walletId: string, reason: string): Promise<WalletRecord> {
    const id = check.walletId(walletId);
    const why = check.shortText(reason, 'lock reason');
    return this.#tx(async (sql) => {
      const wallet = await this.#requireWallet(sql, id, { lock: true });
      if (wallet.status === 'pending') throw notActive(id);
      const now = this.#now();
      // A second lock keeps the first reason: the first failure is the one to investigate.
      if (wallet.status === 'active') {
        await sql.run("UPDATE wallets SET status = 'locked', locked_reason = ?, locked_at = ?, updated_at = ? WHERE wallet_id = ?", why, now, now, id);
      }
      const dropped = await this.#deleteReadyPresignatures(sql, id);
      await this.audit.appendIn(sql, { kind: 'lock', walletId: id, at: now, summary: { reason: why, alreadyLocked: wallet.status === 'locked', presignaturesDropped: dropped } });
      return this.#requireWallet(sql, id);
    });
  }

  // ---- presignatures

  async putPresignature(presignature: NewPresignature): Promise<void> {
    const id = check.walletId(presignature.walletId);
    const presignatureId = check.presignatureId(presignature.presignatureId);
    const state = check.secretText(presignature.state, 'presignature state');
    await this.#tx(async (sql) => {
      // Shared lock: presigning beside a refresh waits for it, and cannot slip a presignature of the old generation in after it.
      const wallet = await this.#requireSignable(sql, id, 'share');
      const generation = wallet.generation!;
      if (presignature.generation !== undefined && presignature.generation !== generation) {
        throw new WalletStateError('WALLET_GENERATION_MISMATCH', id, `Presignature ${presignatureId} was made with generation ${presignature.generation} of wallet ${id}, which now holds ${generation}.`);
      }
      const sealed = this.#cipher.seal(state, presignatureContext(id, presignatureId, generation));
      // The primary key keeps used ids as tombstones: a conflict, whether with a ready or a used row, is a reuse.
      const inserted = await sql.run(
        "INSERT INTO presignatures (wallet_id, presignature_id, generation, status, sealed_state, created_at) VALUES (?, ?, ?, 'ready', ?, ?) ON CONFLICT DO NOTHING",
        id, presignatureId, generation, sealed, this.#now(),
      );
      if (inserted !== 1) throw new ConflictError(`Presignature ${presignatureId} of wallet ${id} already exists; presignature ids are never reused.`);
    });
  }

  async consumePresignature(walletId: string, presignatureId: string, signing?: SigningRecord): Promise<string> {
    const id = check.walletId(walletId);
    const presigId = check.presignatureId(presignatureId);
    return this.#tx(async (sql) => {
      const now = signing?.at ?? this.#now();
      const { state } = await this.#claimPresignature(sql, id, presigId, now, signing?.spend !== undefined);
      if (signing) await this.#recordSigning(sql, id, signing, now, { presignatureId: presigId });
      return state;
    });
  }

  async heldValue(walletId: string, chainId: number, exceptRequestId?: string): Promise<bigint> {
    return this.#approvals.heldValue(this.#plain(), check.walletId(walletId), check.chainId(chainId), exceptRequestId);
  }

  async holdSignRequest(input: HeldRequestInput, deviceMessages: string[], verify?: (presignatureState: string) => void): Promise<RequestView> {
    const id = check.walletId(input.walletId);
    const presigId = check.presignatureId(input.presignatureId);
    return this.#tx(async (sql) => {
      // Exclusive: a held transaction counts toward the daily limit, like a spend.
      const { state, generation } = await this.#claimPresignature(sql, id, presigId, this.#now(), true);
      verify?.(state);
      return this.#approvals.insertHeld(sql, { ...input, walletId: id, presignatureId: presigId }, { presignature: state, deviceMessages }, generation);
    });
  }

  async takeApprovedRequest(requestId: string, signing: SigningRecord): Promise<{ view: RequestView; presignature: string; deviceMessages: string[] }> {
    return this.#tx(async (sql) => {
      const owner = await sql.get<{ wallet_id: string; device_id: string }>('SELECT wallet_id, device_id FROM approval_requests WHERE request_id = ?', requestId);
      if (!owner) throw new NotFoundError('request', requestId);
      await this.#requireSignable(sql, owner.wallet_id, 'update');
      if ((await sql.get<DeviceRow>(`${DEVICE_SELECT} WHERE device_id = ?`, owner.device_id))?.status !== 'active') {
        throw new DecisionRefusedError('NOT_PENDING', `The device that sent request ${requestId} is no longer active; it will not be signed.`);
      }
      const { view, held } = await this.#approvals.takeApproved(sql, requestId);
      await this.#recordSigning(sql, owner.wallet_id, signing, this.#now(), { requestId });
      return { view, presignature: held.presignature, deviceMessages: held.deviceMessages };
    });
  }

  /**
   * Marks a ready presignature of the wallet's current generation used and returns its state. The
   * guarded UPDATE ... RETURNING is what makes it single-use: of two transactions claiming the same
   * row, the second waits for the first and then finds it no longer 'ready'.
   */
  async #claimPresignature(sql: Session, id: string, presigId: string, now: number, exclusive: boolean): Promise<{ state: string; generation: number }> {
    const wallet = await this.#requireSignable(sql, id, exclusive ? 'update' : 'share');
    const claimed = await sql.get<{ generation: number; sealed_state: Uint8Array }>(
      `WITH ready AS (
         SELECT wallet_id, presignature_id, generation, sealed_state FROM presignatures
         WHERE wallet_id = ? AND presignature_id = ? AND status = 'ready' AND generation = ? FOR UPDATE)
       UPDATE presignatures p SET status = 'used', used_at = ?, sealed_state = NULL FROM ready
       WHERE p.wallet_id = ready.wallet_id AND p.presignature_id = ready.presignature_id
       RETURNING ready.generation, ready.sealed_state`,
      id, presigId, wallet.generation!, now,
    );
    if (!claimed?.sealed_state) {
      // Only explains the refusal: nothing was claimed.
      const row = await sql.get<PresignatureRow>('SELECT status, generation, sealed_state FROM presignatures WHERE wallet_id = ? AND presignature_id = ?', id, presigId);
      if (!row) throw new PresignatureUnavailableError(id, presigId, 'unknown');
      if (row.status !== 'ready') throw new PresignatureUnavailableError(id, presigId, 'used');
      throw new PresignatureUnavailableError(id, presigId, 'stale');
    }
    return { state: this.#cipher.openString(claimed.sealed_state, presignatureContext(id, presigId, claimed.generation)), generation: claimed.generation };
  }

  async countReadyPresignatures(walletId: string): Promise<number> {
    const row = await this.#plain().get<{ n: number }>("SELECT count(*) AS n FROM presignatures WHERE wallet_id = ? AND status = 'ready'", check.walletId(walletId));
    return row?.n ?? 0;
  }

  async deleteAllPresignatures(walletId: string): Promise<number> {
    const id = check.walletId(walletId);
    return this.#tx(async (sql) => {
      await this.#requireWallet(sql, id, { lock: true });
      return this.#deleteReadyPresignatures(sql, id);
    });
  }

  dropReadyPresignatures(): Promise<number> {
    return this.#tx((sql) => sql.run("DELETE FROM presignatures WHERE status = 'ready'"));
  }

  pruneUsedPresignatures(usedBeforeMs: number): Promise<number> {
    const before = check.timestamp(usedBeforeMs);
    return this.#tx((sql) => sql.run("DELETE FROM presignatures WHERE status = 'used' AND used_at < ?", before));
  }

  async recordSignature(walletId: string, signing: SigningRecord): Promise<void> {
    const id = check.walletId(walletId);
    await this.#tx(async (sql) => {
      await this.#requireSignable(sql, id, 'update');
      await this.#recordSigning(sql, id, signing, signing.at ?? this.#now(), {});
    });
  }

  // ---- policies

  async getPolicy(walletId: string): Promise<WalletPolicy> {
    return this.#policy(this.#plain(), check.walletId(walletId));
  }

  async #policy(sql: Session, walletId: string): Promise<WalletPolicy> {
    const row = await sql.get<{ policy: string }>('SELECT policy FROM policies WHERE wallet_id = ?', walletId);
    return row ? validatePolicy(JSON.parse(row.policy)) : {};
  }

  async setPolicy(walletId: string, policy: unknown, options: { actor?: string } = {}): Promise<WalletPolicy> {
    const id = check.walletId(walletId);
    const normalised = validatePolicy(policy);
    const actor = options.actor === undefined ? undefined : check.shortText(options.actor, 'policy actor', 200);
    return this.#tx(async (sql) => {
      await this.#requireWallet(sql, id, { lock: true });
      const previous = await this.#policy(sql, id);
      const now = this.#now();
      await sql.run(
        'INSERT INTO policies (wallet_id, policy, updated_at) VALUES (?, ?, ?) ON CONFLICT (wallet_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at',
        id, JSON.stringify(normalised), now,
      );
      await this.audit.appendIn(sql, { kind: 'policy', walletId: id, at: now, summary: { policy: { ...normalised }, previous: { ...previous }, actor } });
      return normalised;
    });
  }

  // ---- spend ledger

  async recordSpend(spend: SpendInput): Promise<void> {
    const id = check.walletId(spend.walletId);
    const chainId = check.chainId(spend.chainId);
    const value = check.weiValue(spend.valueWei);
    const at = spend.at === undefined ? this.#now() : check.timestamp(spend.at);
    await this.#tx(async (sql) => {
      await this.#requireWallet(sql, id, { lock: true });
      await this.#insertSpend(sql, id, chainId, value, at);
    });
  }

  async spentSince(walletId: string, chainId: number, sinceMs: number, exceptDigest?: string): Promise<bigint> {
    return this.#spentSince(this.#plain(), check.walletId(walletId), check.chainId(chainId), check.timestamp(sinceMs), exceptDigest === undefined ? undefined : check.txDigest(exceptDigest));
  }

  async #spentSince(sql: Session, walletId: string, chainId: number, sinceMs: number, exceptDigest?: string): Promise<bigint> {
    const row = await sql.get<{ total: string }>(
      'SELECT coalesce(sum(value_wei), 0)::text AS total FROM spends WHERE wallet_id = ? AND chain_id = ? AND at >= ? AND (tx_digest IS NULL OR tx_digest <> ?)',
      walletId, chainId, sinceMs, exceptDigest ?? '',
    );
    return BigInt(row?.total ?? '0');
  }

  // ---- rate limits

  async takeRateLimit(request: RateLimitRequest): Promise<RateLimitDecision> {
    const { bucket, key, limit, windowMs, at } = checkRateLimit(request, this.#now);
    return this.#tx(async (sql) => {
      // Counting then inserting must not interleave with another process doing the same for this key.
      await sql.run('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', `tandem/rate-limit/${bucket}/${key}`);
      await sql.run('DELETE FROM rate_limit_events WHERE bucket = ? AND at <= ?', bucket, at - windowMs);
      const window = (await sql.get<{ n: number; oldest: number | null }>('SELECT count(*) AS n, min(at) AS oldest FROM rate_limit_events WHERE bucket = ? AND key = ?', bucket, key))!;
      const decision = rateLimitDecision(window.n, window.oldest, limit, windowMs, at);
      if (decision.allowed) await sql.run('INSERT INTO rate_limit_events (bucket, key, at) VALUES (?, ?, ?)', bucket, key, at);
      return decision;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  // ---- internals

  /** Records the master key's id on first open; refuses any other key afterwards. */
  async bindMasterKey(keyId: string): Promise<void> {
    await this.#tx(async (sql) => {
      await sql.run("INSERT INTO meta (key, value) VALUES ('master_key_id', ?) ON CONFLICT (key) DO NOTHING", keyId);
      const row = await sql.get<{ value: string }>("SELECT value FROM meta WHERE key = 'master_key_id'");
      if (row && row.value !== keyId) throw new MasterKeyMismatchError(row.value, keyId);
    });
  }

  /** Audit and spend of a signing, in the caller's transaction, which holds the wallet's row lock. */
  async #recordSigning(sql: Session, walletId: string, signing: SigningRecord, at: number, extra: AuditSummaryInput): Promise<void> {
    let spentBefore = false;
    if (signing.spend) {
      const chainId = check.chainId(signing.spend.chainId);
      const value = check.weiValue(signing.spend.valueWei);
      const digest = signing.spend.digest === undefined ? undefined : check.txDigest(signing.spend.digest);
      // Under the caller's lock on the wallet's row: two instances recording one transaction count it once.
      spentBefore = digest !== undefined && (await sql.get('SELECT 1 FROM spends WHERE wallet_id = ? AND chain_id = ? AND tx_digest = ?', walletId, chainId, digest)) !== undefined;
      if (!spentBefore) {
        const limit = signing.spend.limit;
        if (limit) {
          const except = typeof extra.requestId === 'string' ? extra.requestId : undefined;
          const committed = (await this.#spentSince(sql, walletId, chainId, check.timestamp(limit.sinceMs))) + (await this.#approvals.heldValue(sql, walletId, chainId, except));
          checkSpendLimit(walletId, chainId, committed, value, check.weiValue(limit.limitWei));
        }
        await this.#insertSpend(sql, walletId, chainId, value, at, digest);
      }
    }
    await this.audit.appendIn(sql, {
      kind: 'sign',
      walletId,
      ...(signing.deviceId === undefined ? {} : { deviceId: check.deviceId(signing.deviceId) }),
      at,
      summary: { ...signing.summary, ...extra, ...(spentBefore ? { spentBefore: true } : {}) },
    });
  }

  async #insertSpend(sql: Session, walletId: string, chainId: number, value: bigint, at: number, digest?: string): Promise<void> {
    await sql.run('INSERT INTO spends (wallet_id, chain_id, value_wei, at, tx_digest) VALUES (?, ?, ?::numeric, ?, ?)', walletId, chainId, value.toString(10), at, digest ?? null);
  }

  /** Every place that drops a wallet's presignatures (refresh, restore, lock) also fails the requests held on one. */
  async #deleteReadyPresignatures(sql: Session, walletId: string): Promise<number> {
    await this.#approvals.failHeldForWallet(sql, walletId, this.#now());
    return sql.run("DELETE FROM presignatures WHERE wallet_id = ? AND status = 'ready'", walletId);
  }

  #walletRow(sql: Session, walletId: string, lock?: 'update' | 'share'): Promise<WalletRow | undefined> {
    return sql.get<WalletRow>(`${WALLET_SELECT} WHERE w.wallet_id = ?${lock ? ` FOR ${lock === 'update' ? 'UPDATE' : 'SHARE'} OF w` : ''}`, walletId);
  }

  async #requireWallet(sql: Session, walletId: string, options: { lock?: boolean } = {}): Promise<WalletRecord> {
    const row = await this.#walletRow(sql, walletId, options.lock ? 'update' : undefined);
    if (!row) throw new NotFoundError('wallet', walletId, 'Enroll the device first.');
    return toWallet(row);
  }

  /**
   * The wallet, refused unless it may sign. 'update' serializes with every other change of the
   * wallet (spends, held requests, refresh, lock); 'share' only with those, not with other claims.
   */
  async #requireSignable(sql: Session, walletId: string, lock: 'update' | 'share'): Promise<WalletRecord> {
    const row = await this.#walletRow(sql, walletId, lock);
    if (!row) throw new NotFoundError('wallet', walletId, 'Enroll the device first.');
    const wallet = toWallet(row);
    if (wallet.status === 'locked') throw new WalletLockedError(walletId, wallet.lockedReason ?? 'locked');
    if (wallet.status !== 'active' || wallet.generation === undefined) throw notActive(walletId);
    return wallet;
  }

  /** One transaction; a unique-key race lost to another process reads as the ConflictError the check before it would have given. */
  async #tx<T>(body: (sql: Session) => Promise<T>): Promise<T> {
    try {
      return await transaction(this.#pool, body);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new ConflictError('This record was just created by another co-signer sharing the database.', error);
      throw error;
    }
  }

  /** A consistent snapshot for reads that span statements. */
  #read<T>(body: (sql: Session) => Promise<T>): Promise<T> {
    return transaction(this.#pool, body, { readOnly: true });
  }

  /** Single statements need no transaction: each sees committed data. */
  #plain(): Session {
    return new Session(this.#pool);
  }
}
