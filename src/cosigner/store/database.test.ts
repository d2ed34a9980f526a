import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPolicyError } from '../policy/errors.js';
import { databasePath, openSqliteStore, type SqliteCosignerStore } from './database.js';
import {
  ConflictError,
  InvalidRecordError,
  MasterKeyMismatchError,
  NotFoundError,
  PresignatureUnavailableError,
  SchemaVersionError,
  WalletLockedError,
  WalletStateError,
} from './errors.js';
import type { MasterKey } from './master-key.js';
import { SCHEMA_VERSION } from './schema.js';
import { clock, GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, tempDir, WALLET_ADDRESS } from './test-helpers.js';

let dir: ReturnType<typeof tempDir>;
let masterKey: MasterKey;
let time: ReturnType<typeof clock>;
let store: SqliteCosignerStore;

beforeEach(() => {
  dir = tempDir();
  masterKey = newMasterKey();
  time = clock();
  store = openSqliteStore({ path: databasePath(dir.path), masterKey, now: time.now });
});
afterEach(() => {
  store.close();
  dir.remove();
});

function enrollWallet(parties: readonly number[] = [1, 2]) {
  const walletId = newId();
  const deviceId = newId();
  const identityPublicKey = newIdentityKey();
  store.enroll({ walletId, deviceId, identityPublicKey, threshold: 2, parties });
  return { walletId, deviceId, identityPublicKey };
}

