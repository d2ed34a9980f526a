/**
 * A co-signer process that restarts while a device waits on it: the request goes out while it is
 * down, the restarted process has lost that conversation, and the device signs once more on a new
 * one (fresh presignature, same payload) instead of waiting out its deadline. And a device that
 * restarted several times (conversations it could not close) is never locked out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverMessageAddress } from 'viem';
import { TandemDevice } from '../client/tandem-device.js';
import { startCosigner, type CosignerConfig, type RunningCosigner } from './service.js';

let dir: string;
let config: CosignerConfig;
let cosigner: RunningCosigner;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-restart-'));
  config = { dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '42'.repeat(32) }, log: () => undefined };
  cosigner = await startCosigner(config);
  config.port = Number(new URL(cosigner.url).port);
});

afterAll(async () => {
  await cosigner?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a co-signer restart', () => {
  it('a request sent while it was down is signed soon after it is back, not at its expiry', async () => {
    const file = join(dir, 'restart.json');
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, kind: '2of2' }, { requestTimeoutMs: 60_000 });
    const { address } = await device.createKey();
    await device.presign(1);
    await cosigner.stop();
    const pending = device.signMessage('sent while the co-signer was down');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    cosigner = await startCosigner(config);
    const restartedAt = Date.now();
    const signature = await pending;
    expect(Date.now() - restartedAt).toBeLessThan(20_000);
    expect(await recoverMessageAddress({ message: 'sent while the co-signer was down', signature })).toBe(address);
    // The pooled presignature taken by the first attempt is gone for good; the next signature still works.
    expect(device.presignatureCount).toBe(0);
    expect(await recoverMessageAddress({ message: 'and the next one', signature: await device.signMessage('and the next one') })).toBe(address);
    await device.close();
  });

  it('a device that left more conversations open than allowed (restarts) still gets a new one', async () => {
    const file = join(dir, 'many.json');
    const first = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, kind: '2of2' }, { requestTimeoutMs: 20_000 });
    const { address } = await first.createKey();
    // Each TandemDevice.open is a new process as far as the co-signer knows; none of them says goodbye.
    const abandoned: TandemDevice[] = [first];
    for (let i = 0; i < 5; i++) {
      const device = TandemDevice.open(file, { requestTimeoutMs: 20_000 });
      await device.signMessage(`conversation ${i}`);
      abandoned.push(device);
    }
    const last = TandemDevice.open(file, { requestTimeoutMs: 20_000 });
    expect(await recoverMessageAddress({ message: 'still served', signature: await last.signMessage('still served') })).toBe(address);
    await last.close();
    for (const device of abandoned) await device.close().catch(() => undefined);
  });

  it("another device of the wallet opening many conversations never closes the wallet's device's one", async () => {
    const owner = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'owner.json'), kind: '2of3' }, { requestTimeoutMs: 10_000 });
    const { address, backupShare } = await owner.createKey();
    expect(await recoverMessageAddress({ message: 'before', signature: await owner.signMessage('before') })).toBe(address);
    // A device enrolled to restore the wallet (from its kit) opens conversation after conversation.
    const restoringFile = join(dir, 'intruder.json');
    await (await TandemDevice.enrollForRestore({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: restoringFile, walletId: owner.walletId, address, backupShare: backupShare! })).close();
    for (let i = 0; i < 6; i++) {
      const intruder = TandemDevice.open(restoringFile, { requestTimeoutMs: 5_000 });
      await intruder.presign(1).catch(() => undefined);
      await intruder.close().catch(() => undefined);
    }
    // The owner's conversation from before is still the one it uses, and it answers at once.
    const started = Date.now();
    expect(await recoverMessageAddress({ message: 'after', signature: await owner.signMessage('after') })).toBe(address);
    expect(Date.now() - started).toBeLessThan(5_000);
    await owner.close();
  });
});
