/**
 * A restore must prove the backup share before the co-signer deals anything: its round 2 sends
 * evaluations of its polynomial to the new device and to the backup, which a restoring device runs
 * side by side, so whoever gets both learns the co-signer's share. Without a valid proof the
 * co-signer sends no protocol message at all, cancels the restore (the restoring device is
 * revoked) and audits the attempt. Real co-signer, embedded broker over TLS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_PARTY, COSIGNER_PARTY, DEVICE_PARTY, restoreProofContext } from '../channel/cosigner-protocol.js';
import { CosignerRefusedError, ProtocolConversation } from '../channel/protocol-conversation.js';
import type { DeviceFileContents } from '../client/device-file.js';
import { TandemDevice } from '../client/tandem-device.js';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { DkgParty, keyPublicInfo } from '../mpc/dkg.js';
import { exportKeyShare, importKeyShare, type KeyShare } from '../mpc/keyshare.js';
import { proveSharePossession } from '../mpc/share-proof.js';
import { startCosigner, type RunningCosigner } from './service.js';
import { rawDevice } from './testing/raw-device.js';

let dir: string;
let cosigner: RunningCosigner;
let original: TandemDevice;
let backup: KeyShare;
let files = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-restore-proof-'));
  cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '55'.repeat(32) }, restoreDelayMs: 0, log: () => undefined });
  original = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'original.json'), kind: '2of3' });
  backup = importKeyShare((await original.createKey()).backupShare!);
}, 60_000);

afterAll(async () => {
  await original?.close();
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A restoring device that sends the restore request by hand, with real round-1 messages of the
 * new device and the backup party, and the given proof. Resolves with what the co-signer answered.
 */
async function restoreWithProof(proofFor: (context: { session: Hex; walletId: string; deviceId: string }) => Hex): Promise<{ deviceId: string; answer: unknown }> {
  const file = join(dir, `restoring-${++files}.json`);
  const restoring = await TandemDevice.enrollForRestore({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, walletId: original.walletId, address: original.address, backupShare: exportKeyShare(backup) });
  await restoring.close();
  const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
  const { channel, transport } = await rawDevice(contents);
  try {
    const conversation = await channel.open({ walletId: contents.walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 20_000 });
    const link = new ProtocolConversation(conversation);
    const session = randomBytes(32);
    const sessionHex = `0x${bytesToHex(session)}` as Hex;
    const options = { session, parties: [DEVICE_PARTY, COSIGNER_PARTY, BACKUP_PARTY], dealers: [COSIGNER_PARTY, BACKUP_PARTY], key: keyPublicInfo(backup) };
    const round1 = [DkgParty.reshare({ ...options, partyId: DEVICE_PARTY }), DkgParty.reshare({ ...options, partyId: BACKUP_PARTY, share: backup })].flatMap((party) => party.start()).filter((message) => message.to === COSIGNER_PARTY);
    const backupProof = proofFor({ session: sessionHex, walletId: contents.walletId, deviceId: contents.deviceId });
    await link.send({ type: 'restore', session: sessionHex, generation: backup.generation, backupProof }, round1);
    // Whatever comes back: round-2 messages would be the leak; a refusal is the answer we want.
    link.deadline = Date.now() + 10_000;
    const answer = await link.receive(['mpc', 'reshare-ready']).catch((error: unknown) => error);
    conversation.close();
    return { deviceId: contents.deviceId, answer };
  } finally {
    await channel.close();
    await transport.close();
  }
}

function expectRefusedAndCancelled(outcome: { deviceId: string; answer: unknown }): void {
  expect(outcome.answer).toBeInstanceOf(CosignerRefusedError);
  expect((outcome.answer as CosignerRefusedError).code).toBe('BACKUP_PROOF_INVALID');
  expect(cosigner.store.getDevice(outcome.deviceId)).toMatchObject({ status: 'revoked', revokedReason: 'the restore did not prove the backup share' });
  expect(cosigner.store.getWallet(original.walletId)?.generation).toBe(0);
  const refusals = cosigner.store.audit.list({ walletId: original.walletId, kind: 'refuse' });
  expect(refusals.at(-1)?.summary).toMatchObject({ protocol: 'restore', deviceId: outcome.deviceId });
}

describe('a restore without a valid proof of the backup share', () => {
  it('with no proof at all: refused before the co-signer sends any protocol message, the restore cancelled', async () => {
    expectRefusedAndCancelled(await restoreWithProof(() => '0x' as Hex));
  }, 30_000);

  it("with junk of a proof's length: refused the same way", async () => {
    expectRefusedAndCancelled(await restoreWithProof(() => `0x${bytesToHex(randomBytes(65))}` as Hex));
  }, 30_000);

  it("with a proof made from the device's share instead of the backup's: refused", async () => {
    const deviceShare = original.deviceShare();
    const outcome = await restoreWithProof((context) => `0x${bytesToHex(proveSharePossession(deviceShare, restoreProofContext({ ...context, generation: 0 })))}` as Hex);
    expectRefusedAndCancelled(outcome);
  }, 30_000);

  it('with a real proof made for another session (a replay): refused', async () => {
    const outcome = await restoreWithProof((context) => {
      const other = `0x${bytesToHex(randomBytes(32))}` as Hex;
      return `0x${bytesToHex(proveSharePossession(backup, restoreProofContext({ ...context, session: other, generation: 0 })))}` as Hex;
    });
    expectRefusedAndCancelled(outcome);
  }, 30_000);

  it('with the real proof the co-signer deals, and the old device still signs after all those attempts', async () => {
    const outcome = await restoreWithProof((context) => `0x${bytesToHex(proveSharePossession(backup, restoreProofContext({ ...context, generation: 0 })))}` as Hex);
    // The co-signer answered with its next round: it dealt, which it did for none of the attempts above.
    expect(outcome.answer).toMatchObject({ header: { type: 'mpc' } });
    expect(cosigner.store.getDevice(outcome.deviceId)?.status).toBe('restoring');
    const text = 'the wallet is untouched';
    expect(await recoverMessageAddress({ message: text, signature: await original.signMessage(text) })).toBe(original.address);
  }, 30_000);
});

describe('enrolling to restore without the backup share', () => {
  it('is refused before anything is enrolled, and audited; a restore under way is not cancelled by it', async () => {
    const underWay = await TandemDevice.enrollForRestore({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, `restoring-${++files}.json`), walletId: original.walletId, address: original.address, backupShare: exportKeyShare(backup) });
    const devicesBefore = cosigner.store.listDevices(original.walletId).length;
    // Someone who read the kit's plaintext (wallet id, address) but holds another share of the wallet, not the backup.
    const refused = await TandemDevice.enrollForRestore({
      cosignerUrl: cosigner.url,
      caPem: cosigner.certPem,
      file: join(dir, `restoring-${++files}.json`),
      walletId: original.walletId,
      address: original.address,
      backupShare: exportKeyShare(original.deviceShare()),
    }).catch((error: unknown) => error);
    expect((refused as Error).message).toMatch(/does not hold the backup share of this wallet/);
    expect(cosigner.store.listDevices(original.walletId)).toHaveLength(devicesBefore);
    expect(cosigner.store.getDevice(underWay.deviceId)?.status).toBe('restoring');
    expect(cosigner.store.audit.list({ walletId: original.walletId, kind: 'refuse' }).at(-1)?.summary).toMatchObject({ protocol: 'restore-enroll', code: 'BAD_BACKUP_PROOF' });
    await underWay.close();
  }, 30_000);
});
