import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPolicyError } from '../policy/errors.js';
import {
  ConflictError,
  InvalidRecordError,
  MasterKeyMismatchError,
  NotFoundError,
  PresignatureUnavailableError,
  SchemaVersionError,
  SpendLimitError,
  WalletLockedError,
  WalletStateError,
} from './errors.js';
import type { MasterKey } from './master-key.js';
import { SCHEMA_VERSION } from './schema.js';
import { PG_SCHEMA_VERSION } from './postgres/pg-schema.js';
import { attempt, clock, GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, storeBackends, thrown, WALLET_ADDRESS, type BackendDatabase } from './test-helpers.js';
import type { CosignerStore } from './types.js';

let db: BackendDatabase;
let masterKey: MasterKey;
let time: ReturnType<typeof clock>;
let store: CosignerStore;

const open = (key: MasterKey = masterKey) => db.open({ masterKey: key, now: time.now });

async function enrollWallet(parties: readonly number[] = [1, 2]) {
  const walletId = newId();
  const deviceId = newId();
  const identityPublicKey = newIdentityKey();
  await store.enroll({ walletId, deviceId, identityPublicKey, threshold: 2, parties });
  return { walletId, deviceId, identityPublicKey };
}

async function activeWallet(parties: readonly number[] = [1, 2]) {
  const ids = await enrollWallet(parties);
  await store.activateWallet({ walletId: ids.walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: `share-g0-${ids.walletId}`, generation: 0 });
  return ids;
}

