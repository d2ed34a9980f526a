/**
 * Second approvers: the operator's policy holds a large transaction (or a message signature) for
 * an approver. The dapp hears -32002 with the request id at once; an approver (a second browser
 * profile with its own wallet, enrolled with the operator's code through its popup) approves or
 * rejects it in its popup; the co-signer finishes the signature itself and sends the transaction,
 * which is mined; the wallet's Activity page follows it to 'broadcast' (or 'rejected', 'signed').
 */
import type { Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, http, parseEther, recoverMessageAddress, toHex, type Address, type Hash, type Hex } from 'viem';
import { hardhat } from 'viem/chains';
import { cosignerWalletId, dappRequest, ensureConnected, expect, settledWithin, startDappRequest, test, type DemoAnswer } from './fixtures.js';
import type { Stack } from './stack/stack.js';
import { enrollAsApprover, killServiceWorker, launchWithTandem, nextApproval, onboard, openActivity, type TandemBrowser } from './tandem.js';

const RECIPIENT: Address = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65';
const LIMIT_WEI = parseEther('1');
const APPROVER_NAME = 'alice';

/** The approver: a second profile with its own wallet, enrolled as approver through its popup (once for the file). */
let approver: { tandem: TandemBrowser; dir: string; approverId: string } | undefined;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ stack, extensionDir }) => {
  test.setTimeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-approver-'));
  const tandem = await launchWithTandem({ userDataDir: join(dir, 'profile'), extensionDir, spkiHash: stack.cosigner.spkiHash });
  approver = { tandem, dir, approverId: '' };
  await onboard(tandem, { password: 'approver profile password', cosignerUrl: stack.cosigner.url, saveDir: dir });
  // The operator invites an approver: the code goes to the person, only its digest to the co-signer.
  const code = `approver-code-${Date.now()}`;
  await stack.cosigner.store.approvals.inviteApprover({ name: APPROVER_NAME, codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 3_600_000 });
  const enrolled = await enrollAsApprover(tandem, code);
  expect(enrolled.approverId).toMatch(/^[0-9a-f]+$/);
  await expect(enrolled.page.getByTestId('approver-name')).toHaveText(APPROVER_NAME);
  await expect(enrolled.page.getByTestId('approver-empty')).toBeVisible();
  expect((await stack.cosigner.store.approvals.getApprover(enrolled.approverId))?.status).toBe('active');
  // At rest the approver record is sealed: only its id, name and co-signer are readable, never the identity secret or the token.
  const stored = await enrolled.page.evaluate(
    () =>
      new Promise<unknown>((resolve, reject) => {
        const opened = indexedDB.open('tandem');
        opened.onerror = () => reject(opened.error);
        opened.onsuccess = () => {
          const read = opened.result.transaction('approver').objectStore('approver').get('approver');
          read.onsuccess = () => resolve(read.result);
          read.onerror = () => reject(read.error);
        };
      }),
  );
  expect(Object.keys(stored as object).sort()).toEqual(['approverId', 'box', 'cosignerUrl', 'enrolledAt', 'name', 'version']);
  expect(Object.keys((stored as { box: object }).box).sort()).toEqual(['ciphertext', 'iv']);
  expect(JSON.stringify(stored)).not.toMatch(/identitySecret|token/i);
  await enrolled.page.close();
  approver.approverId = enrolled.approverId;
});

test.afterAll(async () => {
  await approver?.tandem.close();
  if (approver) rmSync(approver.dir, { recursive: true, force: true });
});

function theApprover() {
  if (!approver?.approverId) throw new Error('The approver profile was not set up.');
  return approver;
}

/** Holds `kind` requests (transactions: only above LIMIT_WEI) for the approver while `run` runs; the wallet's policy is cleared after. */
async function withApprovalPolicy(stack: Stack, address: string, kind: 'transaction' | 'message', run: () => Promise<void>): Promise<void> {
  const walletId = await cosignerWalletId(stack, address);
  const when = kind === 'transaction' ? [{ kind: 'transaction' as const, valueAboveWei: LIMIT_WEI.toString() }] : [{ kind: 'message' as const }];
  await stack.cosigner.store.setPolicy(walletId, { approvals: [{ id: 'large', when, approvers: [theApprover().approverId], quorum: 1 }] }, { actor: 'e2e approvals spec' });
  try {
    await run();
  } finally {
    // The other specs share this worker's wallet.
    await stack.cosigner.store.setPolicy(walletId, {}, { actor: 'e2e approvals spec' });
  }
}

let requestCount = 0;

