/**
 * EIP-5792 against Tandem, as a dapp uses it: capabilities (an EOA: atomic unsupported), a bundle of an
 * ETH transfer and an ERC-20 transfer shown on one approval page, sent one after the other and mined,
 * its status from receipts (also after the service worker was killed), and the EIP's error codes.
 */
import { createPublicClient, encodeFunctionData, erc20Abi, getAddress, http, parseEther, parseUnits, toHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { deployTestToken, HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import { dappRequest, disconnect, ensureConnected, expect, settledDappRequest, startDappRequest, test, type DemoAnswer } from './fixtures.js';
import { killServiceWorker, nextApproval, type TandemBrowser } from './tandem.js';
import type { Page } from '@playwright/test';

const freshAddress = () => privateKeyToAccount(generatePrivateKey()).address;
const CHAIN = '0x7a69';

let connectedHere = false;
test.afterEach(async ({ dapp }) => {
  if (connectedHere) await disconnect(dapp);
  connectedHere = false;
});

interface CallsStatus {
  version: string;
  id: string;
  chainId: string;
  status: number;
  atomic: boolean;
  receipts?: { status: string; transactionHash: Hex; blockHash: Hex; blockNumber: Hex; gasUsed: Hex; logs: unknown[] }[];
}

async function statusOf(dapp: Page, id: string): Promise<DemoAnswer> {
  return dappRequest(dapp, 'wallet_getCallsStatus', [id]);
}

async function waitForFinalStatus(dapp: Page, id: string): Promise<CallsStatus> {
  let answer: DemoAnswer = {};
  await expect
    .poll(async () => {
      answer = await statusOf(dapp, id);
      return (answer.result as CallsStatus | undefined)?.status;
    }, { timeout: 30_000 })
    .not.toBe(100);
  expect(answer.error).toBeUndefined();
  return answer.result as CallsStatus;
}

test('wallet_getCapabilities: atomic unsupported on every configured chain, only for a connected account', async ({ tandem, wallet, dapp }) => {
  // An earlier spec may have left this origin connected: start from a disconnected one.
  await dappRequest(dapp, 'wallet_revokePermissions', [{ eth_accounts: {} }]);
  expect((await dappRequest(dapp, 'wallet_getCapabilities', [wallet.address])).error?.code).toBe(4100);
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  // Every chain the wallet knows (an earlier spec may have added one) says the same.
  const all = (await dappRequest(dapp, 'wallet_getCapabilities', [wallet.address])).result as Record<string, unknown>;
  expect(all[CHAIN]).toEqual({ atomic: { status: 'unsupported' } });
  for (const capabilities of Object.values(all)) expect(capabilities).toEqual({ atomic: { status: 'unsupported' } });
  expect(await dappRequest(dapp, 'wallet_getCapabilities', [wallet.address, [CHAIN, '0x1']])).toEqual({ result: { [CHAIN]: { atomic: { status: 'unsupported' } } } });
  expect(await dappRequest(dapp, 'wallet_getCapabilities', [wallet.address, ['0x1']])).toEqual({ result: {} });
  expect((await dappRequest(dapp, 'wallet_getCapabilities', [freshAddress()])).error?.code).toBe(4100);
  expect((await dappRequest(dapp, 'wallet_getCapabilities', ['not an address'])).error?.code).toBe(-32602);
});

test('wallet_sendCalls: an ETH and an ERC-20 transfer on one approval page, both mined; status 200 with receipts, also after a worker restart', async ({ tandem, wallet, dapp, stack }) => {
  const chain = createPublicClient({ transport: http(stack.chain.url) });
  const token = getAddress(
    await deployTestToken({ rpcUrl: stack.chain.url, deployer: privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY), name: 'Bundle Token', symbol: 'BDL', supply: parseUnits('1000', 18), owner: wallet.address }),
  );
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  const ethRecipient = freshAddress();
  const tokenRecipient = freshAddress();
  const nonceBefore = await chain.getTransactionCount({ address: wallet.address });

  // The dapp side is viem's own sendCalls (EIP-5792 2.0.0), through the provider Tandem announced.
  const popup = nextApproval(tandem);
  const sent = dapp.evaluate(
    async ([from, to, tokenAddress, data]) => {
      const { walletClient } = (window as unknown as { tandemDemo: { walletClient: { sendCalls(args: unknown): Promise<{ id: string }> } } }).tandemDemo;
      try {
        return { result: await walletClient.sendCalls({ account: from, chain: { id: 31337 }, calls: [{ to, value: 12_300_000_000_000_000n }, { to: tokenAddress, data }] }) };
      } catch (error) {
        return { error: { code: (error as { code?: number }).code, message: String(error) } };
      }
    },
    [wallet.address, ethRecipient, token, encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [tokenRecipient, parseUnits('2.5', 18)] })] as const,
  );
  const page = await popup;
  await expect(page.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'calls');
  await expect(page.getByTestId('calls-count')).toHaveAttribute('data-count', '2');
  await expect(page.getByTestId('call-0').getByTestId('tx-to')).toHaveText(ethRecipient);
  await expect(page.getByTestId('call-0').getByTestId('tx-value')).toContainText('0.0123');
  await expect(page.getByTestId('call-0').getByTestId('tx-nonce')).toHaveText(String(nonceBefore));
  await expect(page.getByTestId('call-1').getByTestId('tx-to')).toHaveText(token);
  await expect(page.getByTestId('call-1').getByTestId('decoded-call')).toContainText('Token transfer: 2.5 BDL');
  await expect(page.getByTestId('call-1').getByTestId('tx-nonce')).toHaveText(String(nonceBefore + 1));
  await expect(page.getByTestId('call-0').getByTestId('tx-simulation')).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('call-1').getByTestId('tx-simulation')).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('calls-total-value')).toContainText('0.0123');
  await page.getByTestId('approve').click();

  const answer = (await sent) as { result?: { id: string }; error?: unknown };
  expect(answer.error).toBeUndefined();
  const id = answer.result!.id;
  expect(id).toMatch(/^0x[0-9a-f]{64}$/);

  const status = await waitForFinalStatus(dapp, id);
  expect(status).toMatchObject({ version: '2.0.0', id, chainId: CHAIN, status: 200, atomic: false });
  expect(status.receipts).toHaveLength(2);
  for (const receipt of status.receipts!) {
    expect(receipt.status).toBe('0x1');
    const onChain = await chain.getTransactionReceipt({ hash: receipt.transactionHash });
    expect(onChain.from.toLowerCase()).toBe(wallet.address.toLowerCase());
    expect(toHex(onChain.blockNumber)).toBe(receipt.blockNumber);
  }
  const [first, second] = await Promise.all(status.receipts!.map((receipt) => chain.getTransaction({ hash: receipt.transactionHash })));
  expect([first!.nonce, second!.nonce]).toEqual([nonceBefore, nonceBefore + 1]);
  expect(await chain.getBalance({ address: ethRecipient })).toBe(parseEther('0.0123'));
  expect(await chain.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [tokenRecipient] })).toBe(parseUnits('2.5', 18));
  // The ERC-20 call's receipt carries its Transfer log.
  expect(status.receipts![1]!.logs).toHaveLength(1);

  // viem reads the same status.
  const viemStatus = await dapp.evaluate(async (bundleId) => {
    const { walletClient } = (window as unknown as { tandemDemo: { walletClient: { getCallsStatus(args: unknown): Promise<{ status: string; statusCode: number; receipts?: unknown[] }> } } }).tandemDemo;
    const result = await walletClient.getCallsStatus({ id: bundleId });
    return { status: result.status, statusCode: result.statusCode, receipts: result.receipts?.length };
  }, id);
  expect(viemStatus).toEqual({ status: 'success', statusCode: 200, receipts: 2 });

  // The bundle is in IndexedDB: a killed worker answers the same.
  await killServiceWorker(tandem, dapp);
  expect((await statusOf(dapp, id)).result).toEqual(status);

  // A second bundle with the same id from this site is refused (5720), and an unknown id is 5730.
  const again = await dappRequest(dapp, 'wallet_sendCalls', [{ version: '2.0.0', id, chainId: CHAIN, atomicRequired: false, calls: [{ to: ethRecipient, value: '0x1' }] }]);
  expect(again.error?.code).toBe(5720);
  expect((await statusOf(dapp, '0xunknown')).error?.code).toBe(5730);

  // wallet_showCallsStatus opens the bundle's page.
  const shown = tandem.context.waitForEvent('page', { predicate: (candidate) => candidate.url().includes('#/calls/') });
  expect(await dappRequest(dapp, 'wallet_showCallsStatus', [id])).toEqual({ result: null });
  const statusPage = await shown;
  await expect(statusPage.getByTestId('bundle-status')).toHaveAttribute('data-status', '200');
  await expect(statusPage.getByTestId('bundle-id')).toHaveText(id);
  await expect(statusPage.getByTestId('bundle-call-0')).toHaveAttribute('data-state', 'sent');
  await expect(statusPage.getByTestId('bundle-call-0')).toHaveAttribute('data-receipt', 'success');
  await expect(statusPage.getByTestId('bundle-call-1').getByTestId('bundle-call-hash')).toHaveText(status.receipts![1]!.transactionHash);
  await statusPage.close();
  expect((await dappRequest(dapp, 'wallet_showCallsStatus', ['0xunknown'])).error?.code).toBe(5730);
});

