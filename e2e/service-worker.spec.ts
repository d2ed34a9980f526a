/**
 * The service worker killed (CDP ServiceWorker.stopAllWorkers) at the awkward moments: between
 * connect and sign, in the middle of an MPC signature, and while an approval waits for the user.
 * Each time the dapp gets a valid signature or a clean error, never silence, and the next
 * request works. The co-signer's audit log and store show no presignature used twice.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { hashMessage, parseSignature, type Hex } from 'viem';
import { openDatabase, databasePath } from '../src/cosigner/store/index.js';
import {
  connectDapp,
  cosignerWalletId,
  dappAnswer,
  dappRequest,
  ensureConnected,
  expect,
  expectSignatureBy,
  openPersonalSign as openSign,
  settledWithin,
  test,
  type DemoAnswer,
} from './fixtures.js';
import { killServiceWorker, sessionApprovals, type TandemBrowser } from './tandem.js';

/** A dapp request must settle within this after the kill: a hang is the failure this spec exists for. */
const SETTLE_MS = 30_000;

let requestCount = 0;

/** Opens personal_sign for a fresh message and returns its popup (undecided), the message and the request's key. */
async function openPersonalSign(tandem: TandemBrowser, dapp: Page, address: string): Promise<{ popup: Page; message: string; key: string }> {
  requestCount += 1;
  const message = `service-worker spec #${requestCount} at ${Date.now()}`;
  const key = `sw-sign-${requestCount}`;
  return { popup: await openSign(tandem, dapp, key, message, address), message, key };
}

const settled = (dapp: Page, key: string) => settledWithin(dapp, key, SETTLE_MS);

/** Approve, then a signature that verifies: the request after a kill must simply work. */
async function signAndVerify(tandem: TandemBrowser, dapp: Page, address: string): Promise<{ message: string; signature: Hex }> {
  const { popup, message, key } = await openPersonalSign(tandem, dapp, address);
  await popup.getByTestId('approve').click();
  return { message, signature: await expectSignatureBy(await settled(dapp, key), message, address) };
}

test('killed between connect and sign: personal_sign works without unlocking again', async ({ tandem, wallet, dapp }) => {
  expect(await connectDapp(tandem, dapp)).toEqual({ result: [wallet.address] });

  await killServiceWorker(tandem, dapp);

  // The restarted worker still knows the connection and still holds the unlocked vault key.
  expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [wallet.address] });
  const { popup, message, key } = await openPersonalSign(tandem, dapp, wallet.address);
  await expect(popup.getByTestId('approve')).toBeVisible();
  await expect(popup.getByTestId('unlock-password')).toHaveCount(0);
  await popup.getByTestId('approve').click();
  await expectSignatureBy(await settled(dapp, key), message, wallet.address);
});

