/**
 * An operator's approval of a restoring device (for wallets whose policy has restoreNeedsOperator):
 * only a device still restoring can be approved, the approval is durable and audited once.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './database.js';
import type { CosignerStore } from './types.js';
import { NotFoundError, WalletStateError } from './errors.js';
import { MIGRATIONS } from './schema.js';
import { attempt, storeBackends, type BackendDatabase, clock, enrollActiveWallet, enrollRestoringDevice, newId, newIdentityKey, newMasterKey } from './test-helpers.js';

const masterKey = newMasterKey();
let db: BackendDatabase;
let time: ReturnType<typeof clock>;
let store: CosignerStore;

const activeWallet = async () => await enrollActiveWallet(store);
const restoringDevice = async (walletId: string) => await enrollRestoringDevice(store, walletId);

describe.each(storeBackends())('$name', (backend) => {
  beforeEach(async () => {
    db = await backend.create();
    time = clock();
    store = await db.open({ masterKey, now: time.now });
  });
  afterEach(async () => {
    await store.close();
    await db.remove();
  });

  describe('approving a restore', () => {
    it('marks a restoring device approved, durably, audited as approve with who did it; a second approval changes nothing', async () => {
      const { walletId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      expect(restoring.restoreApprovedAt).toBeUndefined();
      time.advance(5_000);
      const approved = await store.approveRestore(restoring.deviceId, { actor: 'alice' });
      expect(approved).toMatchObject({ deviceId: restoring.deviceId, status: 'restoring', restoreApprovedAt: time.now() });
      expect((await store.getDevice(restoring.deviceId))?.restoreApprovedAt).toBe(time.now());
      expect((await store.listDevices(walletId)).find((d) => d.deviceId === restoring.deviceId)?.restoreApprovedAt).toBe(time.now());
      expect(await store.audit.list({ walletId, kind: 'approve' })).toMatchObject([
        { deviceId: restoring.deviceId, summary: { action: 'approve-restore', deviceId: restoring.deviceId, actor: 'alice' } },
      ]);

      time.advance(5_000);
      expect((await store.approveRestore(restoring.deviceId, { actor: 'bob' })).restoreApprovedAt).toBe(time.now() - 5_000);
      expect(await store.audit.list({ walletId, kind: 'approve' })).toHaveLength(1);
      expect((await store.audit.verify()).ok).toBe(true);

      // Durable: a new connection (a restarted co-signer, or the CLI) sees it.
      await store.close();
      store = await db.open({ masterKey, now: time.now });
      expect((await store.getDevice(restoring.deviceId))?.restoreApprovedAt).toBe(time.now() - 5_000);
    });

    it('defaults the actor to "operator"', async () => {
      const { walletId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      await store.approveRestore(restoring.deviceId);
      expect((await store.audit.list({ walletId, kind: 'approve' })).at(-1)?.summary.actor).toBe('operator');
    });

    it('refuses an active device, a revoked one and an unknown one with a typed error, and writes nothing', async () => {
      const { walletId, deviceId } = await activeWallet();
      const active = await (async () => {
        try {
          await store.approveRestore(deviceId, { actor: 'test' });
        } catch (error) {
          return error;
        }
      })();
      expect(active).toBeInstanceOf(WalletStateError);
      expect(active).toMatchObject({ code: 'DEVICE_NOT_RESTORING', walletId });
      expect((active as WalletStateError).shortMessage).toMatch(new RegExp(`Device ${deviceId} is active: it already holds its share, so there is no restore of it to approve`));

      const restoring = await restoringDevice(walletId);
      await store.revokeDevice(restoring.deviceId, 'nobody asked for this restore');
      await expect(attempt(async () => await store.approveRestore(restoring.deviceId, { actor: 'test' }))).rejects.toThrow(/is revoked \(nobody asked for this restore\), so there is no restore of it to approve/);
      await expect(attempt(async () => await store.approveRestore(newId(), { actor: 'test' }))).rejects.toThrow(NotFoundError);
      expect((await store.getDevice(restoring.deviceId))?.restoreApprovedAt).toBeUndefined();
      expect(await store.audit.list({ walletId, kind: 'approve' })).toHaveLength(0);
    });

    it('an approved device that restores keeps its approval time on record once active', async () => {
      const { walletId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      await store.approveRestore(restoring.deviceId, { actor: 'test' });
      await store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
      await store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 });
      expect(await store.getDevice(restoring.deviceId)).toMatchObject({ status: 'active', restoreApprovedAt: time.now() });
      await expect(attempt(async () => await store.approveRestore(restoring.deviceId, { actor: 'test' }))).rejects.toThrow(WalletStateError);
    });
  });

  describe('migration 4', () => {
    it.runIf(backend.name === 'sqlite')('adds the approval column to a version-3 database: its devices are unapproved', async () => {
      await store.close();
      const path = db.location + '.v3';
      const old = new Database(path);
      for (const migration of MIGRATIONS.slice(0, 3)) old.exec(migration);
      old.pragma('user_version = 3');
      const walletId = newId();
      const deviceId = newId();
      old.prepare("INSERT INTO wallets (wallet_id, threshold, parties, status, created_at, updated_at) VALUES (?, 2, '[1,2]', 'pending', 1, 1)").run(walletId);
      old.prepare("INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, 'restoring', 5)").run(deviceId, newIdentityKey(), walletId);
      old.close();
      store = openSqliteStore({ path, masterKey: newMasterKey(), now: time.now });
      const [device] = await store.listDevices(walletId);
      expect(device).toMatchObject({ deviceId, status: 'restoring', createdAt: 5 });
      expect(device?.restoreApprovedAt).toBeUndefined();
      expect((await store.approveRestore(deviceId, { actor: 'test' })).restoreApprovedAt).toBe(time.now());
    });
  });
});
