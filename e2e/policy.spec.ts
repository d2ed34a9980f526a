/**
 * A co-signer policy refusal: the operator limits the wallet to 1 ETH per transaction; a 2 ETH
 * send approved in the popup is refused by the co-signer, the dapp gets a clear error carrying the
 * co-signer's reason, the popup shows it, nothing reaches the chain, and the audit log has it.
 * A send within the limit still goes through, so the refusal is the rule's doing.
 */
import type { Page } from '@playwright/test';
import { createPublicClient, http, parseEther, toHex, type Address, type Hash } from 'viem';
import { hardhat } from 'viem/chains';
import { cosignerWalletId, dappRequest, ensureConnected, expect, settledWithin, startDappRequest, test } from './fixtures.js';
import { nextApproval, type TandemBrowser } from './tandem.js';

const RECIPIENT: Address = '0x90F79bf6EB2c8F870365E6a2b8F1BD5d5Ac6Bc0b';
const LIMIT_WEI = parseEther('1');

let requestCount = 0;

/** Asks the dapp to send `valueWei` to RECIPIENT and approves it in the popup; returns the popup and the request's key. */
async function approveSend(tandem: TandemBrowser, dapp: Page, from: Address, valueWei: bigint): Promise<{ popup: Page; key: string }> {
  requestCount += 1;
  const key = `policy-send-${requestCount}`;
  const popupOpened = nextApproval(tandem);
  await startDappRequest(dapp, key, 'eth_sendTransaction', [{ from, to: RECIPIENT, value: toHex(valueWei) }]);
  const popup = await popupOpened;
  await expect(popup.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'transaction');
  await popup.getByTestId('approve').click();
  return { popup, key };
}

test('a co-signer policy refusal reaches the dapp as a clear error and shows in the popup', async ({ tandem, wallet, dapp, stack }) => {
  await ensureConnected(tandem, dapp, wallet.address);
  // Other specs in this worker may have left the wallet on the second chain.
  expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: toHex(hardhat.id) }])).toEqual({ result: null });
  const chain = createPublicClient({ chain: hardhat, transport: http(stack.chain.url) });
  const walletId = await cosignerWalletId(stack, wallet.address);
  const auditBefore = await stack.cosigner.store.audit.list({ walletId, limit: 1 });
  const afterSeq = auditBefore.at(-1)?.seq ?? 0;

  expect(await stack.cosigner.store.setPolicy(walletId, { maxValuePerTxWei: LIMIT_WEI.toString() }, { actor: 'e2e policy spec' })).toEqual({ maxValuePerTxWei: LIMIT_WEI.toString() });
  try {
    const balanceBefore = await chain.getBalance({ address: wallet.address });
    const nonceBefore = await chain.getTransactionCount({ address: wallet.address });

    const refused = await approveSend(tandem, dapp, wallet.address, parseEther('2'));
    const answer = await settledWithin(dapp, refused.key, 30_000);

    // The co-signer wrote down why it refused, and that reason is what the dapp and the popup show.
    const refusals = await stack.cosigner.store.audit.list({ walletId, kind: 'refuse', afterSeq });
    expect(refusals).toHaveLength(1);
    const refusal = refusals[0]!.summary;
    expect(refusal).toMatchObject({ kind: 'transaction', rule: 'per-tx-limit', valueWei: parseEther('2').toString(), chainId: hardhat.id });
    expect(String(refusal.to).toLowerCase()).toBe(RECIPIENT.toLowerCase());
    const reason = String(refusal.reason);
    expect(reason).toContain('per-transaction limit');

    expect(answer.result).toBeUndefined();
    expect(answer.error?.code).toBe(-32603);
    expect(answer.error?.message).toContain(reason);
    expect(answer.error?.data).toMatchObject({ reason: 'COSIGNER_REFUSED', rule: 'per-tx-limit' });

    await expect(refused.popup.getByTestId('approval-stage')).toHaveAttribute('data-stage', 'failed');
    await expect(refused.popup.getByTestId('approval-error')).toContainText(reason);
    await expect(refused.popup.getByTestId('approval-error')).toContainText('COSIGNER_REFUSED');

    // Nothing was signed for it, and nothing reached the chain.
    expect(await stack.cosigner.store.audit.list({ walletId, kind: 'sign', afterSeq })).toEqual([]);
    expect(await chain.getTransactionCount({ address: wallet.address })).toBe(nonceBefore);
    expect(await chain.getBalance({ address: wallet.address })).toBe(balanceBefore);

    // Within the limit, the same wallet and recipient still send.
    const allowed = await approveSend(tandem, dapp, wallet.address, parseEther('0.5'));
    const sent = await settledWithin(dapp, allowed.key, 30_000);
    expect(sent.error, JSON.stringify(sent.error)).toBeUndefined();
    const receipt = await chain.waitForTransactionReceipt({ hash: sent.result as Hash, timeout: 30_000 });
    expect(receipt.status).toBe('success');
    expect(receipt.to?.toLowerCase()).toBe(RECIPIENT.toLowerCase());
  } finally {
    // The other specs share this worker's wallet.
    await stack.cosigner.store.setPolicy(walletId, {}, { actor: 'e2e policy spec' });
  }
  expect(await stack.cosigner.store.getPolicy(walletId)).toEqual({});
});
