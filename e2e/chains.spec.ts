import { dappEvents, dappRequest, ensureConnected, expect, openDapp, SECOND_CHAIN_ID, settledDappRequest, startDappRequest, test } from './fixtures.js';
import { nextApproval } from './tandem.js';
import type { Page } from '@playwright/test';

const FIRST = '0x7a69';
const SECOND = '0x7a6a';

/** chainChanged events the page saw after the first `skip` events. */
async function chainChangesSince(page: Page, skip: number): Promise<unknown[]> {
  return (await dappEvents(page))
    .slice(skip)
    .filter((e) => e.event === 'chainChanged')
    .map((e) => e.data);
}

test('add a chain, switch between chains with chainChanged, and 4902 for an unknown one', async ({ tandem, wallet, dapp, stack }) => {
  const second = stack.secondChain;
  if (!second) throw new Error('The stack was started without its second chain.');
  expect(Number.parseInt(SECOND, 16)).toBe(SECOND_CHAIN_ID);
  expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: FIRST });
  // The chain is shared by every site: one that is not connected may not move it, nor add chains.
  const stranger = await openDapp(tandem.context, stack.dapp.url.replace('127.0.0.1', 'localhost'));
  expect((await dappRequest(stranger, 'wallet_switchEthereumChain', [{ chainId: SECOND }])).error?.code).toBe(4100);
  expect((await dappRequest(stranger, 'wallet_addEthereumChain', [{ chainId: SECOND, chainName: 'x', rpcUrls: [second.url], nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }])).error?.code).toBe(4100);
  await stranger.close();
  await ensureConnected(tandem, dapp, wallet.address);
  try {
    // Adding a chain the wallet does not know asks the user, then switches to it.
    let seen = (await dappEvents(dapp)).length;
    const popup = nextApproval(tandem);
    await startDappRequest(dapp, 'add', 'wallet_addEthereumChain', [
      { chainId: SECOND, chainName: 'Second e2e chain', rpcUrls: [second.url], nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } },
    ]);
    const page = await popup;
    await expect(page.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'addChain');
    await expect(page.getByTestId('chain-id')).toContainText(String(SECOND_CHAIN_ID));
    await expect(page.getByTestId('chain-name')).toContainText('Second e2e chain');
    await expect(page.getByTestId('chain-rpc-url')).toContainText(second.url);
    await page.getByTestId('approve').click();
    expect(await settledDappRequest(dapp, 'add')).toEqual({ result: null });
    expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: SECOND });
    expect(await dappRequest(dapp, 'net_version')).toEqual({ result: String(SECOND_CHAIN_ID) });
    await expect.poll(() => chainChangesSince(dapp, seen)).toEqual([SECOND]);
    // Reads now go to the second chain, where the wallet was never funded.
    expect(await dappRequest(dapp, 'eth_getBalance', [wallet.address, 'latest'])).toEqual({ result: '0x0' });

    seen = (await dappEvents(dapp)).length;
    expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: FIRST }])).toEqual({ result: null });
    expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: FIRST });
    await expect.poll(() => chainChangesSince(dapp, seen)).toEqual([FIRST]);
    expect(BigInt((await dappRequest(dapp, 'eth_getBalance', [wallet.address, 'latest'])).result as string)).toBeGreaterThan(0n);

    // The added chain stays known: switching to it again needs no popup.
    seen = (await dappEvents(dapp)).length;
    expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: SECOND }])).toEqual({ result: null });
    expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: SECOND });
    expect(await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: FIRST }])).toEqual({ result: null });
    await expect.poll(() => chainChangesSince(dapp, seen)).toEqual([SECOND, FIRST]);

    // An unknown chain: 4902, and the wallet stays where it was.
    seen = (await dappEvents(dapp)).length;
    const unknown = await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: '0x999' }]);
    expect(unknown.result).toBeUndefined();
    expect(unknown.error?.code).toBe(4902);
    expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: FIRST });
    expect(await chainChangesSince(dapp, seen)).toEqual([]);
  } finally {
    // Other specs in this worker expect the first chain.
    await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: FIRST }]);
  }
});
