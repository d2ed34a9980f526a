/**
 * A new backup made by the device and the co-signer (no kit needed): a 2-of-2 wallet becomes
 * 2-of-3, a 2-of-3 wallet gets a fresh backup share; the address stays and every older share,
 * backup share and presignature dies. Cut off at each of its sends, it (and a refresh with the
 * kit, which is two-phase the same way) leaves the old shares in force; cut after the device saved
 * its new shares, the next run commits them. Real co-signer, embedded broker over TLS, devices
 * through the client library.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBackupWithCosigner, refreshWithCosigner } from '../channel/device-protocol.js';
import { CosignerRefusedError, ProtocolConversation } from '../channel/protocol-conversation.js';
import type { DeviceFileContents } from '../client/device-file.js';
import { TandemDevice } from '../client/tandem-device.js';
import { toViemSignature } from '../mpc/ethereum.js';
import { ShareMismatchError } from '../mpc/errors.js';
import { exportKeyShare, importKeyShare, type KeyShare } from '../mpc/keyshare.js';
import { reconstructPrivateKey, signWithLocalShares } from '../mpc/local-shares.js';
import { startCosigner, type RunningCosigner } from './service.js';
import { KilledBeforeSend } from './testing/killed-before-send.js';
import { rawDevice } from './testing/raw-device.js';

let dir: string;
let cosigner: RunningCosigner;
let wallets = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-new-backup-'));
  cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '44'.repeat(32) }, log: () => undefined });
}, 60_000);

afterAll(async () => {
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function newWallet(kind: '2of2' | '2of3'): Promise<{ device: TandemDevice; file: string; backup: string | undefined }> {
  const file = join(dir, `wallet-${++wallets}.json`);
  const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, kind });
  const { backupShare } = await device.createKey();
  return { device, file, backup: backupShare };
}

async function signsWithCosigner(device: TandemDevice, text: string): Promise<void> {
  expect(await recoverMessageAddress({ message: text, signature: await device.signMessage(text) })).toBe(device.address);
}

/** Device and backup, on their own: the signature must recover to the wallet. */
async function signsLocally(device: KeyShare, backup: KeyShare, address: string, text: string): Promise<void> {
  const payload = { kind: 'message' as const, message: text };
  const signature = toViemSignature(payload, signWithLocalShares(device, backup, payload).signature);
  expect(await recoverMessageAddress({ message: text, signature })).toBe(address);
}

function copyOf(file: string): string {
  const copy = `${file}.before`;
  copyFileSync(file, copy);
  return copy;
}

describe('a new backup made by the device and the co-signer', () => {
  it('upgrades a 2-of-2 wallet to 2-of-3: same address, a backup that signs with the device, the old device share refused', async () => {
    const { device, file } = await newWallet('2of2');
    const address = device.address;
    const before = copyOf(file);
    const oldShare = device.deviceShare();
    await device.presign(1);
    expect(cosigner.store.countReadyPresignatures(device.walletId)).toBe(1);

    let saved: string | undefined;
    const result = await device.newBackup(async (share) => {
      saved = share;
    });
    expect(result.address).toBe(address);
    expect(result.backupShare).toBe(saved);
    expect(device.isTwoOfThree).toBe(true);
    expect(device.presignatureCount).toBe(0);
    expect(cosigner.store.countReadyPresignatures(device.walletId)).toBe(0);
    expect(cosigner.store.getWallet(device.walletId)).toMatchObject({ parties: [1, 2, 3], generation: 1, status: 'active' });
    const [audited] = cosigner.store.audit.list({ walletId: device.walletId, kind: 'refresh' });
    expect(audited?.summary).toMatchObject({ newBackup: true, parties: [1, 2, 3], previousParties: [1, 2], generation: 1, previousGeneration: 0, presignaturesDropped: 1 });

    const backup = importKeyShare(saved!);
    expect(backup.partyId).toBe(3);
    await signsLocally(device.deviceShare(), backup, address, 'device and the new backup, no co-signer');
    await signsWithCosigner(device, 'device and co-signer after the upgrade');

    // The share from before is dead on both counts: the co-signer refuses it, and it does not combine with the new backup.
    await device.close();
    const stale = TandemDevice.open(before);
    const refused = await stale.signMessage('with the share from before').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CosignerRefusedError);
    expect((refused as CosignerRefusedError).code).toBe('STALE_SHARE');
    await stale.close();
    expect(() => reconstructPrivateKey(oldShare, backup)).toThrow(ShareMismatchError);
    const reopened = TandemDevice.open(file);
    await signsWithCosigner(reopened, 'the upgraded device still signs');
    await reopened.close();
  }, 60_000);

  it('gives a 2-of-3 wallet a fresh backup: the old backup no longer combines, the new one does', async () => {
    const { device, backup } = await newWallet('2of3');
    const address = device.address;
    const oldBackup = importKeyShare(backup!);
    await signsLocally(device.deviceShare(), oldBackup, address, 'with the first kit');

    const { backupShare } = await device.newBackup(async () => undefined);
    const newBackup = importKeyShare(backupShare);
    expect(newBackup.generation).toBe(oldBackup.generation + 1);
    expect(() => signWithLocalShares(device.deviceShare(), oldBackup, { kind: 'message', message: 'old kit' })).toThrow(ShareMismatchError);
    await signsLocally(device.deviceShare(), newBackup, address, 'with the new kit');
    await signsWithCosigner(device, 'with the co-signer after the new backup');
    expect(cosigner.store.getWallet(device.walletId)?.parties).toEqual([1, 2, 3]);
    await device.close();
  }, 60_000);

  it('is refused to a device whose share is behind the co-signer, before any protocol message', async () => {
    const { device, file } = await newWallet('2of3');
    const before = copyOf(file);
    await device.newBackup(async () => undefined);
    await device.close();
    const stale = TandemDevice.open(before);
    const refused = await stale.newBackup(async () => undefined).catch((error: unknown) => error);
    expect((refused as CosignerRefusedError).code).toBe('STALE_SHARE');
    expect(cosigner.store.getWallet(stale.walletId)?.generation).toBe(1);
    await stale.close();
  }, 60_000);
});

