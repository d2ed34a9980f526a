import { createPublicClient, encodeFunctionData, erc20Abi, getAddress, http, maxUint256, parseEther, parseUnits, toHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { deployTestToken, HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import { dappRequest, disconnect, ensureConnected, expect, settledDappRequest, startDappRequest, test } from './fixtures.js';
import { nextApproval } from './tandem.js';

/** A fresh address nobody has sent to: its balances start at zero. */
const freshAddress = () => privateKeyToAccount(generatePrivateKey()).address;


// Connect only when no earlier spec of this worker did, and leave the origin as it was found.
let connectedHere = false;
test.afterEach(async ({ dapp }) => {
  if (connectedHere) await disconnect(dapp);
  connectedHere = false;
});

test('an ETH transfer is approved, mined, and moves exactly its value', async ({ tandem, wallet, dapp, stack }) => {
  const chain = createPublicClient({ transport: http(stack.chain.url) });
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: '0x7a69' });
  const recipient = freshAddress();
  const value = parseEther('0.0123');
  const recipientBefore = await chain.getBalance({ address: recipient });
  const senderBefore = await chain.getBalance({ address: wallet.address });

  const popup = nextApproval(tandem);
  await startDappRequest(dapp, 'sendEth', 'eth_sendTransaction', [{ from: wallet.address, to: recipient, value: toHex(value) }]);
  const page = await popup;
  await expect(page.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'transaction');
  await expect(page.getByTestId('tx-to')).toHaveText(recipient);
  await expect(page.getByTestId('tx-value')).toContainText('0.0123');
  await expect(page.getByTestId('tx-simulation')).toHaveAttribute('data-ok', 'true');
  await page.getByTestId('approve').click();

  const answer = await settledDappRequest(dapp, 'sendEth');
  expect(answer.error).toBeUndefined();
  const hash = answer.result as Hex;
  expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
  const receipt = await chain.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 30_000 });
  expect(receipt.status).toBe('success');
  expect(receipt.from.toLowerCase()).toBe(wallet.address.toLowerCase());
  expect(receipt.to?.toLowerCase()).toBe(recipient.toLowerCase());
  expect((await chain.getBalance({ address: recipient })) - recipientBefore).toBe(value);
  // The sender paid the value plus the fee the receipt records, nothing else.
  expect(senderBefore - (await chain.getBalance({ address: wallet.address }))).toBe(value + receipt.gasUsed * receipt.effectiveGasPrice);
});

test('an ERC-20 transfer is shown decoded and lands on chain; an unlimited approval is flagged', async ({ tandem, wallet, dapp, stack }) => {
  const chain = createPublicClient({ transport: http(stack.chain.url) });
  const deployed = await deployTestToken({
    rpcUrl: stack.chain.url,
    deployer: privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY),
    name: 'Tandem Test Token',
    symbol: 'TTK',
    supply: parseUnits('1000', 18),
    owner: wallet.address,
  });
  const token = getAddress(deployed);
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  const recipient = freshAddress();

  // The dapp's own "Send token" button: viem's writeContract(transfer) through the wallet.
  await dapp.getByTestId('token').fill(token);
  await dapp.getByTestId('recipient').fill(recipient);
  await dapp.getByTestId('amount').fill('12.5');
  let popup = nextApproval(tandem);
  await dapp.getByTestId('send-token').click();
  let page = await popup;
  await expect(page.getByTestId('tx-to')).toHaveText(token);
  const decoded = page.getByTestId('decoded-call');
  await expect(decoded).toContainText('transfer');
  await expect(decoded).toContainText('Token transfer: 12.5 TTK');
  await expect(decoded).toContainText('transfer(address,uint256)');
  await expect(decoded).toContainText(recipient);
  await expect(page.getByTestId('tx-simulation')).toHaveAttribute('data-ok', 'true');
  await expect(page.getByTestId('warning-UNLIMITED_APPROVAL')).toHaveCount(0);
  await page.getByTestId('approve').click();

  const result = dapp.getByTestId('result');
  await expect(result).not.toHaveAttribute('data-state', 'pending', { timeout: 60_000 });
  await expect(result).toHaveAttribute('data-state', 'done');
  const hash = (await result.innerText()).trim() as Hex;
  expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
  const receipt = await chain.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 30_000 });
  expect(receipt.status).toBe('success');
  expect(await chain.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [recipient] })).toBe(parseUnits('12.5', 18));
  expect(await chain.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [wallet.address] })).toBe(parseUnits('987.5', 18));

  // approve(spender, maxUint256): warned about, then rejected, and nothing changes on chain.
  const spender = freshAddress();
  popup = nextApproval(tandem);
  await startDappRequest(dapp, 'approveAll', 'eth_sendTransaction', [
    { from: wallet.address, to: token, data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, maxUint256] }) },
  ]);
  page = await popup;
  await expect(page.getByTestId('warning-UNLIMITED_APPROVAL')).toBeVisible();
  await expect(page.getByTestId('warning-UNLIMITED_APPROVAL')).toContainText(spender);
  await expect(page.getByTestId('decoded-call')).toContainText('approve');
  await expect(page.getByTestId('decoded-call')).toContainText('Unlimited');
  await page.getByTestId('reject').click();
  const rejected = await settledDappRequest(dapp, 'approveAll');
  expect(rejected.result).toBeUndefined();
  expect(rejected.error?.code).toBe(4001);
  expect(await chain.readContract({ address: token, abi: erc20Abi, functionName: 'allowance', args: [wallet.address, spender] })).toBe(0n);
});