test('wallet_sendCalls refusals: atomicRequired (5760), unknown chain (5710), required capability (5700), too many calls (5740), malformed (-32602)', async ({ tandem, wallet, dapp }) => {
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  const call = { to: freshAddress(), value: '0x1' };
  const request = (changes: Record<string, unknown>) => dappRequest(dapp, 'wallet_sendCalls', [{ version: '2.0.0', chainId: CHAIN, atomicRequired: false, calls: [call], ...changes }]);
  let opened = false;
  const watch = (page: Page) => {
    if (page.url().includes('#/approve/')) opened = true;
  };
  tandem.context.on('page', watch);
  try {
    const atomic = await request({ atomicRequired: true });
    expect(atomic.error?.code).toBe(5760);
    expect(atomic.error?.message).toMatch(/Atomicity not supported/);
    expect((await request({ chainId: '0x1' })).error?.code).toBe(5710);
    expect((await request({ capabilities: { paymasterService: { url: 'https://paymaster.test' } } })).error?.code).toBe(5700);
    expect((await request({ calls: Array.from({ length: 11 }, () => call) })).error?.code).toBe(5740);
    expect((await request({ version: '1.0' })).error?.code).toBe(-32602);
    expect((await request({ calls: [] })).error?.code).toBe(-32602);
    await dapp.waitForTimeout(300);
    expect(opened, 'no approval window for a refused bundle').toBe(false);
  } finally {
    tandem.context.off('page', watch);
  }
});

