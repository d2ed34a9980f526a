/**
 * A restore cut off at each of its steps (the device's worker killed before it sends rounds 1 to 4
 * of the re-sharing, or its commit) leaves exactly one consistent state: before the commit the old
 * shares are in force (the old device signs, the kit still restores); after the device saved its
 * new shares, running restore again commits them and revokes the old device. Real co-signer,
 * embedded broker over TLS, devices through the client library.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverMessageAddress } from 'viem';
import { restoreWithCosigner } from '../channel/device-protocol.js';
import type { DeviceFileContents } from '../client/device-file.js';
import { TandemDevice } from '../client/tandem-device.js';
import { exportKeyShare, importKeyShare, type KeyShare } from '../mpc/keyshare.js';
import { startCosigner, type RunningCosigner } from './service.js';
import { KilledBeforeSend } from './testing/killed-before-send.js';
import { rawDevice } from './testing/raw-device.js';

let dir: string;
let cosigner: RunningCosigner;
let original: TandemDevice;
let walletId: string;
let address: `0x${string}`;
let kit: string;
let files = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-restore-cut-'));
  cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '33'.repeat(32) }, restoreDelayMs: 0, log: () => undefined });
  original = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'original.json'), kind: '2of3' });
  const created = await original.createKey();
  address = created.address;
  kit = created.backupShare!;
  walletId = original.walletId;
}, 60_000);

afterAll(async () => {
  await original?.close();
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function enrollRestoring(): Promise<{ file: string; contents: DeviceFileContents }> {
  const file = join(dir, `restoring-${++files}.json`);
  const device = await TandemDevice.enrollForRestore({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, walletId, address, backupShare: kit });
  await device.close();
  return { file, contents: JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents };
}

/** Runs the restore protocol by hand on a fresh restoring device, killed before send number `limit`. */
async function cutRestore(limit: number): Promise<{ file: string; contents: DeviceFileContents; sent: string[]; saved?: { device: KeyShare; backup: KeyShare } }> {
  const { file, contents } = await enrollRestoring();
  const { channel, transport } = await rawDevice(contents);
  const conversation = await channel.open({ walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 30_000 });
  const link = new KilledBeforeSend(conversation);
  link.limit = limit;
  let saved: { device: KeyShare; backup: KeyShare } | undefined;
  const outcome = await restoreWithCosigner(
    link,
    importKeyShare(kit),
    async (restored) => {
      saved = restored;
    },
    contents.deviceId,
  ).catch((error: unknown) => error);
  expect((outcome as Error).message).toBe('service worker killed');
  conversation.close();
  await channel.close();
  await transport.close();
  return { file, contents, sent: link.sent, ...(saved ? { saved } : {}) };
}

async function oldDeviceSigns(text: string): Promise<void> {
  expect(await recoverMessageAddress({ message: text, signature: await original.signMessage(text) })).toBe(address);
}

describe('a restore killed before the commit', () => {
  // Send 0 carries the request with round 1; send 1 rounds 2 and 3 (the local backup party answers the device's round 2 at once); send 2 round 4; send 3 is the commit.
  it.each([0, 1, 2])('killed before send %i of the re-sharing: the co-signer keeps generation 0, the old device still signs', async (limit) => {
    const { saved, sent } = await cutRestore(limit);
    expect(sent).toEqual(['restore 1', 'mpc 2,3', 'mpc 4'].slice(0, limit));
    expect(saved).toBeUndefined();
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(0);
    expect(cosigner.store.audit.list({ walletId, kind: 'restore' })).toHaveLength(0);
    await oldDeviceSigns(`after a cut before send ${limit}`);
  }, 30_000);
});

describe('a restore killed after the device saved its new shares, before its commit left', () => {
  it('changes nothing until the restore is run again, which commits the saved shares and revokes the old device', async () => {
    const { file, contents, saved, sent } = await cutRestore(3);
    expect(sent).toEqual(['restore 1', 'mpc 2,3', 'mpc 4']);
    expect(saved).toBeDefined();
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(0);
    await oldDeviceSigns('the pending restore is not in force yet');

    // What TandemDevice.restore saves before it commits: the new shares, pending.
    writeFileSync(file, JSON.stringify({ ...contents, pendingShare: exportKeyShare(saved!.device), pendingBackupShare: exportKeyShare(saved!.backup) }), { mode: 0o600 });
    const resumed = TandemDevice.open(file);
    let newKit: string | undefined;
    const result = await resumed.restore(kit, async (share) => {
      newKit = share;
    });
    expect(result.address).toBe(address);
    expect(newKit).toBe(exportKeyShare(saved!.backup));
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(1);
    const text = 'signed by the restored device';
    expect(await recoverMessageAddress({ message: text, signature: await resumed.signMessage(text) })).toBe(address);
    await resumed.close();

    const refused = await original.signMessage('the old device after the restore').catch((error: unknown) => error);
    expect(['DEVICE_REVOKED', 'CHANNEL_DEVICE_REVOKED']).toContain((refused as { code?: string }).code);
    const statuses = cosigner.store.listDevices(walletId).map((device) => device.status);
    expect(statuses.filter((status) => status === 'active')).toHaveLength(1);
    expect(statuses.filter((status) => status === 'restoring')).toHaveLength(0);
  }, 60_000);
});