/** The dapp asks; the user approves in the wallet's popup, which then says the request is held. Returns the dapp's answer. */
async function askAndApproveHere(tandem: TandemBrowser, dapp: Page, method: string, params: unknown[]): Promise<DemoAnswer> {
  requestCount += 1;
  const key = `approvals-${requestCount}`;
  const popupOpened = nextApproval(tandem);
  await startDappRequest(dapp, key, method, params);
  const popup = await popupOpened;
  await popup.getByTestId('approve').click();
  await expect(popup.getByTestId('approval-stage')).toHaveAttribute('data-stage', 'held', { timeout: 30_000 });
  await expect(popup.getByTestId('approval-held')).toContainText(APPROVER_NAME);
  const answer = await settledWithin(dapp, key, 30_000);
  await popup.close();
  return answer;
}

/** Asserts the dapp's -32002 answer for a held request and returns the request id. */
function heldRequestId(answer: DemoAnswer, what: string): string {
  expect(answer.result).toBeUndefined();
  expect(answer.error?.code, JSON.stringify(answer.error)).toBe(-32002);
  const data = answer.error?.data as { requestId?: string; state?: string; reason?: string; approvers?: string[] };
  expect(data).toMatchObject({ state: 'pending-approval', reason: 'APPROVAL_PENDING', approvers: [APPROVER_NAME] });
  const requestId = data.requestId!;
  expect(requestId).toMatch(/^[0-9a-f]{32}$/);
  expect(answer.error?.message).toBe(`${what} is waiting for approval by ${APPROVER_NAME} (request ${requestId}); it will be signed${what === 'This transaction' ? ' and sent' : ''} once approved. See Tandem's Activity page.`);
  return requestId;
}