function activeWallet(parties: readonly number[] = [1, 2]) {
  const ids = enrollWallet(parties);
  store.activateWallet({ walletId: ids.walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: `share-g0-${ids.walletId}`, generation: 0 });
  return ids;
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('opening the database', () => {
  it('uses WAL, foreign keys, a busy timeout and the current schema version', () => {
    store.close();
    const raw = new Database(databasePath(dir.path));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    store = openSqliteStore({ path: databasePath(dir.path), masterKey, now: time.now });
    // Foreign keys are on: a device cannot point at a wallet that does not exist.
    expect(thrown(() => store.createDevice({ deviceId: newId(), identityPublicKey: newIdentityKey(), walletId: newId() }))).toBeInstanceOf(NotFoundError);
  });

  it('creates the database file readable by its owner only', () => {
    expect(statSync(databasePath(dir.path)).mode & 0o777).toBe(0o600);
  });

  it('refuses a database written by a newer schema', () => {
    store.close();
    const raw = new Database(databasePath(dir.path));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(thrown(() => openSqliteStore({ path: databasePath(dir.path), masterKey }))).toBeInstanceOf(SchemaVersionError);
    store = openSqliteStore({ path: ':memory:', masterKey });
  });

  it('refuses to open with another master key, naming both key ids', () => {
    store.close();
    const other = newMasterKey();
    const error = thrown(() => openSqliteStore({ path: databasePath(dir.path), masterKey: other }));
    expect(error).toBeInstanceOf(MasterKeyMismatchError);
    expect((error as MasterKeyMismatchError).shortMessage).toContain(masterKey.keyId);
    expect((error as MasterKeyMismatchError).shortMessage).toContain(other.keyId);
    store = openSqliteStore({ path: databasePath(dir.path), masterKey });
  });

  it('keeps everything across a reopen', () => {
    const { walletId, deviceId } = activeWallet();
    store.close();
    store = openSqliteStore({ path: databasePath(dir.path), masterKey });
    expect(store.getWallet(walletId)?.status).toBe('active');
    expect(store.getDevice(deviceId)?.walletId).toBe(walletId);
    expect(store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
  });
});

describe('wallets and devices', () => {
  it('enrolls a device with a pending 2-of-3 wallet and audits it', () => {
    const { walletId, deviceId, identityPublicKey } = enrollWallet([1, 2, 3]);
    const wallet = store.getWallet(walletId)!;
    expect(wallet).toMatchObject({ walletId, threshold: 2, parties: [1, 2, 3], status: 'pending', address: undefined, generation: undefined, createdAt: time.now() });
    expect(store.getDevice(deviceId)).toEqual({ deviceId, identityPublicKey, walletId, status: 'active', createdAt: time.now() });
    expect(store.getDeviceForWallet(walletId)?.deviceId).toBe(deviceId);
    expect(store.getDeviceByIdentityKey(`0x${identityPublicKey.toUpperCase()}`)?.deviceId).toBe(deviceId);
    const [entry] = store.audit.list({ walletId });
    expect(entry).toMatchObject({ kind: 'enroll', walletId, deviceId, summary: { identityPublicKey, threshold: 2, parties: [1, 2, 3] } });
  });

  it('returns undefined for unknown records', () => {
    expect(store.getWallet(newId())).toBeUndefined();
    expect(store.getDevice(newId())).toBeUndefined();
    expect(store.getDeviceForWallet(newId())).toBeUndefined();
  });

  it('refuses duplicates: wallet id, device id, identity key, a second device for a wallet', () => {
    const first = enrollWallet();
    expect(thrown(() => store.createWallet({ walletId: first.walletId, threshold: 2, parties: [1, 2] }))).toBeInstanceOf(ConflictError);
    const other = newId();
    store.createWallet({ walletId: other, threshold: 2, parties: [1, 2] });
    expect(thrown(() => store.createDevice({ deviceId: first.deviceId, identityPublicKey: newIdentityKey(), walletId: other }))).toBeInstanceOf(ConflictError);
    expect(thrown(() => store.createDevice({ deviceId: newId(), identityPublicKey: first.identityPublicKey, walletId: other }))).toBeInstanceOf(ConflictError);
    expect(thrown(() => store.createDevice({ deviceId: newId(), identityPublicKey: newIdentityKey(), walletId: first.walletId }))).toBeInstanceOf(ConflictError);
  });

  it('rolls an enrollment back whole when its device part fails', () => {
    const first = enrollWallet();
    const walletId = newId();
    expect(thrown(() => store.enroll({ walletId, deviceId: first.deviceId, identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] }))).toBeInstanceOf(ConflictError);
    expect(store.getWallet(walletId)).toBeUndefined();
  });

  it('refuses malformed ids, keys and party sets', () => {
    const bad = [
      () => store.createWallet({ walletId: 'A'.repeat(32), threshold: 2, parties: [1, 2] }),
      () => store.createWallet({ walletId: newId(), threshold: 3 as 2, parties: [1, 2, 3] }),
      () => store.createWallet({ walletId: newId(), threshold: 2, parties: [1, 3] }),
      () => store.createWallet({ walletId: newId(), threshold: 2, parties: [2, 1] }),
      () => store.enroll({ walletId: newId(), deviceId: 'short', identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] }),
      () => store.enroll({ walletId: newId(), deviceId: newId(), identityPublicKey: `04${'11'.repeat(32)}`, threshold: 2, parties: [1, 2] }),
    ];
    for (const run of bad) expect(thrown(run)).toBeInstanceOf(InvalidRecordError);
  });

  it('lists wallets, optionally by status', () => {
    const a = activeWallet();
    const b = enrollWallet();
    expect(store.listWallets().map((w) => w.walletId).sort()).toEqual([a.walletId, b.walletId].sort());
    expect(store.listWallets({ status: 'pending' }).map((w) => w.walletId)).toEqual([b.walletId]);
  });
});

