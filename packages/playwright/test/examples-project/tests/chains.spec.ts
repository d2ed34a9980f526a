import { test, expect } from '@tandem-wallet/playwright';
import { servePage } from './serve-dapp.js';

// Two hardhat nodes, chain ids 31337 and 1337: a dapp that works on two chains.
test.use({ tandemOptions: { hardhat: { chainIds: [31337, 1337], balanceEth: 50 } } });

// A bare page: the test calls the provider itself, as a dapp's chain switcher would.
let dapp: Awaited<ReturnType<typeof servePage>>;
test.beforeAll(async () => (dapp = await servePage('<!doctype html><title>chains</title>')));
test.afterAll(async () => dapp.close());

test('two kit chains, funded; the dapp and the user (switchChain) move between them', async ({ page, tandem }) => {
  await page.goto(dapp.url);
  const request = (method: string, params: unknown[] = []) => page.evaluate(([m, p]) => (window as unknown as { ethereum: { request(a: unknown): Promise<unknown> } }).ethereum.request({ method: m, params: p }), [method, params] as const);
  const connecting = request('eth_requestAccounts');
  await tandem.connect();
  expect(await connecting).toEqual([tandem.address]);
  expect(tandem.chains.map((chain) => chain.chainId)).toEqual([31337, 1337]);
  expect(await request('eth_chainId')).toBe('0x7a69');
  expect(BigInt((await request('eth_getBalance', [tandem.address, 'latest'])) as string)).toBe(50n * 10n ** 18n);

  // The dapp switches to the second chain (configured, so no window), where the wallet is funded too.
  expect(await request('wallet_switchEthereumChain', [{ chainId: '0x539' }])).toBeNull();
  expect(await request('eth_chainId')).toBe('0x539');
  expect(BigInt((await request('eth_getBalance', [tandem.address, 'latest'])) as string)).toBe(50n * 10n ** 18n);

  await page.evaluate(() => {
    const w = window as unknown as { ethereum: { on(event: string, listener: (chainId: string) => void): void }; seen: string[] };
    w.seen = [];
    w.ethereum.on('chainChanged', (chainId) => w.seen.push(chainId));
  });
  await tandem.switchChain(31337);
  await expect.poll(() => request('eth_chainId')).toBe('0x7a69');
  await expect.poll(() => page.evaluate(() => (window as unknown as { seen: string[] }).seen)).toEqual(['0x7a69']);
  await expect(tandem.switchChain(5)).rejects.toThrow(/chain 5 is not configured/);
});
