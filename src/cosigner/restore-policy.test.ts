/**
 * Per-wallet restore policy: restoreDelayMinutes overrides the co-signer-wide restore delay (both
 * ways), and restoreNeedsOperator holds a restore until an operator approved the restoring device,
 * while the device waits and asks again. Real co-signer, embedded broker over TLS, devices through
 * the client library.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTORE_APPROVAL_POLL_MS } from '../channel/device-session.js';
import { TandemDevice } from '../client/tandem-device.js';
import { startCosigner, type RunningCosigner } from './service.js';

/** An hour: no test here could wait it out, so a restore that runs did not wait for it. */
const COSIGNER_RESTORE_DELAY_MS = 3_600_000;

let dir: string;
let cosigner: RunningCosigner;
let files = 0;
const devices: TandemDevice[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-restore-policy-'));
  cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '44'.repeat(32) }, restoreDelayMs: COSIGNER_RESTORE_DELAY_MS, log: () => undefined });
}, 60_000);

afterAll(async () => {
  for (const device of devices) await device.close().catch(() => undefined);
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A 2-of-3 wallet with the given policy: its device, address and recovery kit. */
async function walletWithPolicy(policy: Record<string, unknown>): Promise<{ original: TandemDevice; walletId: string; address: `0x${string}`; kit: string }> {
  const original = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, `original-${++files}.json`), kind: '2of3' });
  devices.push(original);
  const { address, backupShare } = await original.createKey();
  cosigner.store.setPolicy(original.walletId, policy, { actor: 'test' });
  return { original, walletId: original.walletId, address, kit: backupShare! };
}

async function enrollRestoring(walletId: string, address: `0x${string}`, kit: string): Promise<TandemDevice> {
  const device = await TandemDevice.enrollForRestore({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, `restoring-${++files}.json`), walletId, address, backupShare: kit });
  devices.push(device);
  return device;
}

async function signsFor(device: TandemDevice, address: `0x${string}`, text: string): Promise<void> {
  expect(await recoverMessageAddress({ message: text, signature: await device.signMessage(text) })).toBe(address);
}

type Delay = { readyAt: number; reason: string; code: string; at: number };

describe('restoreDelayMinutes', () => {
  it('0 restores at once although the co-signer-wide delay is an hour', async () => {
    const { original, walletId, address, kit } = await walletWithPolicy({ restoreDelayMinutes: 0 });
    const restoring = await enrollRestoring(walletId, address, kit);
    const delays: Delay[] = [];
    let newKit: string | undefined;
    const result = await restoring.restore(
      kit,
      async (share) => void (newKit = share),
      (readyAt, reason, code) => delays.push({ readyAt, reason, code, at: Date.now() }),
    );
    expect(delays).toEqual([]);
    expect(result).toEqual({ address, backupShare: newKit });
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(1);
    expect(cosigner.store.getDevice(original.deviceId)?.status).toBe('revoked');
    await signsFor(restoring, address, 'restored without the co-signer-wide delay');
  }, 60_000);

  it("a shorter delay than the co-signer's is the one the device is told to wait for; closing the device ends the wait", async () => {
    const { walletId, address, kit } = await walletWithPolicy({ restoreDelayMinutes: 2 });
    const restoring = await enrollRestoring(walletId, address, kit);
    const enrolledAt = cosigner.store.getDevice(restoring.deviceId)!.createdAt;
    const delays: Delay[] = [];
    let delayed!: () => void;
    const firstDelay = new Promise<void>((resolve) => (delayed = resolve));
    const running = restoring
      .restore(kit, async () => undefined, (readyAt, reason, code) => {
        delays.push({ readyAt, reason, code, at: Date.now() });
        delayed();
      })
      .catch((error: unknown) => error);
    await firstDelay;
    expect(delays).toEqual([{ readyAt: enrolledAt + 120_000, reason: expect.stringMatching(/runs a restore 120 s after it was requested/), code: 'RESTORE_DELAYED', at: expect.any(Number) }]);

    // Not the two minutes (nor the hour): close() cuts the wait short, and nothing changed.
    const closing = Date.now();
    await restoring.close();
    expect(await running).toMatchObject({ code: 'CHANNEL_CLOSED' });
    expect(Date.now() - closing).toBeLessThan(5_000);
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(0);
    expect(cosigner.store.getDevice(restoring.deviceId)?.status).toBe('restoring');
  }, 60_000);
});

describe('restoreNeedsOperator', () => {
  it('holds the restore, the device waits and asks again, and the same restore() completes once the operator approved', async () => {
    const { original, walletId, address, kit } = await walletWithPolicy({ restoreDelayMinutes: 0, restoreNeedsOperator: true });
    const restoring = await enrollRestoring(walletId, address, kit);
    const { deviceId } = restoring;
    const delays: Delay[] = [];
    const waiters: { count: number; resolve: () => void }[] = [];
    const delayCount = (count: number) => new Promise<void>((resolve) => waiters.push({ count, resolve }));
    let newKit: string | undefined;
    let settled = false;
    const running = restoring
      .restore(
        kit,
        async (share) => void (newKit = share),
        (readyAt, reason, code) => {
          delays.push({ readyAt, reason, code, at: Date.now() });
          for (const waiter of waiters) if (delays.length >= waiter.count) waiter.resolve();
        },
      )
      .finally(() => (settled = true));

    // Asked twice, told twice, still waiting: nothing has changed.
    await delayCount(2);
    expect(settled).toBe(false);
    for (const delay of delays) {
      expect(delay.code).toBe('RESTORE_NEEDS_APPROVAL');
      expect(delay.reason).toBe(
        `This wallet's policy needs the co-signer's operator to approve this restore (device ${deviceId}); ask them to run: npm run cosigner -- devices approve-restore ${deviceId}. Nothing has changed.`,
      );
      expect(delay.readyAt - delay.at).toBeGreaterThan(RESTORE_APPROVAL_POLL_MS - 1_000);
      expect(delay.readyAt - delay.at).toBeLessThanOrEqual(RESTORE_APPROVAL_POLL_MS);
    }
    expect(delays[1]!.at - delays[0]!.at).toBeGreaterThanOrEqual(RESTORE_APPROVAL_POLL_MS);
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(0);
    expect(cosigner.store.getDevice(deviceId)?.status).toBe('restoring');
    await signsFor(original, address, 'the old device signs while the restore waits for approval');

    const approvedAt = Date.now();
    cosigner.store.approveRestore(deviceId, { actor: 'test' });
    const result = await running;
    expect(Date.now() - approvedAt).toBeLessThan(RESTORE_APPROVAL_POLL_MS + 10_000);
    expect(result).toEqual({ address, backupShare: newKit });
    expect(cosigner.store.getWallet(walletId)?.generation).toBe(1);
    expect(cosigner.store.getDevice(deviceId)).toMatchObject({ status: 'active', restoreApprovedAt: expect.any(Number) });
    expect(cosigner.store.getDevice(original.deviceId)).toMatchObject({ status: 'revoked', revokedReason: 'replaced by a restore from the recovery kit' });
    expect(cosigner.store.audit.list({ walletId, kind: 'approve' })).toMatchObject([{ deviceId, summary: { action: 'approve-restore', deviceId, actor: 'test' } }]);
    expect(cosigner.store.audit.list({ walletId, kind: 'restore' })).toMatchObject([{ deviceId, summary: { generation: 1, previousGeneration: 0, revokedDevices: [original.deviceId] } }]);
    expect(cosigner.store.audit.verify().ok).toBe(true);
    await signsFor(restoring, address, 'restored after the operator approved');
  }, 90_000);
});