describe('shares', () => {
  it('activates a wallet: stores the share sealed, checksums the address, audits keygen', () => {
    const { walletId, deviceId } = activeWallet();
    const wallet = store.getWallet(walletId)!;
    expect(wallet).toMatchObject({ status: 'active', generation: 0, address: '0x52908400098527886E0F7030069857D2E4169EE7', publicKey: GROUP_PUBLIC_KEY, activatedAt: time.now() });
    expect(store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
    const keygen = store.audit.list({ walletId, kind: 'keygen' });
    expect(keygen).toHaveLength(1);
    expect(keygen[0]).toMatchObject({ deviceId, summary: { address: wallet.address, generation: 0, parties: [1, 2] } });
    expect(JSON.stringify(keygen[0])).not.toContain('share-g0');
  });

  it('refuses a second activation and loading the share of a pending wallet', () => {
    const { walletId } = activeWallet();
    const error = thrown(() => store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: 'again', generation: 0 }));
    expect((error as WalletStateError).code).toBe('WALLET_ALREADY_ACTIVE');
    const pending = enrollWallet();
    expect((thrown(() => store.loadShare(pending.walletId)) as WalletStateError).code).toBe('WALLET_NOT_ACTIVE');
    expect(thrown(() => store.loadShare(newId()))).toBeInstanceOf(NotFoundError);
  });

  it('locks a wallet: no signing share, no presignatures, refresh share still readable, audited', () => {
    const { walletId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'p1', state: 'presig-1' });
    time.advance(1000);
    const locked = store.lockWallet(walletId, 'consistency-check-failed in sign round 2');
    expect(locked).toMatchObject({ status: 'locked', lockedReason: 'consistency-check-failed in sign round 2', lockedAt: time.now() });
    expect(store.countReadyPresignatures(walletId)).toBe(0);
    expect(thrown(() => store.loadShare(walletId))).toBeInstanceOf(WalletLockedError);
    expect(thrown(() => store.loadShare(walletId, 'sign'))).toBeInstanceOf(WalletLockedError);
    expect(store.loadShare(walletId, 'refresh')).toBe(`share-g0-${walletId}`);
    expect(thrown(() => store.putPresignature({ walletId, presignatureId: 'p2', state: 's' }))).toBeInstanceOf(WalletLockedError);
    expect(thrown(() => store.consumePresignature(walletId, 'p1'))).toBeInstanceOf(WalletLockedError);
    expect(thrown(() => store.recordSignature(walletId, { summary: {} }))).toBeInstanceOf(WalletLockedError);

    // A second lock keeps the first reason, and is audited too.
    store.lockWallet(walletId, 'another failure');
    expect(store.getWallet(walletId)?.lockedReason).toBe('consistency-check-failed in sign round 2');
    const locks = store.audit.list({ walletId, kind: 'lock' });
    expect(locks.map((l) => l.summary)).toEqual([
      { reason: 'consistency-check-failed in sign round 2', alreadyLocked: false, presignaturesDropped: 1 },
      { reason: 'another failure', alreadyLocked: true, presignaturesDropped: 0 },
    ]);
  });

  it('refreshes: requires generation + 1, replaces the share, drops presignatures, unlocks, audits', () => {
    const { walletId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'old', state: 'old-state' });
    store.lockWallet(walletId, 'ot-check-failed');
    for (const generation of [0, 2]) {
      expect((thrown(() => store.replaceShare({ walletId, share: 'x', generation })) as WalletStateError).code).toBe('WALLET_GENERATION_MISMATCH');
    }
    const refreshed = store.replaceShare({ walletId, share: `share-g1-${walletId}`, generation: 1 });
    expect(refreshed).toMatchObject({ status: 'active', generation: 1, lockedReason: undefined, lockedAt: undefined });
    expect(store.loadShare(walletId)).toBe(`share-g1-${walletId}`);
    expect(store.countReadyPresignatures(walletId)).toBe(0);
    const [refresh] = store.audit.list({ walletId, kind: 'refresh' });
    expect(refresh?.summary).toEqual({ generation: 1, previousGeneration: 0, presignaturesDropped: 0, unlocked: true, lockedReason: 'ot-check-failed' });
    // The refreshed wallet signs again.
    store.putPresignature({ walletId, presignatureId: 'new', state: 'new-state' });
    expect(store.consumePresignature(walletId, 'new')).toBe('new-state');
  });
});