/** The approver's popup: the request waits there (also counted in its toolbar popup); it decides. Returns the page. */
async function decideAsApprover(requestId: string, verdict: 'approve' | 'reject', check: (row: ReturnType<Page['getByTestId']>) => Promise<void>): Promise<Page> {
  const { tandem } = theApprover();
  const toolbar = await tandem.context.newPage();
  await toolbar.goto(tandem.popupUrl('/'));
  await expect(toolbar.getByTestId('approvals-to-give')).toHaveText('1', { timeout: 20_000 });
  await toolbar.getByTestId('open-approver').click();
  await expect(toolbar).toHaveURL(/#\/approver$/);
  const row = toolbar.getByTestId(`approver-request-${requestId}`);
  await expect(row.getByTestId('request-state')).toHaveAttribute('data-state', 'pending-approval', { timeout: 20_000 });
  await expect(toolbar.getByTestId('approver-pending-count')).toHaveAttribute('data-count', '1');
  await check(row);
  await row.getByTestId(`request-${verdict}`).click();
  await expect(row.getByTestId('request-your-verdict')).toHaveAttribute('data-verdict', verdict, { timeout: 20_000 });
  await expect(row.getByTestId(`request-${verdict === 'approve' ? 'reject' : 'approve'}`)).toHaveCount(0);
  return toolbar;
}

async function storedRequest(stack: Stack, requestId: string) {
  const request = await stack.cosigner.store.approvals.getRequest(requestId);
  if (!request) throw new Error(`The co-signer has no request ${requestId}.`);
  return request;
}

test('a transaction above the limit waits for the approver, who approves it in their popup; the co-signer sends it and Activity shows it broadcast', async ({ tandem, wallet, dapp, stack }) => {
  test.setTimeout(180_000);
  await ensureConnected(tandem, dapp, wallet.address);
  expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: toHex(hardhat.id) }])).toEqual({ result: null });
  const chain = createPublicClient({ chain: hardhat, transport: http(stack.chain.url) });

  await withApprovalPolicy(stack, wallet.address, 'transaction', async () => {
    const nonceBefore = await chain.getTransactionCount({ address: wallet.address });
    const recipientBefore = await chain.getBalance({ address: RECIPIENT });

    const answer = await askAndApproveHere(tandem, dapp, 'eth_sendTransaction', [{ from: wallet.address, to: RECIPIENT, value: toHex(parseEther('2')) }]);
    const requestId = heldRequestId(answer, 'This transaction');
    expect((await storedRequest(stack, requestId)).state).toBe('pending-approval');
    expect(await chain.getTransactionCount({ address: wallet.address })).toBe(nonceBefore);

    // The wallet's toolbar popup counts it; its Activity page lists it, decoded as the approval page showed it.
    const toolbar = await tandem.context.newPage();
    await toolbar.goto(tandem.popupUrl('/'));
    await expect(toolbar.getByTestId('activity-pending')).toHaveText('1', { timeout: 20_000 });
    await toolbar.getByTestId('open-activity').click();
    const activityRow = toolbar.getByTestId(`activity-request-${requestId}`);
    await expect(activityRow.getByTestId('request-state')).toHaveAttribute('data-state', 'pending-approval');
    await expect(activityRow.getByTestId('request-origin')).toHaveText(new URL(stack.dapp.url).origin);
    await expect(activityRow.getByTestId('tx-to')).toHaveText(RECIPIENT);
    await expect(activityRow.getByTestId('tx-value')).toHaveText('2 ETH');
    await expect(activityRow.getByTestId('request-quorum')).toContainText(`1 of ${APPROVER_NAME} (rule large)`);

    const approverPage = await decideAsApprover(requestId, 'approve', async (row) => {
      // The approver sees the same decoded transaction, opened, before deciding.
      await expect(row.getByTestId('tx-to')).toBeVisible();
      await expect(row.getByTestId('tx-to')).toHaveText(RECIPIENT);
      await expect(row.getByTestId('tx-value')).toHaveText('2 ETH');
      await expect(row.getByTestId('tx-nonce')).toHaveText(String(nonceBefore));
    });

    // The co-signer signed and sent it: mined on the chain, from this wallet, to the recipient.
    let transactionHash: Hash | undefined;
    await expect
      .poll(async () => {
        const request = await storedRequest(stack, requestId);
        transactionHash = request.result?.transactionHash;
        return request.state;
      }, { timeout: 30_000 })
      .toBe('broadcast');
    const receipt = await chain.waitForTransactionReceipt({ hash: transactionHash!, timeout: 30_000 });
    expect(receipt.status).toBe('success');
    expect(receipt.from.toLowerCase()).toBe(wallet.address.toLowerCase());
    expect(receipt.to?.toLowerCase()).toBe(RECIPIENT.toLowerCase());
    expect((await chain.getBalance({ address: RECIPIENT })) - recipientBefore).toBe(parseEther('2'));
    expect(await chain.getTransactionCount({ address: wallet.address })).toBe(nonceBefore + 1);

    // The wallet's Activity page follows it by mail: broadcast, with who approved and the hash.
    await expect(activityRow.getByTestId('request-state')).toHaveAttribute('data-state', 'broadcast', { timeout: 30_000 });
    await expect(activityRow.getByTestId('request-tx-hash')).toHaveText(transactionHash!);
    await expect(activityRow.getByTestId(`decision-${theApprover().approverId}`)).toHaveAttribute('data-verdict', 'approve');
    await expect(activityRow.getByTestId('request-error')).toHaveCount(0);
    await toolbar.getByTestId('back-to-wallet').click();
    await expect(toolbar.getByTestId('activity-pending')).toHaveText('0', { timeout: 20_000 });
    // And so does the approver's page.
    await expect(approverPage.getByTestId(`approver-request-${requestId}`).getByTestId('request-state')).toHaveAttribute('data-state', 'broadcast', { timeout: 30_000 });
    await expect(approverPage.getByTestId('approver-pending-count')).toHaveAttribute('data-count', '0');
    await Promise.all([toolbar.close(), approverPage.close()]);

    // Below the limit nothing is held: the same wallet still sends at once.
    const key = `approvals-small-${Date.now()}`;
    const popupOpened = nextApproval(tandem);
    await startDappRequest(dapp, key, 'eth_sendTransaction', [{ from: wallet.address, to: RECIPIENT, value: toHex(parseEther('0.5')) }]);
    await (await popupOpened).getByTestId('approve').click();
    const sent = await settledWithin(dapp, key, 30_000);
    expect(sent.error, JSON.stringify(sent.error)).toBeUndefined();
    expect((await chain.waitForTransactionReceipt({ hash: sent.result as Hash, timeout: 30_000 })).status).toBe('success');
  });
});

test('the approver rejects (after a restart of its worker): nothing is signed or sent, and Activity shows it rejected', async ({ tandem, wallet, dapp, stack }) => {
  test.setTimeout(120_000);
  await ensureConnected(tandem, dapp, wallet.address);
  expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: toHex(hardhat.id) }])).toEqual({ result: null });
  const chain = createPublicClient({ chain: hardhat, transport: http(stack.chain.url) });

  await withApprovalPolicy(stack, wallet.address, 'transaction', async () => {
    const nonceBefore = await chain.getTransactionCount({ address: wallet.address });
    const answer = await askAndApproveHere(tandem, dapp, 'eth_sendTransaction', [{ from: wallet.address, to: RECIPIENT, value: toHex(parseEther('3')) }]);
    const requestId = heldRequestId(answer, 'This transaction');

    // The approver's worker restarts before it decides: its sealed approver record reopens with the vault key it kept.
    const { tandem: approverTandem } = theApprover();
    const blank = await approverTandem.context.newPage();
    await killServiceWorker(approverTandem, blank);
    await blank.close();

    const approverPage = await decideAsApprover(requestId, 'reject', async (row) => {
      await expect(row.getByTestId('tx-value')).toHaveText('3 ETH');
    });
    await expect(approverPage.getByTestId(`approver-request-${requestId}`).getByTestId('request-state')).toHaveAttribute('data-state', 'rejected', { timeout: 20_000 });
    await approverPage.close();

    const request = await storedRequest(stack, requestId);
    expect(request.state).toBe('rejected');
    expect(request.result?.signature).toBeUndefined();
    expect(request.decisions).toMatchObject([{ approverId: theApprover().approverId, name: APPROVER_NAME, verdict: 'reject' }]);

    const activity = await openActivity(tandem);
    const row = activity.getByTestId(`activity-request-${requestId}`);
    await expect(row.getByTestId('request-state')).toHaveAttribute('data-state', 'rejected', { timeout: 30_000 });
    await expect(row.getByTestId(`decision-${theApprover().approverId}`)).toHaveAttribute('data-verdict', 'reject');
    await expect(row.getByTestId('request-tx-hash')).toHaveCount(0);
    await activity.close();
    // Nothing reached the chain.
    expect(await chain.getTransactionCount({ address: wallet.address })).toBe(nonceBefore);
  });
});

