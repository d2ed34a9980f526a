import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePath, openSqliteStore, type SqliteCosignerStore } from './database.js';
import { ConflictError, WalletStateError } from './errors.js';
import { MIGRATIONS } from './schema.js';
import { clock, enrollActiveWallet, enrollRestoringDevice, GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, tempDir, WALLET_ADDRESS } from './test-helpers.js';

let dir: ReturnType<typeof tempDir>;
let time: ReturnType<typeof clock>;
let store: SqliteCosignerStore;

beforeEach(() => {
  dir = tempDir();
  time = clock();
  store = openSqliteStore({ path: databasePath(dir.path), masterKey: newMasterKey(), now: time.now });
});
afterEach(() => {
  store.close();
  dir.remove();
});

function activeWallet() {
  const wallet = enrollActiveWallet(store);
  store.putPresignature({ walletId: wallet.walletId, presignatureId: newId(), state: 'presignature-state' });
  return wallet;
}

function restoringDevice(walletId: string) {
  return enrollRestoringDevice(store, walletId);
}

describe('restoring a wallet onto a new device', () => {
  it('enrolls a restoring device beside the active one, audited; the active device stays the one that signs', () => {
    const { walletId, deviceId } = activeWallet();
    time.advance(1000);
    const restoring = restoringDevice(walletId);
    expect(restoring).toMatchObject({ walletId, status: 'restoring', createdAt: time.now() });
    expect(store.listDevices(walletId).map((d) => [d.deviceId, d.status])).toEqual([[deviceId, 'active'], [restoring.deviceId, 'restoring']]);
    expect(store.getDeviceForWallet(walletId)?.deviceId).toBe(deviceId);
    expect(store.audit.list({ walletId, kind: 'enroll' }).at(-1)).toMatchObject({ deviceId: restoring.deviceId, summary: { restore: true } });
  });

  it('refuses a restore enrollment into a wallet without a key, and an identity key already enrolled', () => {
    const walletId = newId();
    store.enroll({ walletId, deviceId: newId(), identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2, 3] });
    expect(() => restoringDevice(walletId)).toThrow(WalletStateError);
    const active = activeWallet();
    const key = store.getDevice(active.deviceId)!.identityPublicKey;
    expect(() => store.createRestoringDevice({ deviceId: newId(), identityPublicKey: key, walletId: active.walletId })).toThrow(ConflictError);
  });

  it('keeps the new share pending: the current share, its generation and the presignatures are untouched', () => {
    const { walletId } = activeWallet();
    const restoring = restoringDevice(walletId);
    store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
    expect(store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
    expect(store.getWallet(walletId)?.generation).toBe(0);
    expect(store.countReadyPresignatures(walletId)).toBe(1);
    expect(() => store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g2', generation: 2 })).toThrow(/must produce 1/);
  });

  it('commits: new share current, presignatures dropped, the new device active and every other one revoked, audited once', () => {
    const { walletId, deviceId } = activeWallet();
    const restoring = restoringDevice(walletId);
    store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
    time.advance(1000);
    const { wallet, revoked } = store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 });
    expect(wallet.generation).toBe(1);
    expect(revoked).toEqual([deviceId]);
    expect(store.loadShare(walletId)).toBe('share-g1');
    expect(store.countReadyPresignatures(walletId)).toBe(0);
    expect(store.getDevice(restoring.deviceId)?.status).toBe('active');
    expect(store.getDevice(deviceId)).toMatchObject({ status: 'revoked', revokedAt: time.now(), revokedReason: 'replaced by a restore from the recovery kit' });
    expect(store.getDeviceForWallet(walletId)?.deviceId).toBe(restoring.deviceId);
    expect(store.listRevokedSince(time.now()).map((d) => d.deviceId)).toEqual([deviceId]);
    const [entry] = store.audit.list({ walletId, kind: 'restore' });
    expect(entry).toMatchObject({ deviceId: restoring.deviceId, summary: { generation: 1, previousGeneration: 0, presignaturesDropped: 1, revokedDevices: [deviceId] } });
    expect(store.audit.list({ walletId, kind: 'revoke' })).toHaveLength(1);
    // A commit whose answer was lost is asked again: the same answer, nothing changes.
    expect(store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 })).toMatchObject({ revoked: [] });
    expect(store.audit.list({ walletId, kind: 'restore' })).toHaveLength(1);
    expect(store.audit.verify().ok).toBe(true);
  });

  it('refuses to commit without a pending share, for another generation, or for a revoked device', () => {
    const { walletId } = activeWallet();
    const restoring = restoringDevice(walletId);
    expect(() => store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 })).toThrow(/no restore waiting/);
    store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
    expect(() => store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 2 })).toThrow(WalletStateError);
    store.revokeDevice(restoring.deviceId, 'not the owner');
    expect(() => store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 })).toThrow(/revoked/);
    expect(store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
  });

  it('a second restore enrollment supersedes the first: it is revoked and its pending share goes', () => {
    const { walletId } = activeWallet();
    const first = restoringDevice(walletId);
    store.putPendingShare({ walletId, deviceId: first.deviceId, share: 'share-g1', generation: 1 });
    const second = restoringDevice(walletId);
    expect(store.getDevice(first.deviceId)).toMatchObject({ status: 'revoked', revokedReason: 'superseded by a newer restore' });
    expect(() => store.commitPendingShare({ walletId, deviceId: first.deviceId, generation: 1 })).toThrow(/revoked/);
    expect(() => store.commitPendingShare({ walletId, deviceId: second.deviceId, generation: 1 })).toThrow(/no restore waiting/);
  });
});