describe('presignatures', () => {
  it('puts, counts and consumes once; the second consume is refused', () => {
    const { walletId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'a', state: 'state-a' });
    store.putPresignature({ walletId, presignatureId: 'b', state: 'state-b' });
    expect(store.countReadyPresignatures(walletId)).toBe(2);
    expect(store.consumePresignature(walletId, 'b')).toBe('state-b');
    expect(store.countReadyPresignatures(walletId)).toBe(1);
    const again = thrown(() => store.consumePresignature(walletId, 'b'));
    expect(again).toBeInstanceOf(PresignatureUnavailableError);
    expect((again as PresignatureUnavailableError).shortMessage).toContain('already used');
    expect((thrown(() => store.consumePresignature(walletId, 'zzz')) as PresignatureUnavailableError).shortMessage).toContain('does not exist');
  });

  it('never accepts a presignature id twice, even after it was used', () => {
    const { walletId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'once', state: 's' });
    expect(thrown(() => store.putPresignature({ walletId, presignatureId: 'once', state: 's2' }))).toBeInstanceOf(ConflictError);
    store.consumePresignature(walletId, 'once');
    expect(thrown(() => store.putPresignature({ walletId, presignatureId: 'once', state: 's3' }))).toBeInstanceOf(ConflictError);
    expect(thrown(() => store.consumePresignature(walletId, 'once'))).toBeInstanceOf(PresignatureUnavailableError);
  });

  it("keeps one wallet's presignatures out of another's reach", () => {
    const a = activeWallet();
    const b = activeWallet();
    store.putPresignature({ walletId: a.walletId, presignatureId: 'p', state: 'a-state' });
    expect(thrown(() => store.consumePresignature(b.walletId, 'p'))).toBeInstanceOf(PresignatureUnavailableError);
    expect(store.consumePresignature(a.walletId, 'p')).toBe('a-state');
  });

  it('wipes the sealed state of a used presignature', () => {
    const { walletId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'w', state: 'state' });
    store.consumePresignature(walletId, 'w');
    const raw = new Database(databasePath(dir.path), { readonly: true });
    const row = raw.prepare('SELECT status, sealed_state, used_at FROM presignatures WHERE presignature_id = ?').get('w');
    raw.close();
    expect(row).toEqual({ status: 'used', sealed_state: null, used_at: time.now() });
  });

  it('refuses presignatures for a pending wallet', () => {
    const { walletId } = enrollWallet();
    expect((thrown(() => store.putPresignature({ walletId, presignatureId: 'p', state: 's' })) as WalletStateError).code).toBe('WALLET_NOT_ACTIVE');
  });

  it('writes the signing record (spend and audit) in the same transaction as the consumption', () => {
    const { walletId, deviceId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'tx1', state: 'st' });
    const signing = { deviceId, spend: { chainId: 1, valueWei: 5n }, summary: { type: 'transaction', chainId: 1, to: WALLET_ADDRESS, valueWei: 5n } };
    expect(store.consumePresignature(walletId, 'tx1', signing)).toBe('st');
    expect(store.spentSince(walletId, 1, 0)).toBe(5n);
    const signs = store.audit.list({ walletId, kind: 'sign' });
    expect(signs).toHaveLength(1);
    expect(signs[0]).toMatchObject({ deviceId, summary: { type: 'transaction', chainId: 1, valueWei: '5', presignatureId: 'tx1' } });

    // A losing consume leaves no trace: no spend, no audit row.
    expect(thrown(() => store.consumePresignature(walletId, 'tx1', signing))).toBeInstanceOf(PresignatureUnavailableError);
    expect(store.spentSince(walletId, 1, 0)).toBe(5n);
    expect(store.audit.list({ walletId, kind: 'sign' })).toHaveLength(1);
  });

  it('rolls the consumption back when its audit summary is refused', () => {
    const { walletId } = activeWallet();
    store.putPresignature({ walletId, presignatureId: 'keep', state: 'st' });
    expect(thrown(() => store.consumePresignature(walletId, 'keep', { summary: { share: 'oops' } }))).toMatchObject({ code: 'AUDIT_SECRET_FIELD' });
    expect(store.countReadyPresignatures(walletId)).toBe(1);
  });

  it('records a full-protocol signature with its spend', () => {
    const { walletId, deviceId } = activeWallet();
    store.recordSignature(walletId, { deviceId, spend: { chainId: 10, valueWei: 7n }, summary: { type: 'transaction' } });
    expect(store.spentSince(walletId, 10, 0)).toBe(7n);
    expect(store.audit.list({ walletId, kind: 'sign' })[0]?.summary).toEqual({ type: 'transaction' });
  });

  it('deletes ready presignatures and prunes old tombstones', () => {
    const { walletId } = activeWallet();
    for (const id of ['1', '2', '3']) store.putPresignature({ walletId, presignatureId: id, state: id });
    store.consumePresignature(walletId, '1');
    expect(store.deleteAllPresignatures(walletId)).toBe(2);
    expect(store.countReadyPresignatures(walletId)).toBe(0);
    time.advance(10);
    expect(store.pruneUsedPresignatures(time.now() - 20)).toBe(0);
    expect(store.pruneUsedPresignatures(time.now())).toBe(1);
  });
});

