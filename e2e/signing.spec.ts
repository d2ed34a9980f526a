import { recoverMessageAddress, verifyTypedData, type Address, type Hex } from 'viem';
import { disconnect, ensureConnected, expect, settledDappRequest, startDappRequest, test } from './fixtures.js';
import { nextApproval } from './tandem.js';
import { mailTypedDataWithDomainType } from '../src/client/testing/mail-typed-data.js';

const hex = (text: string): Hex => `0x${Buffer.from(text).toString('hex')}`;

function mail(address: Address, chainId: number) {
  return mailTypedDataWithDomainType({ chainId, contents: 'Meet me at the tandem bike.', from: address });
}


// Connect only when no earlier spec of this worker did, and leave the origin as it was found.
let connectedHere = false;
test.afterEach(async ({ dapp }) => {
  if (connectedHere) await disconnect(dapp);
  connectedHere = false;
});

test('personal_sign shows the text and its signature recovers to the wallet', async ({ tandem, wallet, dapp }) => {
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  const message = `Sign in to the e2e dapp\nnonce ${Date.now()}`;
  const popup = nextApproval(tandem);
  await startDappRequest(dapp, 'sign', 'personal_sign', [hex(message), wallet.address]);
  const page = await popup;
  await expect(page.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'message');
  await expect(page.getByTestId('approval-origin')).toContainText(new URL(dapp.url()).host);
  await expect(page.getByTestId('message-text')).toHaveText(message);
  await page.getByTestId('approve').click();

  const answer = await settledDappRequest(dapp, 'sign');
  expect(answer.error).toBeUndefined();
  expect(answer.result).toMatch(/^0x[0-9a-f]{130}$/);
  expect(await recoverMessageAddress({ message, signature: answer.result as Hex })).toBe(wallet.address);
  expect(await recoverMessageAddress({ message: `${message}.`, signature: answer.result as Hex })).not.toBe(wallet.address);
});

test('eth_signTypedData_v4 shows the domain and fields and its signature verifies', async ({ tandem, wallet, dapp }) => {
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);
  const typedData = mail(wallet.address, 31337);
  const popup = nextApproval(tandem);
  await startDappRequest(dapp, 'typed', 'eth_signTypedData_v4', [wallet.address, JSON.stringify(typedData)]);
  const page = await popup;
  await expect(page.getByTestId('approval-kind')).toHaveAttribute('data-kind', 'typedData');
  await expect(page.getByTestId('typed-data-domain')).toContainText('Ether Mail');
  await expect(page.getByTestId('typed-data-domain')).toContainText('31337');
  await expect(page.getByTestId('typed-data-primary-type')).toHaveText('Mail');
  await expect(page.getByTestId('typed-data-message')).toContainText('Meet me at the tandem bike.');
  await expect(page.getByTestId('typed-data-message')).toContainText('Cow');
  await expect(page.getByTestId('typed-data-message')).toContainText('Bob');
  await expect(page.getByTestId('warning-CHAIN_MISMATCH')).toHaveCount(0);
  await page.getByTestId('approve').click();

  const answer = await settledDappRequest(dapp, 'typed');
  expect(answer.error).toBeUndefined();
  const signature = answer.result as Hex;
  // viem derives EIP712Domain from the domain's fields: the same four, in the same order.
  const { types: { EIP712Domain: _domainType, ...types }, primaryType, domain, message } = typedData;
  expect(await verifyTypedData({ address: wallet.address, types, primaryType, domain, message, signature })).toBe(true);
  const altered = { ...message, contents: 'Meet me elsewhere.' };
  expect(await verifyTypedData({ address: wallet.address, types, primaryType, domain, message: altered, signature })).toBe(false);
});

test('rejecting in the popup gives the dapp 4001', async ({ tandem, wallet, dapp }) => {
  connectedHere = await ensureConnected(tandem, dapp, wallet.address);

  // A message that is not text is shown as hex, with a warning.
  const bytes = '0xdeadbeef00ff';
  let popup = nextApproval(tandem);
  await startDappRequest(dapp, 'binary', 'personal_sign', [bytes, wallet.address]);
  let page = await popup;
  await expect(page.getByTestId('message-text')).toHaveText(bytes);
  await expect(page.getByTestId('warning-NOT_TEXT')).toBeVisible();
  await page.getByTestId('reject').click();
  const rejectedMessage = await settledDappRequest(dapp, 'binary');
  expect(rejectedMessage.result).toBeUndefined();
  expect(rejectedMessage.error?.code).toBe(4001);

  // Typed data for another chain is flagged, and rejected.
  popup = nextApproval(tandem);
  await startDappRequest(dapp, 'otherChain', 'eth_signTypedData_v4', [wallet.address, JSON.stringify(mail(wallet.address, 1))]);
  page = await popup;
  await expect(page.getByTestId('warning-CHAIN_MISMATCH')).toBeVisible();
  await page.getByTestId('reject').click();
  const rejectedTyped = await settledDappRequest(dapp, 'otherChain');
  expect(rejectedTyped.result).toBeUndefined();
  expect(rejectedTyped.error?.code).toBe(4001);

  // The dapp's own viem call sees the rejection as UserRejectedRequestError (4001) too.
  popup = nextApproval(tandem);
  const viemCall = dapp.evaluate(async (account) => {
    const demo = (window as unknown as { tandemDemo: { walletClient: { signMessage(args: { account: string; message: string }): Promise<string> } } }).tandemDemo;
    try {
      return { signature: await demo.walletClient.signMessage({ account, message: 'reject me' }) };
    } catch (error) {
      return { name: (error as Error).name, code: (error as { code?: number }).code };
    }
  }, wallet.address);
  page = await popup;
  await expect(page.getByTestId('message-text')).toHaveText('reject me');
  await page.getByTestId('reject').click();
  expect(await viemCall).toEqual({ name: 'UserRejectedRequestError', code: 4001 });
});