describe.each(storeBackends())('$name', (backend) => {
  beforeEach(async () => {
    db = await backend.create();
    masterKey = newMasterKey();
    time = clock();
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    await db.remove();
  });

  describe('opening the database', () => {
    it('has foreign keys on: a device cannot point at a wallet that does not exist', async () => {
      expect(await thrown(async () => await store.createDevice({ deviceId: newId(), identityPublicKey: newIdentityKey(), walletId: newId() }))).toBeInstanceOf(NotFoundError);
      await expect(db.raw('INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, ?, ?)', newId(), newIdentityKey(), newId(), 'active', 1)).rejects.toThrow(/foreign key/i);
    });

    it('refuses to open with another master key, naming both key ids', async () => {
      await store.close();
      const other = newMasterKey();
      const error = await thrown(() => open(other));
      expect(error).toBeInstanceOf(MasterKeyMismatchError);
      expect((error as MasterKeyMismatchError).shortMessage).toContain(masterKey.keyId);
      expect((error as MasterKeyMismatchError).shortMessage).toContain(other.keyId);
      store = await open();
    });

    it('keeps everything across a reopen', async () => {
      const { walletId, deviceId } = await activeWallet();
      await store.close();
      store = await open();
      expect((await store.getWallet(walletId))?.status).toBe('active');
      expect((await store.getDevice(deviceId))?.walletId).toBe(walletId);
      expect(await store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
    });

    it('refuses a database written by a newer schema', async () => {
      await store.close();
      if (backend.name === 'sqlite') await db.raw(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
      else await db.raw('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', PG_SCHEMA_VERSION + 1, 0);
      expect(await thrown(() => open())).toBeInstanceOf(SchemaVersionError);
      if (backend.name === 'sqlite') await db.raw(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      else await db.raw('DELETE FROM schema_migrations WHERE version = ?', PG_SCHEMA_VERSION + 1);
      store = await open();
    });

    it.runIf(backend.name === 'sqlite')('uses WAL and the current schema version, in a file readable by its owner only', async () => {
      await store.close();
      const raw = new Database(db.location);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      raw.close();
      expect(statSync(db.location).mode & 0o777).toBe(0o600);
      store = await open();
    });

    it.runIf(backend.name === 'postgres')('records every migration, and several stores opening at once migrate once', async () => {
      expect(await db.raw('SELECT version FROM schema_migrations ORDER BY version')).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      const more = await Promise.all([open(), open(), open()]);
      await Promise.all(more.map((other) => other.close()));
      expect(await db.raw('SELECT count(*)::int AS n FROM schema_migrations')).toEqual([{ n: PG_SCHEMA_VERSION }]);
    });

    it('refuses to edit or delete audit rows', async () => {
      await activeWallet();
      await expect(db.raw("UPDATE audit_log SET summary = '{}' WHERE seq = 1")).rejects.toThrow(/append-only/);
      await expect(db.raw('DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(/append-only/);
      expect(await store.audit.verify()).toMatchObject({ ok: true, rows: 2 });
    });
  });

  describe('wallets and devices', () => {
    it('enrolls a device with a pending 2-of-3 wallet and audits it', async () => {
      const { walletId, deviceId, identityPublicKey } = await enrollWallet([1, 2, 3]);
      const wallet = (await store.getWallet(walletId))!;
      expect(wallet).toMatchObject({ walletId, threshold: 2, parties: [1, 2, 3], status: 'pending', address: undefined, generation: undefined, createdAt: time.now() });
      expect(await store.getDevice(deviceId)).toEqual({ deviceId, identityPublicKey, walletId, status: 'active', createdAt: time.now() });
      expect((await store.getDeviceForWallet(walletId))?.deviceId).toBe(deviceId);
      expect((await store.getDeviceByIdentityKey(`0x${identityPublicKey.toUpperCase()}`))?.deviceId).toBe(deviceId);
      const [entry] = await store.audit.list({ walletId });
      expect(entry).toMatchObject({ kind: 'enroll', walletId, deviceId, summary: { identityPublicKey, threshold: 2, parties: [1, 2, 3] } });
    });

    it('returns undefined for unknown records', async () => {
      expect(await store.getWallet(newId())).toBeUndefined();
      expect(await store.getDevice(newId())).toBeUndefined();
      expect(await store.getDeviceForWallet(newId())).toBeUndefined();
    });

    it('refuses duplicates: wallet id, device id, identity key, a second device for a wallet', async () => {
      const first = await enrollWallet();
      expect(await thrown(async () => await store.createWallet({ walletId: first.walletId, threshold: 2, parties: [1, 2] }))).toBeInstanceOf(ConflictError);
      const other = newId();
      await store.createWallet({ walletId: other, threshold: 2, parties: [1, 2] });
      expect(await thrown(async () => await store.createDevice({ deviceId: first.deviceId, identityPublicKey: newIdentityKey(), walletId: other }))).toBeInstanceOf(ConflictError);
      expect(await thrown(async () => await store.createDevice({ deviceId: newId(), identityPublicKey: first.identityPublicKey, walletId: other }))).toBeInstanceOf(ConflictError);
      expect(await thrown(async () => await store.createDevice({ deviceId: newId(), identityPublicKey: newIdentityKey(), walletId: first.walletId }))).toBeInstanceOf(ConflictError);
    });

    it('rolls an enrollment back whole when its device part fails', async () => {
      const first = await enrollWallet();
      const walletId = newId();
      expect(await thrown(async () => await store.enroll({ walletId, deviceId: first.deviceId, identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] }))).toBeInstanceOf(ConflictError);
      expect(await store.getWallet(walletId)).toBeUndefined();
    });

    it('refuses malformed ids, keys and party sets', async () => {
      const bad = [
        async () => await store.createWallet({ walletId: 'A'.repeat(32), threshold: 2, parties: [1, 2] }),
        async () => await store.createWallet({ walletId: newId(), threshold: 3 as 2, parties: [1, 2, 3] }),
        async () => await store.createWallet({ walletId: newId(), threshold: 2, parties: [1, 3] }),
        async () => await store.createWallet({ walletId: newId(), threshold: 2, parties: [2, 1] }),
        async () => await store.enroll({ walletId: newId(), deviceId: 'short', identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] }),
        async () => await store.enroll({ walletId: newId(), deviceId: newId(), identityPublicKey: `04${'11'.repeat(32)}`, threshold: 2, parties: [1, 2] }),
      ];
      for (const run of bad) expect(await thrown(run)).toBeInstanceOf(InvalidRecordError);
    });

    it('lists wallets, optionally by status', async () => {
      const a = await activeWallet();
      const b = await enrollWallet();
      expect((await store.listWallets()).map((w) => w.walletId).sort()).toEqual([a.walletId, b.walletId].sort());
      expect((await store.listWallets({ status: 'pending' })).map((w) => w.walletId)).toEqual([b.walletId]);
    });
  });

  describe('shares', () => {
    it('activates a wallet: stores the share sealed, checksums the address, audits keygen', async () => {
      const { walletId, deviceId } = await activeWallet();
      const wallet = (await store.getWallet(walletId))!;
      expect(wallet).toMatchObject({ status: 'active', generation: 0, address: '0x52908400098527886E0F7030069857D2E4169EE7', publicKey: GROUP_PUBLIC_KEY, activatedAt: time.now() });
      expect(await store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
      const keygen = await store.audit.list({ walletId, kind: 'keygen' });
      expect(keygen).toHaveLength(1);
      expect(keygen[0]).toMatchObject({ deviceId, summary: { address: wallet.address, generation: 0, parties: [1, 2] } });
      expect(JSON.stringify(keygen[0])).not.toContain('share-g0');
    });

    it('refuses a second activation and loading the share of a pending wallet', async () => {
      const { walletId } = await activeWallet();
      const error = await thrown(async () => await store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: 'again', generation: 0 }));
      expect((error as WalletStateError).code).toBe('WALLET_ALREADY_ACTIVE');
      const pending = await enrollWallet();
      expect((await thrown(async () => await store.loadShare(pending.walletId)) as WalletStateError).code).toBe('WALLET_NOT_ACTIVE');
      expect(await thrown(async () => await store.loadShare(newId()))).toBeInstanceOf(NotFoundError);
    });

    it('locks a wallet: no signing share, no presignatures, refresh share still readable, audited', async () => {
      const { walletId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'p1', state: 'presig-1' });
      time.advance(1000);
      const locked = await store.lockWallet(walletId, 'consistency-check-failed in sign round 2');
      expect(locked).toMatchObject({ status: 'locked', lockedReason: 'consistency-check-failed in sign round 2', lockedAt: time.now() });
      expect(await store.countReadyPresignatures(walletId)).toBe(0);
      expect(await thrown(async () => await store.loadShare(walletId))).toBeInstanceOf(WalletLockedError);
      expect(await thrown(async () => await store.loadShare(walletId, 'sign'))).toBeInstanceOf(WalletLockedError);
      expect(await store.loadShare(walletId, 'refresh')).toBe(`share-g0-${walletId}`);
      expect(await thrown(async () => await store.putPresignature({ walletId, presignatureId: 'p2', state: 's' }))).toBeInstanceOf(WalletLockedError);
      expect(await thrown(async () => await store.consumePresignature(walletId, 'p1'))).toBeInstanceOf(WalletLockedError);
      expect(await thrown(async () => await store.recordSignature(walletId, { summary: {} }))).toBeInstanceOf(WalletLockedError);

      // A second lock keeps the first reason, and is audited too.
      await store.lockWallet(walletId, 'another failure');
      expect((await store.getWallet(walletId))?.lockedReason).toBe('consistency-check-failed in sign round 2');
      const locks = await store.audit.list({ walletId, kind: 'lock' });
      expect(locks.map((l) => l.summary)).toEqual([
        { reason: 'consistency-check-failed in sign round 2', alreadyLocked: false, presignaturesDropped: 1 },
        { reason: 'another failure', alreadyLocked: true, presignaturesDropped: 0 },
      ]);
    });

    it('refreshes: requires generation + 1, replaces the share, drops presignatures, unlocks, audits', async () => {
      const { walletId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'old', state: 'old-state' });
      await store.lockWallet(walletId, 'ot-check-failed');
      for (const generation of [0, 2]) {
        expect((await thrown(async () => await store.replaceShare({ walletId, share: 'x', generation })) as WalletStateError).code).toBe('WALLET_GENERATION_MISMATCH');
      }
      const refreshed = await store.replaceShare({ walletId, share: `share-g1-${walletId}`, generation: 1 });
      expect(refreshed).toMatchObject({ status: 'active', generation: 1, lockedReason: undefined, lockedAt: undefined });
      expect(await store.loadShare(walletId)).toBe(`share-g1-${walletId}`);
      expect(await store.countReadyPresignatures(walletId)).toBe(0);
      const [refresh] = await store.audit.list({ walletId, kind: 'refresh' });
      expect(refresh?.summary).toEqual({ generation: 1, previousGeneration: 0, presignaturesDropped: 0, unlocked: true, lockedReason: 'ot-check-failed' });
      // The refreshed wallet signs again.
      await store.putPresignature({ walletId, presignatureId: 'new', state: 'new-state' });
      expect(await store.consumePresignature(walletId, 'new')).toBe('new-state');
    });
  });

  describe('presignatures', () => {
    it('puts, counts and consumes once; the second consume is refused', async () => {
      const { walletId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'a', state: 'state-a' });
      await store.putPresignature({ walletId, presignatureId: 'b', state: 'state-b' });
      expect(await store.countReadyPresignatures(walletId)).toBe(2);
      expect(await store.consumePresignature(walletId, 'b')).toBe('state-b');
      expect(await store.countReadyPresignatures(walletId)).toBe(1);
      const again = await thrown(async () => await store.consumePresignature(walletId, 'b'));
      expect(again).toBeInstanceOf(PresignatureUnavailableError);
      expect((again as PresignatureUnavailableError).shortMessage).toContain('already used');
      expect((await thrown(async () => await store.consumePresignature(walletId, 'zzz')) as PresignatureUnavailableError).shortMessage).toContain('does not exist');
    });

    it('never accepts a presignature id twice, even after it was used', async () => {
      const { walletId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'once', state: 's' });
      expect(await thrown(async () => await store.putPresignature({ walletId, presignatureId: 'once', state: 's2' }))).toBeInstanceOf(ConflictError);
      await store.consumePresignature(walletId, 'once');
      expect(await thrown(async () => await store.putPresignature({ walletId, presignatureId: 'once', state: 's3' }))).toBeInstanceOf(ConflictError);
      expect(await thrown(async () => await store.consumePresignature(walletId, 'once'))).toBeInstanceOf(PresignatureUnavailableError);
    });

    it("keeps one wallet's presignatures out of another's reach", async () => {
      const a = await activeWallet();
      const b = await activeWallet();
      await store.putPresignature({ walletId: a.walletId, presignatureId: 'p', state: 'a-state' });
      expect(await thrown(async () => await store.consumePresignature(b.walletId, 'p'))).toBeInstanceOf(PresignatureUnavailableError);
      expect(await store.consumePresignature(a.walletId, 'p')).toBe('a-state');
    });

    it('wipes the sealed state of a used presignature', async () => {
      const { walletId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'w', state: 'state' });
      await store.consumePresignature(walletId, 'w');
      const [row] = await db.raw('SELECT status, sealed_state, used_at FROM presignatures WHERE presignature_id = ?', 'w');
      expect(row).toEqual({ status: 'used', sealed_state: null, used_at: time.now() });
    });

    it('refuses presignatures for a pending wallet', async () => {
      const { walletId } = await enrollWallet();
      expect((await thrown(async () => await store.putPresignature({ walletId, presignatureId: 'p', state: 's' })) as WalletStateError).code).toBe('WALLET_NOT_ACTIVE');
    });

    it('writes the signing record (spend and audit) in the same transaction as the consumption', async () => {
      const { walletId, deviceId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'tx1', state: 'st' });
      const signing = { deviceId, spend: { chainId: 1, valueWei: 5n }, summary: { type: 'transaction', chainId: 1, to: WALLET_ADDRESS, valueWei: 5n } };
      expect(await store.consumePresignature(walletId, 'tx1', signing)).toBe('st');
      expect(await store.spentSince(walletId, 1, 0)).toBe(5n);
      const signs = await store.audit.list({ walletId, kind: 'sign' });
      expect(signs).toHaveLength(1);
      expect(signs[0]).toMatchObject({ deviceId, summary: { type: 'transaction', chainId: 1, valueWei: '5', presignatureId: 'tx1' } });

      // A losing consume leaves no trace: no spend, no audit row.
      expect(await thrown(async () => await store.consumePresignature(walletId, 'tx1', signing))).toBeInstanceOf(PresignatureUnavailableError);
      expect(await store.spentSince(walletId, 1, 0)).toBe(5n);
      expect(await store.audit.list({ walletId, kind: 'sign' })).toHaveLength(1);
    });

    it('rolls the consumption back when its audit summary is refused', async () => {
      const { walletId } = await activeWallet();
      await store.putPresignature({ walletId, presignatureId: 'keep', state: 'st' });
      expect(await thrown(async () => await store.consumePresignature(walletId, 'keep', { summary: { share: 'oops' } }))).toMatchObject({ code: 'AUDIT_SECRET_FIELD' });
      expect(await store.countReadyPresignatures(walletId)).toBe(1);
    });

    it('records a full-protocol signature with its spend', async () => {
      const { walletId, deviceId } = await activeWallet();
      await store.recordSignature(walletId, { deviceId, spend: { chainId: 10, valueWei: 7n }, summary: { type: 'transaction' } });
      expect(await store.spentSince(walletId, 10, 0)).toBe(7n);
      expect((await store.audit.list({ walletId, kind: 'sign' }))[0]?.summary).toEqual({ type: 'transaction' });
    });

    it('counts a transaction signed again once: the retry adds nothing to the ledger and is not held to the limit again', async () => {
      const { walletId, deviceId } = await activeWallet();
      const digest = `0x${'ab'.repeat(32)}`;
      const other = `0x${'cd'.repeat(32)}`;
      const limit = { limitWei: 10n, sinceMs: 0 };
      await store.recordSpend({ walletId, chainId: 1, valueWei: 3n });
      await store.recordSignature(walletId, { deviceId, spend: { chainId: 1, valueWei: 7n, digest, limit }, summary: { type: 'transaction' } });
      expect(await store.spentSince(walletId, 1, 0)).toBe(10n);

      // Once more without a presignature and once with one: the wallet is at its limit, and neither is refused or counted.
      await store.recordSignature(walletId, { deviceId, spend: { chainId: 1, valueWei: 7n, digest: digest.toUpperCase().replace('0X', '0x'), limit }, summary: { type: 'transaction' } });
      await store.putPresignature({ walletId, presignatureId: 'again', state: 'st' });
      expect(await store.consumePresignature(walletId, 'again', { deviceId, spend: { chainId: 1, valueWei: 7n, digest, limit }, summary: { type: 'transaction' } })).toBe('st');
      expect(await store.spentSince(walletId, 1, 0)).toBe(10n);
      const signs = await store.audit.list({ walletId, kind: 'sign' });
      expect(signs.map((entry) => entry.summary.spentBefore ?? false)).toEqual([false, true, true]);

      // Another transaction is counted, and refused past the limit; the same digest on another chain is another spend.
      expect(await thrown(async () => await store.recordSignature(walletId, { deviceId, spend: { chainId: 1, valueWei: 1n, digest: other, limit }, summary: {} }))).toBeInstanceOf(SpendLimitError);
      await store.recordSignature(walletId, { deviceId, spend: { chainId: 5, valueWei: 7n, digest, limit }, summary: {} });
      expect(await store.spentSince(walletId, 5, 0)).toBe(7n);

      // What the policy sees before signing: everything but the transaction being signed.
      expect(await store.spentSince(walletId, 1, 0, digest)).toBe(3n);
      expect(await store.spentSince(walletId, 1, 0, other)).toBe(10n);
      expect(await thrown(async () => await store.spentSince(walletId, 1, 0, '0x1234'))).toBeInstanceOf(InvalidRecordError);
      expect(await thrown(async () => await store.recordSignature(walletId, { spend: { chainId: 1, valueWei: 1n, digest: 'nope' }, summary: {} }))).toBeInstanceOf(InvalidRecordError);
    });

    it('deletes ready presignatures and prunes old tombstones', async () => {
      const { walletId } = await activeWallet();
      for (const id of ['1', '2', '3']) await store.putPresignature({ walletId, presignatureId: id, state: id });
      await store.consumePresignature(walletId, '1');
      expect(await store.deleteAllPresignatures(walletId)).toBe(2);
      expect(await store.countReadyPresignatures(walletId)).toBe(0);
      time.advance(10);
      expect(await store.pruneUsedPresignatures(time.now() - 20)).toBe(0);
      expect(await store.pruneUsedPresignatures(time.now())).toBe(1);
    });
  });

  describe('policies', () => {
    it('has no restriction until set; stores the normalised policy and audits old and new', async () => {
      const { walletId } = await activeWallet();
      expect(await store.getPolicy(walletId)).toEqual({});
      const stored = await store.setPolicy(walletId, { maxValuePerTxWei: '100', allowedRecipients: [WALLET_ADDRESS, WALLET_ADDRESS.toUpperCase().replace('0X', '0x')] }, { actor: 'admin-cli' });
      expect(stored).toEqual({ maxValuePerTxWei: '100', allowedRecipients: ['0x52908400098527886E0F7030069857D2E4169EE7'] });
      expect(await store.getPolicy(walletId)).toEqual(stored);
      await store.setPolicy(walletId, { allowedChainIds: [1] });
      const changes = await store.audit.list({ walletId, kind: 'policy' });
      expect(changes.map((c) => c.summary)).toEqual([
        { policy: stored, previous: {}, actor: 'admin-cli' },
        { policy: { allowedChainIds: [1] }, previous: stored },
      ]);
    });

    it('refuses an invalid policy and stores nothing', async () => {
      const { walletId } = await activeWallet();
      const before = await store.audit.head();
      expect(await thrown(async () => await store.setPolicy(walletId, { dailyLimitWei: '-1' }))).toBeInstanceOf(InvalidPolicyError);
      expect(await store.getPolicy(walletId)).toEqual({});
      expect(await store.audit.head()).toEqual(before);
      expect(await thrown(async () => await store.setPolicy(newId(), {}))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('spend ledger', () => {
    it('sums wei beyond 64 bits per chain, from a start time on', async () => {
      const { walletId } = await activeWallet();
      const big = 2n ** 70n;
      await store.recordSpend({ walletId, chainId: 1, valueWei: big, at: 1000 });
      await store.recordSpend({ walletId, chainId: 1, valueWei: big + 1n, at: 2000 });
      await store.recordSpend({ walletId, chainId: 137, valueWei: 9n, at: 2000 });
      expect(await store.spentSince(walletId, 1, 0)).toBe(2n * big + 1n);
      expect(await store.spentSince(walletId, 1, 2000)).toBe(big + 1n);
      expect(await store.spentSince(walletId, 1, 2001)).toBe(0n);
      expect(await store.spentSince(walletId, 137, 0)).toBe(9n);
      expect(await store.spentSince((await activeWallet()).walletId, 1, 0)).toBe(0n);
    });

    it('refuses negative values and unknown wallets', async () => {
      const { walletId } = await activeWallet();
      expect(await thrown(async () => await store.recordSpend({ walletId, chainId: 1, valueWei: -1n }))).toBeInstanceOf(InvalidRecordError);
      expect(await thrown(async () => await store.recordSpend({ walletId: newId(), chainId: 1, valueWei: 1n }))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('rate limits', () => {
    it('allows `limit` events per window and key, then says when to retry', async () => {
      const take = async (key: string) => await store.takeRateLimit({ bucket: 'enroll', key, limit: 3, windowMs: 60_000 });
      expect((await take('1.2.3.4')).remaining).toBe(2);
      time.advance(5_000);
      expect([await take('1.2.3.4'), await take('1.2.3.4')].map((d) => d.remaining)).toEqual([1, 0]);
      time.advance(5_000);
      expect(await take('1.2.3.4')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 50_000 });
      expect((await take('5.6.7.8')).allowed).toBe(true);
      // The first event leaves the window; the two later ones still count.
      time.advance(50_000);
      expect(await take('1.2.3.4')).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
      expect((await take('1.2.3.4')).allowed).toBe(false);
    });
  });

  describe('audit through the store', () => {
    it('chains every audited change and verifies', async () => {
      const { walletId } = await activeWallet();
      await store.setPolicy(walletId, { allowedChainIds: [1] });
      await store.lockWallet(walletId, 'test');
      await store.replaceShare({ walletId, share: 's1', generation: 1 });
      await store.audit.append({ kind: 'refuse', walletId, summary: { rule: 'chain' } });
      expect((await store.audit.list()).map((e) => e.kind)).toEqual(['enroll', 'keygen', 'policy', 'lock', 'refresh', 'refuse']);
      expect(await store.audit.verify()).toMatchObject({ ok: true, rows: 6 });
    });
  });
});
