import { dappEvents, dappRequest, expect, openDapp, settledDappRequest, startDappRequest, test } from './fixtures.js';
import { answerApproval } from './tandem.js';

const hex = (text: string) => `0x${Buffer.from(text).toString('hex')}`;

test('an origin learns no address until it connects, and none after it revokes', async ({ tandem, wallet, stack }) => {
  // The same server under another origin than the 127.0.0.1 one the other specs connect.
  const url = stack.dapp.url.replace('127.0.0.1', 'localhost');
  expect(url).not.toBe(stack.dapp.url);
  const page = await openDapp(tandem.context, url);
  try {
    expect(await page.evaluate(() => location.origin)).toBe(new URL(url).origin);
    expect(await dappRequest(page, 'eth_accounts')).toEqual({ result: [] });
    expect(await dappRequest(page, 'wallet_getPermissions')).toEqual({ result: [] });
    expect((await dappRequest(page, 'personal_sign', [hex('not yet'), wallet.address])).error?.code).toBe(4100);
    expect(await dappRequest(page, 'eth_chainId')).toEqual({ result: '0x7a69' });
    expect(await dappRequest(page, 'net_version')).toEqual({ result: '31337' });
    expect(JSON.stringify(await dappEvents(page))).not.toContain(wallet.address.slice(2).toLowerCase());

    await answerApproval(tandem, () => startDappRequest(page, 'connect', 'eth_requestAccounts'), 'approve');
    expect(await settledDappRequest(page, 'connect')).toEqual({ result: [wallet.address] });
    expect(await dappRequest(page, 'eth_accounts')).toEqual({ result: [wallet.address] });
    const permissions = await dappRequest(page, 'wallet_getPermissions');
    expect(permissions.result).toEqual([
      expect.objectContaining({
        parentCapability: 'eth_accounts',
        invoker: new URL(url).origin,
        caveats: [{ type: 'restrictReturnedAccounts', value: [wallet.address] }],
      }),
    ]);
    await expect.poll(async () => (await dappEvents(page)).filter((e) => e.event === 'accountsChanged').at(-1)?.data).toEqual([wallet.address]);

    const eventsBefore = (await dappEvents(page)).length;
    expect(await dappRequest(page, 'wallet_revokePermissions', [{ eth_accounts: {} }])).toEqual({ result: null });
    expect(await dappRequest(page, 'eth_accounts')).toEqual({ result: [] });
    expect(await dappRequest(page, 'wallet_getPermissions')).toEqual({ result: [] });
    await expect.poll(async () => (await dappEvents(page)).slice(eventsBefore)).toContainEqual({ event: 'accountsChanged', data: [] });
    expect((await dappRequest(page, 'personal_sign', [hex('revoked'), wallet.address])).error?.code).toBe(4100);
  } finally {
    await page.close();
  }
});

test('refused, unknown and malformed requests get their exact error codes', async ({ dapp, wallet }) => {
  const message = hex('some hash');
  expect((await dappRequest(dapp, 'eth_sign', [wallet.address, message])).error?.code).toBe(4200);
  expect((await dappRequest(dapp, 'tandem_noSuchMethod', [])).error?.code).toBe(4200);
  expect((await dappRequest(dapp, 'eth_signTransaction', [{ from: wallet.address }])).error?.code).toBe(4200);
  expect((await dappRequest(dapp, 'personal_sign', [123])).error?.code).toBe(-32602);
  expect((await dappRequest(dapp, 'personal_sign', [123, wallet.address])).error?.code).toBe(-32602);
  expect((await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: 'nope' }])).error?.code).toBe(-32602);
  expect((await dappRequest(dapp, 'wallet_revokePermissions', [])).error?.code).toBe(-32602);
  // A read-only method still passes through to the chain.
  expect((await dappRequest(dapp, 'eth_blockNumber')).result).toMatch(/^0x[0-9a-f]+$/);
});