/**
 * Runs the new-backup protocol (or a refresh with the kit's `backup`) by hand with the wallet
 * file's device share, killed before send number `limit`.
 */
async function cutReshare(file: string, limit: number, refreshBackup?: string): Promise<{ sent: string[]; saved?: { device: KeyShare; backup: KeyShare } }> {
  const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
  const { channel, transport } = await rawDevice(contents);
  const conversation = await channel.open({ walletId: contents.walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 30_000 });
  const link = new KilledBeforeSend(conversation);
  link.limit = limit;
  let saved: { device: KeyShare; backup: KeyShare } | undefined;
  const device = importKeyShare(contents.share!);
  const run = refreshBackup
    ? refreshWithCosigner(link, { device, backup: importKeyShare(refreshBackup) }, async (refreshed) => {
        saved = { device: refreshed.device, backup: refreshed.backup! };
      })
    : newBackupWithCosigner(link, device, async (reshared) => {
        saved = reshared;
      });
  const outcome = await run.catch((error: unknown) => error);
  expect((outcome as Error).message).toBe('service worker killed');
  conversation.close();
  await channel.close();
  await transport.close();
  return { sent: link.sent, ...(saved ? { saved } : {}) };
}

describe('a new backup killed at each of its sends', () => {
  // Send 0 carries the request with round 1; send 1 rounds 2 and 3 (the local backup party answers the device's round 2 at once); send 2 round 4; send 3 is the commit.
  it.each([0, 1, 2, 3])('killed before send %i: the co-signer keeps generation 0, the old device and the old backup still sign', async (limit) => {
    const { device, file, backup } = await newWallet('2of3');
    const address = device.address;
    await device.close();
    const { sent, saved } = await cutReshare(file, limit);
    expect(sent).toEqual(['new-backup 1', 'mpc 2,3', 'mpc 4'].slice(0, limit));
    expect(saved !== undefined).toBe(limit === 3);
    const walletId = device.walletId;
    expect(cosigner.store.getWallet(walletId)).toMatchObject({ generation: 0, status: 'active' });
    expect(cosigner.store.audit.list({ walletId, kind: 'refresh' })).toHaveLength(0);

    const reopened = TandemDevice.open(file);
    await signsWithCosigner(reopened, `after a cut before send ${limit}`);
    await signsLocally(reopened.deviceShare(), importKeyShare(backup!), address, `the old kit after a cut before send ${limit}`);
    await reopened.close();
  }, 60_000);

  it('cut after the device saved its new shares: nothing changes until the next run, which commits exactly those shares', async () => {
    const { device, file } = await newWallet('2of3');
    const address = device.address;
    await device.close();
    const { saved } = await cutReshare(file, 3);
    const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
    // What DeviceSession.newBackup saves before it commits: the new shares, pending.
    writeFileSync(file, JSON.stringify({ ...contents, pendingShare: exportKeyShare(saved!.device), pendingBackupShare: exportKeyShare(saved!.backup) }), { mode: 0o600 });

    const resumed = TandemDevice.open(file);
    await signsWithCosigner(resumed, 'the pending new backup is not in force yet');
    expect(cosigner.store.getWallet(device.walletId)?.generation).toBe(0);
    let newKit: string | undefined;
    const result = await resumed.newBackup(async (share) => {
      newKit = share;
    });
    expect(result.address).toBe(address);
    expect(newKit).toBe(exportKeyShare(saved!.backup));
    expect(cosigner.store.getWallet(device.walletId)?.generation).toBe(1);
    expect(resumed.deviceShare().generation).toBe(1);
    await signsWithCosigner(resumed, 'after the resumed commit');
    await signsLocally(resumed.deviceShare(), saved!.backup, address, 'the saved backup is the new kit');
    await resumed.close();
  }, 60_000);
});

