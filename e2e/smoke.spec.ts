import { recoverMessageAddress } from 'viem';
import { dappRequest, expect, test } from './fixtures.js';
import { answerApproval } from './tandem.js';

test('connect and personal_sign through the popup', async ({ tandem, wallet, dapp }) => {
  expect((await dappRequest(dapp, 'eth_accounts')).result).toEqual([]);
  await answerApproval(tandem, () => dapp.evaluate(() => void (window as any).tandemDemo.request('eth_requestAccounts').then((a: unknown) => ((window as any).lastConnect = a))), 'approve');
  await expect.poll(() => dapp.evaluate(() => (window as any).lastConnect)).toEqual({ result: [wallet.address] });
  const message = 'hello from e2e';
  const hex = `0x${Buffer.from(message).toString('hex')}`;
  await answerApproval(tandem, () => dapp.evaluate(([h, a]) => void (window as any).tandemDemo.request('personal_sign', [h, a]).then((r: unknown) => ((window as any).lastSign = r)), [hex, wallet.address]), 'approve');
  const signed = await expect.poll(() => dapp.evaluate(() => (window as any).lastSign), { timeout: 30_000 }).not.toBeUndefined().then(() => dapp.evaluate(() => (window as any).lastSign));
  expect(await recoverMessageAddress({ message, signature: signed.result })).toBe(wallet.address);
});
