/**
 * A policy that requires a key refresh every N days, end to end: a running co-signer on a clock the
 * test moves, and a real device. Past the interval every way to sign (pooled presignature, presign,
 * sign in one go) is refused with REFRESH_REQUIRED and audited; a refresh is served and makes the
 * wallet sign again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { TandemDevice } from '../client/tandem-device.js';
import { startCosigner, type RunningCosigner } from './service.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let dir: string;
let cosigner: RunningCosigner;
let device: TandemDevice;
/** How far the co-signer's clock runs ahead of the real one. */
let skewMs = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-refresh-policy-'));
  cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '22'.repeat(32) }, log: () => undefined, now: () => Date.now() + skewMs });
  device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'device.json'), kind: '2of2' });
  await device.createKey();
  await cosigner.store.setPolicy(device.walletId, { refreshEveryDays: 1 }, { actor: 'test' });
});

afterAll(async () => {
  await device?.close();
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function signedBy(message: string): Promise<string> {
  return recoverMessageAddress({ message, signature: await device.signMessage(message) });
}

async function refused(work: Promise<unknown>): Promise<CosignerRefusedError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CosignerRefusedError);
  return error as CosignerRefusedError;
}

function expectRefreshRequired(error: CosignerRefusedError): void {
  expect(error.code).toBe('REFRESH_REQUIRED');
  expect(error.rule).toBe('refresh-every');
  expect(error.shortMessage).toMatch(/requires its key shares to be refreshed every 1 day; .*npm run client -- refresh/);
}

async function refreshRefusals() {
  const rows = await cosigner.store.audit.list({ walletId: device.walletId, kind: 'refuse' });
  return rows.filter((row) => row.summary.rule === 'refresh-every');
}

describe('a policy that requires a key refresh every day', () => {
  it('signs while the shares are younger than a day', async () => {
    skewMs = DAY_MS - 60_000;
    expect(await signedBy('fresh enough')).toBe(device.address);
    await device.presign(1);
    expect(device.presignatureCount).toBe(1);
  });

  it('refuses pooled, presign and one-shot signing once they are older, and audits each refusal', async () => {
    skewMs = DAY_MS + 60_000;

    // The pooled presignature taken before the day passed: the 'sign' request.
    const pooled = await refused(device.signMessage('with a pooled presignature'));
    expectRefreshRequired(pooled);
    expect(pooled.shortMessage).toMatch(/they were created more than 1 day ago/);
    expect(device.presignatureCount).toBe(0);

    expectRefreshRequired(await refused(device.presign(1)));
    expect(device.presignatureCount).toBe(0);

    skewMs = 3 * DAY_MS + 60_000;
    const oneShot = await refused(device.signMessage('sign-now'));
    expectRefreshRequired(oneShot);
    expect(oneShot.shortMessage).toMatch(/they were created 3 days ago/);

    const rows = await refreshRefusals();
    expect(rows.map((row) => row.summary.reason)).toEqual([pooled.shortMessage, expect.any(String), oneShot.shortMessage]);
    expect(rows[0]!.summary).toMatchObject({ rule: 'refresh-every', refreshEveryDays: 1, generation: 0 });
    expect(rows.some((row) => row.kind !== 'refuse')).toBe(false);
  });

  it('serves a refresh, after which the wallet signs again until the next day passes', async () => {
    await device.refresh();
    expect(await signedBy('refreshed')).toBe(device.address);
    expect(await cosigner.store.audit.verify()).toMatchObject({ ok: true });

    skewMs += DAY_MS + 60_000;
    const again = await refused(device.signMessage('a day after the refresh'));
    expectRefreshRequired(again);
    expect(again.shortMessage).toMatch(/they were last refreshed more than 1 day ago/);
    expect(await refreshRefusals()).toHaveLength(4);
  });
});
