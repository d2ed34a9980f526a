/**
 * The co-signer away while the user approves: the popup says it is offline and that the request
 * waits for it; when it comes back the signature completes (or, after a whole restart, fails
 * cleanly), and the next request signs.
 */
import type { Page } from '@playwright/test';
import { ensureConnected, expect, expectSignatureBy, openPersonalSign, settledWithin, test, dappAnswer, type DemoAnswer } from './fixtures.js';
import type { TandemBrowser } from './tandem.js';

/** The worker's REQUEST_TIMEOUT_MS (src/background/wallet.ts) plus a margin: a request may wait that long, never longer. */
const REQUEST_EXPIRY_MS = 120_000 + 15_000;

let requestCount = 0;

function nextMessage(): { message: string; key: string } {
  requestCount += 1;
  return { message: `co-signer-down spec #${requestCount} at ${Date.now()}`, key: `down-sign-${requestCount}` };
}

/** Approves, then asserts the popup shows the co-signer offline and the request waiting for it, and the dapp still waiting. */
async function approveWhileDown(tandem: TandemBrowser, dapp: Page, address: string): Promise<{ popup: Page; message: string; key: string }> {
  const { message, key } = nextMessage();
  const popup = await openPersonalSign(tandem, dapp, key, message, address);
  await popup.getByTestId('approve').click();
  await expect(popup.getByTestId('cosigner-status')).toHaveText('offline');
  await expect(popup.getByTestId('approval-stage')).toHaveAttribute('data-stage', 'waiting-cosigner');
  // Waiting, not failing: still nothing for the dapp a moment later, and the popup still says why.
  expect(await dappAnswer(dapp, key, 1_500)).toBe('pending');
  await expect(popup.getByTestId('approval-stage')).toHaveAttribute('data-stage', 'waiting-cosigner');
  await expect(popup.getByTestId('cosigner-status')).toHaveText('offline');
  return { popup, message, key };
}

async function signNow(tandem: TandemBrowser, dapp: Page, address: string): Promise<void> {
  const { message, key } = nextMessage();
  const popup = await openPersonalSign(tandem, dapp, key, message, address);
  await expect(popup.getByTestId('cosigner-status')).toHaveText('online');
  await popup.getByTestId('approve').click();
  await expectSignatureBy(await settledWithin(dapp, key, 30_000), message, address);
}

test('co-signer offline (broker up): the popup says so, and the signature completes when it returns', async ({ tandem, wallet, dapp, stack }) => {
  await ensureConnected(tandem, dapp, wallet.address);
  let pending: { popup: Page; message: string; key: string };
  await stack.cosigner.pauseWorker();
  try {
    pending = await approveWhileDown(tandem, dapp, wallet.address);
  } finally {
    await stack.cosigner.resumeWorker();
  }
  await expectSignatureBy(await settledWithin(dapp, pending.key, 30_000), pending.message, wallet.address);
  await signNow(tandem, dapp, wallet.address);
});

test('co-signer process stopped and restarted: offline while down, then the same request completes, and the next one signs', async ({ tandem, wallet, dapp, stack }) => {
  test.setTimeout(REQUEST_EXPIRY_MS + 90_000);
  await ensureConnected(tandem, dapp, wallet.address);
  let pending: { popup: Page; message: string; key: string };
  await stack.stopCosigner();
  try {
    pending = await approveWhileDown(tandem, dapp, wallet.address);
  } finally {
    await stack.restartCosigner();
  }
  // The restarted process lost the conversation the request went out on: the device sees the new
  // instance come online and signs once more on a new conversation, well before the request's expiry.
  const started = Date.now();
  const answer: DemoAnswer = await settledWithin(dapp, pending.key, REQUEST_EXPIRY_MS);
  expect(answer.error).toBeUndefined();
  await expectSignatureBy(answer, pending.message, wallet.address);
  expect(Date.now() - started).toBeLessThan(30_000);
  await signNow(tandem, dapp, wallet.address);
});