describe('policies', () => {
  it('has no restriction until set; stores the normalised policy and audits old and new', () => {
    const { walletId } = activeWallet();
    expect(store.getPolicy(walletId)).toEqual({});
    const stored = store.setPolicy(walletId, { maxValuePerTxWei: '100', allowedRecipients: [WALLET_ADDRESS, WALLET_ADDRESS.toUpperCase().replace('0X', '0x')] }, { actor: 'admin-cli' });
    expect(stored).toEqual({ maxValuePerTxWei: '100', allowedRecipients: ['0x52908400098527886E0F7030069857D2E4169EE7'] });
    expect(store.getPolicy(walletId)).toEqual(stored);
    store.setPolicy(walletId, { allowedChainIds: [1] });
    const changes = store.audit.list({ walletId, kind: 'policy' });
    expect(changes.map((c) => c.summary)).toEqual([
      { policy: stored, previous: {}, actor: 'admin-cli' },
      { policy: { allowedChainIds: [1] }, previous: stored },
    ]);
  });

  it('refuses an invalid policy and stores nothing', () => {
    const { walletId } = activeWallet();
    const before = store.audit.head();
    expect(thrown(() => store.setPolicy(walletId, { dailyLimitWei: '-1' }))).toBeInstanceOf(InvalidPolicyError);
    expect(store.getPolicy(walletId)).toEqual({});
    expect(store.audit.head()).toEqual(before);
    expect(thrown(() => store.setPolicy(newId(), {}))).toBeInstanceOf(NotFoundError);
  });
});

describe('spend ledger', () => {
  it('sums wei beyond 64 bits per chain, from a start time on', () => {
    const { walletId } = activeWallet();
    const big = 2n ** 70n;
    store.recordSpend({ walletId, chainId: 1, valueWei: big, at: 1000 });
    store.recordSpend({ walletId, chainId: 1, valueWei: big + 1n, at: 2000 });
    store.recordSpend({ walletId, chainId: 137, valueWei: 9n, at: 2000 });
    expect(store.spentSince(walletId, 1, 0)).toBe(2n * big + 1n);
    expect(store.spentSince(walletId, 1, 2000)).toBe(big + 1n);
    expect(store.spentSince(walletId, 1, 2001)).toBe(0n);
    expect(store.spentSince(walletId, 137, 0)).toBe(9n);
    expect(store.spentSince(activeWallet().walletId, 1, 0)).toBe(0n);
  });

  it('refuses negative values and unknown wallets', () => {
    const { walletId } = activeWallet();
    expect(thrown(() => store.recordSpend({ walletId, chainId: 1, valueWei: -1n }))).toBeInstanceOf(InvalidRecordError);
    expect(thrown(() => store.recordSpend({ walletId: newId(), chainId: 1, valueWei: 1n }))).toBeInstanceOf(NotFoundError);
  });
});

describe('rate limits', () => {
  it('allows `limit` events per window and key, then says when to retry', () => {
    const take = (key: string) => store.takeRateLimit({ bucket: 'enroll', key, limit: 3, windowMs: 60_000 });
    expect(take('1.2.3.4').remaining).toBe(2);
    time.advance(5_000);
    expect([take('1.2.3.4'), take('1.2.3.4')].map((d) => d.remaining)).toEqual([1, 0]);
    time.advance(5_000);
    expect(take('1.2.3.4')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 50_000 });
    expect(take('5.6.7.8').allowed).toBe(true);
    // The first event leaves the window; the two later ones still count.
    time.advance(50_000);
    expect(take('1.2.3.4')).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    expect(take('1.2.3.4').allowed).toBe(false);
  });
});

describe('audit through the store', () => {
  it('chains every audited change and verifies', () => {
    const { walletId } = activeWallet();
    store.setPolicy(walletId, { allowedChainIds: [1] });
    store.lockWallet(walletId, 'test');
    store.replaceShare({ walletId, share: 's1', generation: 1 });
    store.audit.append({ kind: 'refuse', walletId, summary: { rule: 'chain' } });
    expect(store.audit.list().map((e) => e.kind)).toEqual(['enroll', 'keygen', 'policy', 'lock', 'refresh', 'refuse']);
    expect(store.audit.verify()).toMatchObject({ ok: true, rows: 6 });
  });
});
