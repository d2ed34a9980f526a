import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './database.js';
import type { CosignerStore } from './types.js';
import { ConflictError, WalletStateError } from './errors.js';
import { MIGRATIONS } from './schema.js';
import { attempt, storeBackends, type BackendDatabase, clock, enrollActiveWallet, enrollRestoringDevice, GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, WALLET_ADDRESS } from './test-helpers.js';

const masterKey = newMasterKey();
let db: BackendDatabase;
let time: ReturnType<typeof clock>;
let store: CosignerStore;

async function activeWallet() {
  const wallet = await enrollActiveWallet(store);
  await store.putPresignature({ walletId: wallet.walletId, presignatureId: newId(), state: 'presignature-state' });
  return wallet;
}

async function restoringDevice(walletId: string) {
  return await enrollRestoringDevice(store, walletId);
}

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

  describe('restoring a wallet onto a new device', () => {
    it('enrolls a restoring device beside the active one, audited; the active device stays the one that signs', async () => {
      const { walletId, deviceId } = await activeWallet();
      time.advance(1000);
      const restoring = await restoringDevice(walletId);
      expect(restoring).toMatchObject({ walletId, status: 'restoring', createdAt: time.now() });
      expect((await store.listDevices(walletId)).map((d) => [d.deviceId, d.status])).toEqual([[deviceId, 'active'], [restoring.deviceId, 'restoring']]);
      expect((await store.getDeviceForWallet(walletId))?.deviceId).toBe(deviceId);
      expect((await store.audit.list({ walletId, kind: 'enroll' })).at(-1)).toMatchObject({ deviceId: restoring.deviceId, summary: { restore: true } });
    });

    it('refuses a restore enrollment into a wallet without a key, and an identity key already enrolled', async () => {
      const walletId = newId();
      await store.enroll({ walletId, deviceId: newId(), identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2, 3] });
      await expect(attempt(async () => await restoringDevice(walletId))).rejects.toThrow(WalletStateError);
      const active = await activeWallet();
      const key = (await store.getDevice(active.deviceId))!.identityPublicKey;
      await expect(attempt(async () => await store.createRestoringDevice({ deviceId: newId(), identityPublicKey: key, walletId: active.walletId }))).rejects.toThrow(ConflictError);
    });

    it('keeps the new share pending: the current share, its generation and the presignatures are untouched', async () => {
      const { walletId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      await store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
      expect(await store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
      expect((await store.getWallet(walletId))?.generation).toBe(0);
      expect(await store.countReadyPresignatures(walletId)).toBe(1);
      await expect(attempt(async () => await store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g2', generation: 2 }))).rejects.toThrow(/must produce 1/);
    });

    it('commits: new share current, presignatures dropped, the new device active and every other one revoked, audited once', async () => {
      const { walletId, deviceId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      await store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
      time.advance(1000);
      const { wallet, revoked } = await store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 });
      expect(wallet.generation).toBe(1);
      expect(revoked).toEqual([deviceId]);
      expect(await store.loadShare(walletId)).toBe('share-g1');
      expect(await store.countReadyPresignatures(walletId)).toBe(0);
      expect((await store.getDevice(restoring.deviceId))?.status).toBe('active');
      expect(await store.getDevice(deviceId)).toMatchObject({ status: 'revoked', revokedAt: time.now(), revokedReason: 'replaced by a restore from the recovery kit' });
      expect((await store.getDeviceForWallet(walletId))?.deviceId).toBe(restoring.deviceId);
      expect((await store.listRevokedSince(time.now())).map((d) => d.deviceId)).toEqual([deviceId]);
      const [entry] = await store.audit.list({ walletId, kind: 'restore' });
      expect(entry).toMatchObject({ deviceId: restoring.deviceId, summary: { generation: 1, previousGeneration: 0, presignaturesDropped: 1, revokedDevices: [deviceId] } });
      expect(await store.audit.list({ walletId, kind: 'revoke' })).toHaveLength(1);
      // A commit whose answer was lost is asked again: the same answer, nothing changes.
      expect(await store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 })).toMatchObject({ revoked: [] });
      expect(await store.audit.list({ walletId, kind: 'restore' })).toHaveLength(1);
      expect((await store.audit.verify()).ok).toBe(true);
    });

    it('refuses to commit without a pending share, for another generation, or for a revoked device', async () => {
      const { walletId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 }))).rejects.toThrow(/no restore waiting/);
      await store.putPendingShare({ walletId, deviceId: restoring.deviceId, share: 'share-g1', generation: 1 });
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 2 }))).rejects.toThrow(WalletStateError);
      await store.revokeDevice(restoring.deviceId, 'not the owner');
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId: restoring.deviceId, generation: 1 }))).rejects.toThrow(/revoked/);
      expect(await store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
    });

    it('a second restore enrollment supersedes the first: it is revoked and its pending share goes', async () => {
      const { walletId } = await activeWallet();
      const first = await restoringDevice(walletId);
      await store.putPendingShare({ walletId, deviceId: first.deviceId, share: 'share-g1', generation: 1 });
      const second = await restoringDevice(walletId);
      expect(await store.getDevice(first.deviceId)).toMatchObject({ status: 'revoked', revokedReason: 'superseded by a newer restore' });
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId: first.deviceId, generation: 1 }))).rejects.toThrow(/revoked/);
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId: second.deviceId, generation: 1 }))).rejects.toThrow(/no restore waiting/);
    });
  });

  describe('a new backup made by the device', () => {
    it('commits a 2-of-2 wallet as 2-of-3, keeps the device active, revokes a restore in progress, audited as a refresh', async () => {
      const walletId = newId();
      const deviceId = newId();
      await store.enroll({ walletId, deviceId, identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] });
      await store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: 'share-g0', generation: 0 });
      await store.putPendingShare({ walletId, deviceId, share: 'share-g1', generation: 1, kind: 'new-backup', parties: [1, 2, 3] });
      expect(await store.getWallet(walletId)).toMatchObject({ parties: [1, 2], generation: 0 });

      const committed = await store.commitPendingShare({ walletId, deviceId, generation: 1 });
      expect(committed).toMatchObject({ kind: 'new-backup', revoked: [], wallet: { parties: [1, 2, 3], generation: 1, status: 'active' } });
      expect(await store.loadShare(walletId)).toBe('share-g1');
      expect((await store.getDevice(deviceId))?.status).toBe('active');
      expect(await store.audit.list({ walletId, kind: 'restore' })).toHaveLength(0);
      expect(await store.audit.list({ walletId, kind: 'refresh' })).toMatchObject([{ deviceId, summary: { newBackup: true, parties: [1, 2, 3], previousParties: [1, 2], generation: 1 } }]);
    });

    it('revokes a device that was restoring from the old kit', async () => {
      const { walletId, deviceId } = await activeWallet();
      const restoring = await restoringDevice(walletId);
      await store.putPendingShare({ walletId, deviceId, share: 'share-g1', generation: 1, kind: 'new-backup' });
      expect((await store.commitPendingShare({ walletId, deviceId, generation: 1 })).revoked).toEqual([restoring.deviceId]);
      expect(await store.getDevice(restoring.deviceId)).toMatchObject({ status: 'revoked', revokedReason: 'its shares were replaced when the wallet made a new backup' });
      expect((await store.getWallet(walletId))?.parties).toEqual([1, 2, 3]);
    });

    it('refuses a kind or parties it does not know', async () => {
      const { walletId, deviceId } = await activeWallet();
      await expect(attempt(async () => await store.putPendingShare({ walletId, deviceId, share: 's', generation: 1, kind: 'other' as 'restore' }))).rejects.toThrow(/a restore or a new backup/);
      await expect(attempt(async () => await store.putPendingShare({ walletId, deviceId, share: 's', generation: 1, parties: [1, 3] as unknown as [1, 2] }))).rejects.toThrow(/parties/);
    });
  });

  describe('a commit names the run it commits', () => {
    it('is refused for the pending share of another run, and nothing changes; the right one commits', async () => {
      const { walletId, deviceId } = await activeWallet();
      await store.putPendingShare({ walletId, deviceId, share: 'share-g1-run-b', generation: 1, kind: 'refresh', sharesDigest: '0xbbbb' });
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId, generation: 1, sharesDigest: '0xaaaa' }))).rejects.toThrow(/another run/);
      await expect(attempt(async () => await store.commitPendingShare({ walletId, deviceId, generation: 1 }))).rejects.toThrow(/another run/);
      expect((await store.getWallet(walletId))?.generation).toBe(0);
      expect(await store.loadShare(walletId)).toBe(`share-g0-${walletId}`);
      expect((await store.commitPendingShare({ walletId, deviceId, generation: 1, sharesDigest: '0xbbbb' })).wallet.generation).toBe(1);
      expect(await store.loadShare(walletId)).toBe('share-g1-run-b');
    });
  });

  describe('a presignature made while the shares were replaced', () => {
    it('is refused when it names the generation before the commit, and stored when it names the current one', async () => {
      const { walletId, deviceId } = await activeWallet();
      await store.putPendingShare({ walletId, deviceId, share: 'share-g1', generation: 1, kind: 'refresh' });
      await store.commitPendingShare({ walletId, deviceId, generation: 1 });
      await expect(attempt(async () => await store.putPresignature({ walletId, presignatureId: newId(), state: 'made with generation 0', generation: 0 }))).rejects.toThrow(/generation 0 .* now holds 1/);
      expect(await store.countReadyPresignatures(walletId)).toBe(0);
      await store.putPresignature({ walletId, presignatureId: newId(), state: 'made with generation 1', generation: 1 });
      expect(await store.countReadyPresignatures(walletId)).toBe(1);
    });
  });

  describe('revoking a device', () => {
    it('revokes once, keeps why and who in the audit log, and answers the same the second time', async () => {
      const { walletId, deviceId } = await activeWallet();
      const revoked = await store.revokeDevice(deviceId, 'laptop stolen', { actor: 'operator' });
      expect(revoked).toMatchObject({ status: 'revoked', revokedReason: 'laptop stolen' });
      expect((await store.revokeDevice(deviceId, 'again')).revokedReason).toBe('laptop stolen');
      expect(await store.audit.list({ walletId, kind: 'revoke' })).toMatchObject([{ deviceId, summary: { reason: 'laptop stolen', actor: 'operator', previousStatus: 'active' } }]);
      expect(await store.getDeviceForWallet(walletId)).toBeUndefined();
    });
  });

  describe('migration 2', () => {
    it.runIf(backend.name === 'sqlite')('keeps the devices of a version-1 database, as active', async () => {
      await store.close();
      const path = db.location + '.v1';
      const old = new Database(path);
      old.exec(MIGRATIONS[0]!);
      old.pragma('user_version = 1');
      const walletId = newId();
      old.prepare("INSERT INTO wallets (wallet_id, threshold, parties, status, created_at, updated_at) VALUES (?, 2, '[1,2]', 'pending', 1, 1)").run(walletId);
      old.prepare('INSERT INTO devices (device_id, identity_public_key, wallet_id, created_at) VALUES (?, ?, ?, 5)').run(newId(), newIdentityKey(), walletId);
      old.close();
      store = openSqliteStore({ path, masterKey: newMasterKey(), now: time.now });
      expect(await store.listDevices(walletId)).toMatchObject([{ walletId, status: 'active', createdAt: 5 }]);
    });
  });
});