test('a message signature held for the approver: once approved, Activity shows the signature the co-signer finished', async ({ tandem, wallet, dapp, stack }) => {
  test.setTimeout(120_000);
  await ensureConnected(tandem, dapp, wallet.address);
  const message = 'Release the quarterly budget';

  await withApprovalPolicy(stack, wallet.address, 'message', async () => {
    const answer = await askAndApproveHere(tandem, dapp, 'personal_sign', [toHex(message), wallet.address]);
    const requestId = heldRequestId(answer, 'This message signature');

    const approverPage = await decideAsApprover(requestId, 'approve', async (row) => {
      await expect(row.getByTestId('message-text')).toHaveText(message);
    });
    await approverPage.close();

    const activity = await openActivity(tandem);
    const row = activity.getByTestId(`activity-request-${requestId}`);
    await expect(row.getByTestId('request-state')).toHaveAttribute('data-state', 'signed', { timeout: 30_000 });
    const signature = (await row.getByTestId('request-signature').innerText()).trim() as Hex;
    expect(await recoverMessageAddress({ message, signature })).toBe(wallet.address);
    await expect(row.getByTestId('message-text')).toHaveText(message);
    await activity.close();
  });
});

test('a co-signer with no RPC for the chain leaves the approved transaction to the wallet, which checks it and sends it itself', async ({ tandem, wallet, dapp, stack }) => {
  test.setTimeout(180_000);
  await ensureConnected(tandem, dapp, wallet.address);
  expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: toHex(hardhat.id) }])).toEqual({ result: null });
  const chain = createPublicClient({ chain: hardhat, transport: http(stack.chain.url) });
  await stack.stopCosigner();
  await stack.restartCosigner({ chainRpcUrls: {} });
  try {
    await withApprovalPolicy(stack, wallet.address, 'transaction', async () => {
      const recipientBefore = await chain.getBalance({ address: RECIPIENT });
      const answer = await askAndApproveHere(tandem, dapp, 'eth_sendTransaction', [{ from: wallet.address, to: RECIPIENT, value: toHex(parseEther('1.5')) }]);
      const requestId = heldRequestId(answer, 'This transaction');
      await (await decideAsApprover(requestId, 'approve', async () => undefined)).close();

      // Signed by the co-signer, which has nowhere to send it: it stays 'signed' there.
      await expect.poll(async () => (await storedRequest(stack, requestId)).state, { timeout: 30_000 }).toBe('signed');
      const transactionHash = (await storedRequest(stack, requestId)).result?.transactionHash as Hash;
      // The wallet's worker sends the same bytes after its grace period (the co-signer did not): mined.
      const receipt = await chain.waitForTransactionReceipt({ hash: transactionHash, timeout: 60_000 });
      expect(receipt.status).toBe('success');
      expect(receipt.from.toLowerCase()).toBe(wallet.address.toLowerCase());
      expect((await chain.getBalance({ address: RECIPIENT })) - recipientBefore).toBe(parseEther('1.5'));

      const activity = await openActivity(tandem);
      const row = activity.getByTestId(`activity-request-${requestId}`);
      await expect(row.getByTestId('request-state')).toHaveAttribute('data-state', 'signed', { timeout: 30_000 });
      await expect(row.getByTestId('request-tx-hash')).toHaveText(transactionHash);
      await expect(row.getByTestId('request-sent-here')).toContainText('Sent from this browser', { timeout: 30_000 });
      await activity.close();
      expect((await storedRequest(stack, requestId)).state).toBe('signed');
    });
  } finally {
    await stack.stopCosigner();
    await stack.restartCosigner();
  }
});