describe('a new backup made by the device', () => {
  it('commits a 2-of-2 wallet as 2-of-3, keeps the device active, revokes a restore in progress, audited as a refresh', () => {
    const walletId = newId();
    const deviceId = newId();
    store.enroll({ walletId, deviceId, identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] });
    store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: 'share-g0', generation: 0 });
    store.putPendingShare({ walletId, deviceId, share: 'share-g1', generation: 1, kind: 'new-backup', parties: [1, 2, 3] });
    expect(store.getWallet(walletId)).toMatchObject({ parties: [1, 2], generation: 0 });

    const committed = store.commitPendingShare({ walletId, deviceId, generation: 1 });
    expect(committed).toMatchObject({ kind: 'new-backup', revoked: [], wallet: { parties: [1, 2, 3], generation: 1, status: 'active' } });
    expect(store.loadShare(walletId)).toBe('share-g1');
    expect(store.getDevice(deviceId)?.status).toBe('active');
    expect(store.audit.list({ walletId, kind: 'restore' })).toHaveLength(0);
    expect(store.audit.list({ walletId, kind: 'refresh' })).toMatchObject([{ deviceId, summary: { newBackup: true, parties: [1, 2, 3], previousParties: [1, 2], generation: 1 } }]);
  });

  it('revokes a device that was restoring from the old kit', () => {
    const { walletId, deviceId } = activeWallet();
    const restoring = restoringDevice(walletId);
    store.putPendingShare({ walletId, deviceId, share: 'share-g1', generation: 1, kind: 'new-backup' });
    expect(store.commitPendingShare({ walletId, deviceId, generation: 1 }).revoked).toEqual([restoring.deviceId]);
    expect(store.getDevice(restoring.deviceId)).toMatchObject({ status: 'revoked', revokedReason: 'its shares were replaced when the wallet made a new backup' });
    expect(store.getWallet(walletId)?.parties).toEqual([1, 2, 3]);
  });

  it('refuses a kind or parties it does not know', () => {
    const { walletId, deviceId } = activeWallet();
    expect(() => store.putPendingShare({ walletId, deviceId, share: 's', generation: 1, kind: 'other' as 'restore' })).toThrow(/a restore or a new backup/);
    expect(() => store.putPendingShare({ walletId, deviceId, share: 's', generation: 1, parties: [1, 3] as unknown as [1, 2] })).toThrow(/parties/);
  });
});

describe('a commit names the run it commits', () => {
  it('is refused for the pending share of another run, and nothing changes; the right one commits', () => {
    const { walletId, deviceId } = activeWallet();
    store.putPendingShare({ walletId, deviceId, share: 'share-g1-run-b', generation: 1, kind: 'refresh', sharesDigest: '0xbbbb' });
    expect(() => store.commitPendingShare({ walletId, deviceId, generation: 1, sharesDigest: '0xaaaa' })).toThrow(/another run/);
    expect(() => store.commitPendingShare({ walletId, deviceId, generation: 1 })).toThrow(/another run/);
    expect(store.getWallet(walletId)?.generation).toBe(0);
    expect(store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
    expect(store.commitPendingShare({ walletId, deviceId, generation: 1, sharesDigest: '0xbbbb' }).wallet.generation).toBe(1);
    expect(store.loadShare(walletId)).toBe('share-g1-run-b');
  });
});

describe('a presignature made while the shares were replaced', () => {
  it('is refused when it names the generation before the commit, and stored when it names the current one', () => {
    const { walletId, deviceId } = activeWallet();
    store.putPendingShare({ walletId, deviceId, share: 'share-g1', generation: 1, kind: 'refresh' });
    store.commitPendingShare({ walletId, deviceId, generation: 1 });
    expect(() => store.putPresignature({ walletId, presignatureId: newId(), state: 'made with generation 0', generation: 0 })).toThrow(/generation 0 .* now holds 1/);
    expect(store.countReadyPresignatures(walletId)).toBe(0);
    store.putPresignature({ walletId, presignatureId: newId(), state: 'made with generation 1', generation: 1 });
    expect(store.countReadyPresignatures(walletId)).toBe(1);
  });
});

describe('revoking a device', () => {
  it('revokes once, keeps why and who in the audit log, and answers the same the second time', () => {
    const { walletId, deviceId } = activeWallet();
    const revoked = store.revokeDevice(deviceId, 'laptop stolen', { actor: 'operator' });
    expect(revoked).toMatchObject({ status: 'revoked', revokedReason: 'laptop stolen' });
    expect(store.revokeDevice(deviceId, 'again').revokedReason).toBe('laptop stolen');
    expect(store.audit.list({ walletId, kind: 'revoke' })).toMatchObject([{ deviceId, summary: { reason: 'laptop stolen', actor: 'operator', previousStatus: 'active' } }]);
    expect(store.getDeviceForWallet(walletId)).toBeUndefined();
  });
});

describe('migration 2', () => {
  it('keeps the devices of a version-1 database, as active', () => {
    store.close();
    const path = databasePath(dir.path) + '.v1';
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    const walletId = newId();
    db.prepare("INSERT INTO wallets (wallet_id, threshold, parties, status, created_at, updated_at) VALUES (?, 2, '[1,2]', 'pending', 1, 1)").run(walletId);
    db.prepare('INSERT INTO devices (device_id, identity_public_key, wallet_id, created_at) VALUES (?, ?, ?, 5)').run(newId(), newIdentityKey(), walletId);
    db.close();
    store = openSqliteStore({ path, masterKey: newMasterKey(), now: time.now });
    expect(store.listDevices(walletId)).toMatchObject([{ walletId, status: 'active', createdAt: 5 }]);
  });
});