describe('a refresh with the kit killed at each of its sends', () => {
  // The same four sends: the request with round 1, rounds 2 and 3, round 4, then the commit.
  it.each([0, 1, 2, 3])('killed before send %i: the co-signer keeps generation 0, the old device and the old kit still sign', async (limit) => {
    const { device, file, backup } = await newWallet('2of3');
    const address = device.address;
    await device.close();
    const { sent, saved } = await cutReshare(file, limit, backup);
    expect(sent).toEqual(['refresh 1', 'mpc 2,3', 'mpc 4'].slice(0, limit));
    expect(saved !== undefined).toBe(limit === 3);
    expect(cosigner.store.getWallet(device.walletId)).toMatchObject({ generation: 0, status: 'active' });
    expect(cosigner.store.audit.list({ walletId: device.walletId, kind: 'refresh' })).toHaveLength(0);

    const reopened = TandemDevice.open(file);
    await signsWithCosigner(reopened, `after a refresh cut before send ${limit}`);
    await signsLocally(reopened.deviceShare(), importKeyShare(backup!), address, `the old kit after a refresh cut before send ${limit}`);
    await reopened.close();
  }, 60_000);

  it('cut after the device saved its new shares: the next refresh commits exactly those, and hands over the new backup share', async () => {
    const { device, file, backup } = await newWallet('2of3');
    await device.close();
    const { saved } = await cutReshare(file, 3, backup);
    const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
    writeFileSync(file, JSON.stringify({ ...contents, pendingShare: exportKeyShare(saved!.device), pendingBackupShare: exportKeyShare(saved!.backup) }), { mode: 0o600 });

    const resumed = TandemDevice.open(file);
    let written: string | undefined;
    const { backupShare } = await resumed.refresh({ backupShare: backup!, saveBackup: async (share) => void (written = share) });
    expect(backupShare).toBe(exportKeyShare(saved!.backup));
    expect(written).toBe(backupShare);
    expect(cosigner.store.getWallet(device.walletId)?.generation).toBe(1);
    await signsWithCosigner(resumed, 'after the resumed refresh');
    await signsLocally(resumed.deviceShare(), saved!.backup, resumed.address, 'the new kit after the resumed refresh');
    await resumed.close();
  }, 60_000);
});

describe("a re-sharing whose co-signer holds aside another run's shares", () => {
  it('is not committed by the device: it stops before saving anything, and the old shares stay in force', async () => {
    const { device, file } = await newWallet('2of3');
    await device.close();
    const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
    const { channel, transport } = await rawDevice(contents);
    // As if the co-signer's pending share came from another run: its digest names other public shares.
    class OtherRun extends ProtocolConversation {
      override async receive<H extends Parameters<ProtocolConversation['send']>[0]>(allowed: readonly H['type'][]) {
        const received = await super.receive<H>(allowed);
        if (received.header.type === 'reshare-ready') return { ...received, header: { ...received.header, sharesDigest: `0x${'ab'.repeat(32)}` } };
        return received;
      }
    }
    const conversation = await channel.open({ walletId: contents.walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 30_000 });
    let saved = false;
    const outcome = await newBackupWithCosigner(new OtherRun(conversation), importKeyShare(contents.share!), async () => {
      saved = true;
    }).catch((error: unknown) => error);
    expect((outcome as Error).message).toMatch(/another new backup run/);
    expect(saved).toBe(false);
    conversation.close();
    await channel.close();
    await transport.close();
    expect(cosigner.store.getWallet(contents.walletId)?.generation).toBe(0);
    const reopened = TandemDevice.open(file);
    await signsWithCosigner(reopened, 'the old shares after a mismatched re-sharing');
    await reopened.close();
  }, 60_000);
});
