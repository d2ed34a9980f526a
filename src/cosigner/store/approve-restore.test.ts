/**
 * An operator's approval of a restoring device (for wallets whose policy has restoreNeedsOperator):
 * only a device still restoring can be approved, the approval is durable and audited once.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePath, openSqliteStore, type SqliteCosignerStore } from './database.js';
import { NotFoundError, WalletStateError } from './errors.js';
import { MIGRATIONS } from './schema.js';
import { clock, enrollActiveWallet, enrollRestoringDevice, newId, newIdentityKey, newMasterKey, tempDir } from './test-helpers.js';

let dir: ReturnType<typeof tempDir>;
let time: ReturnType<typeof clock>;
let store: SqliteCosignerStore;
const masterKey = newMasterKey();

beforeEach(() => {
  dir = tempDir();
  time = clock();
  store = openSqliteStore({ path: databasePath(dir.path), masterKey, now: time.now });
});
afterEach(() => {
  store.close();
  dir.remove();
});

const activeWallet = () => enrollActiveWallet(store);
const restoringDevice = (walletId: string) => enrollRestoringDevice(store, walletId);

describe('approving a restore', () => {
  it('marks a restoring device approved, durably, audited as approve with who did it; a second approval changes nothing', () => {
    const { walletId } = activeWallet();
    const restoring = restoringDevice(walletId);
    expect(restoring.restoreApprovedAt).toBeUndefined();
    time.advance(5_000);
    const approved = store.approveRestore(restoring.deviceId, { actor: 'alice' });
    expect(approved).toMatchObject({ deviceId: restoring.deviceId, status: 'restoring', restoreApprovedAt: time.now() });
    expect(store.getDevice(restoring.deviceId)?.restoreApprovedAt).toBe(time.now());
    expect(store.listDevices(walletId).find((d) => d.deviceId === restoring.deviceId)?.restoreApprovedAt).toBe(time.now());
    expect(store.audit.list({ walletId, kind: 'approve' })).toMatchObject([
      { deviceId: restoring.deviceId, summary: { action: 'approve-restore', deviceId: restoring.deviceId, actor: 'alice' } },
    ]);

    time.advance(5_000);
    expect(store.approveRestore(restoring.deviceId, { actor: 'bob' }).restoreApprovedAt).toBe(time.now() - 5_000);
    expect(store.audit.list({ walletId, kind: 'approve' })).toHaveLength(1);
    expect(store.audit.verify().ok).toBe(true);

    // Durable: a new connection (a restarted co-signer, or the CLI) sees it.
    store.close();
    store = openSqliteStore({ path: databasePath(dir.path), masterKey, now: time.now });
    expect(store.getDevice(restoring.deviceId)?.restoreApprovedAt).toBe(time.now() - 5_000);
  });

  it('defaults the actor to "operator"', () => {
    const { walletId } = activeWallet();
    const restoring = restoringDevice(walletId);
    store.approveRestore(restoring.deviceId);
    expect(store.audit.list({ walletId, kind: 'approve' }).at(-1)?.summary.actor).toBe('operator');
  });

  it('refuses an active device, a revoked one and an unknown one with a typed error, and writes nothing', () => {
    const { walletId, deviceId } = activeWallet();
    const active = (() => {
      try {
        store.approveRestore(deviceId, { actor: 'test' });
      } catch (error) {
        return error;
      }
    })();
    expect(active).toBeInstanceOf(WalletStateError);
    expect(active).toMatchObject({ code: 'DEVICE_NOT_RESTORING', walletId });
    expect((active as WalletStateError).shortMessage).toMatch(new RegExp(`Device ${deviceId} is active: it already holds its share, so there is no restore of it to approve`));

    const restoring = restoringDevice(walletId);
    store.revokeDevice(restoring.deviceId, 'nobody asked for this restore');
    expect(() => store.approveRestore(restoring.deviceId, { actor: 'test' })).toThrow(/is revoked \(nobody asked for this restore\), so there is no restore of it to approve/);
    expect(() => store.approveRestore(newId(), { actor: 'test' })).toThrow(NotFoundError);
    expect(store.getDevice(restoring.deviceId)?.restoreApprovedAt).toBeUndefined();
    expect(store.audit.list({ walletId, kind: 'approve' })).toHaveLength(0);
  });

  it('an approved device that restores keeps its approval time on record once active', () => {
    const { walletId } = activeWallet();
    const restoring = restoringDevice(walletId);
    store.approveRestore(restoring.deviceId, { actor: 'test' });
    store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
    store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 });
    expect(store.getDevice(restoring.deviceId)).toMatchObject({ status: 'active', restoreApprovedAt: time.now() });
    expect(() => store.approveRestore(restoring.deviceId, { actor: 'test' })).toThrow(WalletStateError);
  });
});

describe('migration 4', () => {
  it('adds the approval column to a version-3 database: its devices are unapproved', () => {
    store.close();
    const path = databasePath(dir.path) + '.v3';
    const db = new Database(path);
    for (const migration of MIGRATIONS.slice(0, 3)) db.exec(migration);
    db.pragma('user_version = 3');
    const walletId = newId();
    const deviceId = newId();
    db.prepare("INSERT INTO wallets (wallet_id, threshold, parties, status, created_at, updated_at) VALUES (?, 2, '[1,2]', 'pending', 1, 1)").run(walletId);
    db.prepare("INSERT INTO devices (device_id, identity_public_key, wallet_id, status, created_at) VALUES (?, ?, ?, 'restoring', 5)").run(deviceId, newIdentityKey(), walletId);
    db.close();
    store = openSqliteStore({ path, masterKey: newMasterKey(), now: time.now });
    const [device] = store.listDevices(walletId);
    expect(device).toMatchObject({ deviceId, status: 'restoring', createdAt: 5 });
    expect(device?.restoreApprovedAt).toBeUndefined();
    expect(store.approveRestore(deviceId, { actor: 'test' }).restoreApprovedAt).toBe(time.now());
  });
});