test('killed in the middle of MPC signatures: each request signs or fails cleanly, the next one signs, no presignature is used twice', async ({ tandem, wallet, dapp, stack, workDir }) => {
  test.setTimeout(240_000);
  await ensureConnected(tandem, dapp, wallet.address);
  const walletId = await cosignerWalletId(stack, wallet.address);
  const signed: { message: string; signature: Hex }[] = [];
  const interrupted: string[] = [];
  const outcomes: string[] = [];

  // 1. Deterministic: the co-signer is paused, so the device has taken its presignature and sent its
  //    half; the worker dies while the signature is surely in flight.
  {
    await stack.cosigner.pauseWorker();
    try {
      const { popup, message, key } = await openPersonalSign(tandem, dapp, wallet.address);
      await popup.getByTestId('approve').click();
      await expect(popup.getByTestId('approval-stage')).toHaveAttribute('data-stage', /signing|waiting-cosigner/);
      expect(await approvalStage(popup)).toBe('signing');
      await killServiceWorker(tandem, dapp);
      await stack.cosigner.resumeWorker();
      const answer = await settled(dapp, key);
      if (answer.error) {
        expectCleanInterruption(answer);
        interrupted.push(message);
        // The popup that is still open says what happened, too.
        await expect(popup.getByTestId('approval-error')).toContainText(answer.error.message);
        outcomes.push('paused: interrupted');
      } else {
        signed.push({ message, signature: await expectSignatureBy(answer, message, wallet.address) });
        outcomes.push('paused: signed');
      }
    } finally {
      await stack.cosigner.resumeWorker();
    }
    signed.push(await signAndVerify(tandem, dapp, wallet.address));
  }

  // 2. Racing the real thing: kill as soon as the worker has recorded the approval as signing, and
  //    a little later, so the kill lands at different points of the protocol.
  for (const delayMs of [0, 20, 60]) {
    const { popup, message, key } = await openPersonalSign(tandem, dapp, wallet.address);
    await popup.getByTestId('approve').click();
    await expect.poll(() => approvalStage(popup), { timeout: 10_000, intervals: [5] }).not.toBe('pending');
    if (delayMs) await popup.waitForTimeout(delayMs);
    await killServiceWorker(tandem, dapp);
    const answer = await settled(dapp, key);
    if (answer.error) {
      expectCleanInterruption(answer);
      interrupted.push(message);
      await expect(popup.getByTestId('approval-error')).toContainText(answer.error.message);
      outcomes.push(`+${delayMs} ms: interrupted`);
    } else {
      signed.push({ message, signature: await expectSignatureBy(answer, message, wallet.address) });
      outcomes.push(`+${delayMs} ms: signed`);
    }
    // The next request after every kill signs.
    signed.push(await signAndVerify(tandem, dapp, wallet.address));
  }
  test.info().annotations.push({ type: 'kill outcomes', description: outcomes.join('; ') });

  // Distinct requests, distinct signatures, and no two share a nonce point (r): a reused presignature would.
  expect(new Set(signed.map((entry) => entry.signature)).size).toBe(signed.length);
  expect(new Set(signed.map((entry) => parseSignature(entry.signature).r)).size).toBe(signed.length);

  // The co-signer's side: each request signed at most once, each completed one exactly once, and
  // every presignature it used was used by one signature only and is spent for good in its store.
  const signs = await stack.cosigner.store.audit.list({ kind: 'sign', walletId, limit: 1000 });
  const digestCount = (message: string) => signs.filter((entry) => entry.summary.digest === hashMessage(message)).length;
  for (const { message } of signed) expect(digestCount(message), `audit entries for "${message}"`).toBe(1);
  for (const message of interrupted) expect(digestCount(message), `audit entries for interrupted "${message}"`).toBeLessThanOrEqual(1);
  const presignatureIds = signs.map((entry) => entry.summary.presignatureId).filter((id): id is string => typeof id === 'string');
  expect(new Set(presignatureIds).size).toBe(presignatureIds.length);
  const db = openDatabase(databasePath(join(workDir, 'cosigner')), { readonly: true });
  try {
    const used = new Set(
      (db.prepare("SELECT presignature_id AS id FROM presignatures WHERE wallet_id = ? AND status = 'used'").all(walletId) as { id: string }[]).map((row) => row.id),
    );
    for (const id of presignatureIds) expect(used.has(id), `presignature ${id} is spent in the store`).toBe(true);
    expect(presignatureIds.length).toBeLessThanOrEqual(used.size);
  } finally {
    db.close();
  }
});

test('an approval waiting for the user survives a kill: approving in the same popup signs', async ({ tandem, wallet, dapp }) => {
  await ensureConnected(tandem, dapp, wallet.address);
  const { popup, message, key } = await openPersonalSign(tandem, dapp, wallet.address);
  await expect(popup.getByTestId('approve')).toBeVisible();

  await killServiceWorker(tandem, dapp);
  // Still waiting, in the worker's storage and for the dapp.
  expect(await approvalStage(popup)).toBe('pending');
  expect(await dappAnswer(dapp, key, 500)).toBe('pending');

  await popup.getByTestId('approve').click();
  await expectSignatureBy(await settled(dapp, key), message, wallet.address);
});

/** The stage the worker stored for the approval this popup shows. */
async function approvalStage(popup: Page): Promise<string | undefined> {
  const id = new URL(popup.url()).hash.replace('#/approve/', '');
  return (await sessionApprovals(popup)).find((record) => record.id === id)?.stage;
}

function expectCleanInterruption(answer: DemoAnswer): void {
  expect(answer.error?.code).toBe(-32603);
  expect((answer.error?.data as { reason?: string } | undefined)?.reason).toBe('INTERRUPTED');
  expect(answer.error?.message).toMatch(/try again/i);
}
