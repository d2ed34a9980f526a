/** EIP-747 wallet_watchAsset: an ERC-20 is checked against its contract, added after approval, and listed in the overview with its balance. */
import { getAddress, parseUnits } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { deployTestToken, HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import { dappRequest, expect, settledDappRequest, startDappRequest, test } from './fixtures.js';
import { nextApproval } from './tandem.js';

test('wallet_watchAsset adds the token after approval; the overview shows its balance; rejection is 4001; bad params are -32602', async ({ tandem, wallet, dapp, stack }) => {
  const token = getAddress(
    await deployTestToken({ rpcUrl: stack.chain.url, deployer: privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY), name: 'Watched Token', symbol: 'WTK', supply: parseUnits('1234.5', 18), owner: wallet.address }),
  );
  const params = { type: 'ERC20', options: { address: token, symbol: 'WTK', decimals: 18 } };

  // Malformed, or not what the contract says: -32602, no popup.
  for (const bad of [
    { type: 'ERC721', options: params.options },
    { type: 'ERC20', options: { ...params.options, symbol: 'TWELVECHARSX' } },
    { type: 'ERC20', options: { ...params.options, decimals: 40 } },
    { type: 'ERC20', options: { ...params.options, address: '0x1234' } },
    { type: 'ERC20', options: { ...params.options, decimals: 6 } },
    { type: 'ERC20', options: { ...params.options, address: wallet.address } },
  ]) {
    const answer = await dappRequest(dapp, 'wallet_watchAsset', bad);
    expect(answer.error?.code, JSON.stringify(bad)).toBe(-32602);
  }

  // Rejected: 4001, and nothing is listed.
  let popup = nextApproval(tandem);
  await startDappRequest(dapp, 'watchRejected', 'wallet_watchAsset', params);
  let page = await popup;
  await expect(page.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'watchAsset');
  await page.getByTestId('reject').click();
  expect((await settledDappRequest(dapp, 'watchRejected')).error?.code).toBe(4001);

  // Approved: true, and the overview lists it with the wallet's balance.
  popup = nextApproval(tandem);
  await startDappRequest(dapp, 'watch', 'wallet_watchAsset', params);
  page = await popup;
  await expect(page.getByTestId('asset-symbol')).toHaveText('WTK');
  await expect(page.getByTestId('asset-address')).toHaveText(token);
  await expect(page.getByTestId('asset-decimals')).toHaveText('18');
  await expect(page.getByTestId('warning-SYMBOL_MISMATCH')).toHaveCount(0);
  await page.getByTestId('approve').click();
  expect(await settledDappRequest(dapp, 'watch')).toEqual({ result: true });

  // Asked again with the same token: already there, true without a popup.
  expect(await dappRequest(dapp, 'wallet_watchAsset', params)).toEqual({ result: true });

  const overview = await tandem.context.newPage();
  await overview.goto(tandem.popupUrl('/'));
  const row = overview.getByTestId(`token-${token}`);
  await expect(row.getByTestId('token-symbol')).toHaveText('WTK');
  await expect(row.getByTestId('token-balance')).toHaveText('1234.5');
  await expect(row.getByTestId('token-balance')).toHaveAttribute('data-balance', parseUnits('1234.5', 18).toString());
  await overview.close();
});
