import { test, expect } from '@tandem-wallet/playwright';
import { serveDapp } from './serve-dapp.js';

// The kit starts a hardhat node (this project's hardhat) and funds the wallet on it.
test.use({ tandemOptions: { hardhat: true } });

let dapp: Awaited<ReturnType<typeof serveDapp>>;
test.beforeAll(async () => (dapp = await serveDapp('ethers-dapp')));
test.afterAll(async () => dapp.close());

test('ethers v6: connect, signMessage, sendTransaction mined', async ({ page, tandem }) => {
  await page.goto(dapp.url);
  await page.click('#connect');
  await tandem.connect();
  await expect(page.locator('#account')).toHaveText(tandem.address);
  await expect(page.locator('#chain')).toHaveText(String(tandem.chainId));

  await page.click('#sign');
  const message = await tandem.waitForApproval({ kind: 'message' });
  expect(message.fields['message-text']).toBe('hello from ethers');
  await tandem.approve();
  await expect(page.locator('#recovered')).toHaveText(tandem.address, { timeout: 30_000 });

  await page.click('#send');
  const transaction = await tandem.waitForApproval({ kind: 'transaction' });
  expect(transaction.fields['tx-to']).toMatch(/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/i);
  expect(transaction.fields['tx-value']).toContain('0.25');
  await tandem.approve();
  await expect(page.locator('#receipt-status')).toHaveText('1', { timeout: 60_000 });

  await page.click('#sign');
  await tandem.reject({ kind: 'message' });
  await expect(page.locator('#error')).toHaveText('4001');
});