test('wallet_sendCalls rejected: 4001, nothing sent, and the id is unknown', async ({ tandem, wallet, dapp, stack }) => {
  const chain = createPublicClient({ transport: http(stack.chain.url) });
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  const nonceBefore = await chain.getTransactionCount({ address: wallet.address });
  const id = `reject-${Date.now()}`;
  await rejectBundle(tandem, dapp, id, wallet.address);
  const answer = await settledDappRequest(dapp, 'rejected');
  expect(answer.error?.code).toBe(4001);
  expect(await chain.getTransactionCount({ address: wallet.address })).toBe(nonceBefore);
  expect((await statusOf(dapp, id)).error?.code).toBe(5730);
});

async function rejectBundle(tandem: TandemBrowser, dapp: Page, id: string, from: string): Promise<void> {
  const popup = nextApproval(tandem);
  await startDappRequest(dapp, 'rejected', 'wallet_sendCalls', [
    { version: '2.0.0', id, from, chainId: CHAIN, atomicRequired: false, calls: [{ to: freshAddress(), value: '0x1' }, { to: freshAddress(), value: '0x2' }] },
  ]);
  const page = await popup;
  await expect(page.getByTestId('calls-count')).toHaveAttribute('data-count', '2');
  await page.getByTestId('reject').click();
}
