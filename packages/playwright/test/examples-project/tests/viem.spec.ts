import { test, expect } from '@tandem-wallet/playwright';
import { serveDapp } from './serve-dapp.js';

test.use({ tandemOptions: { hardhat: true } });

let dapp: Awaited<ReturnType<typeof serveDapp>>;
test.beforeAll(async () => (dapp = await serveDapp('viem-dapp')));
test.afterAll(async () => dapp.close());

test('viem: connect, signTypedData, sendTransaction mined', async ({ page, tandem }) => {
  await page.goto(dapp.url);
  await page.click('#connect');
  await tandem.connect();
  await expect(page.locator('#account')).toHaveText(tandem.address);
  await expect(page.locator('#chain')).toHaveText('31337');

  await page.click('#sign-typed');
  const typed = await tandem.waitForApproval({ kind: 'typedData' });
  expect(typed.fields['typed-data-primary-type']).toContain('Mail');
  expect(typed.fields['typed-data-message']).toContain('hello from viem');
  await tandem.approve();
  await expect(page.locator('#typed-valid')).toHaveText('true', { timeout: 30_000 });

  await page.click('#send');
  const transaction = await tandem.waitForApproval({ kind: 'transaction' });
  expect(transaction.fields['tx-value']).toContain('0.5');
  await tandem.approve();
  await expect(page.locator('#receipt-status')).toHaveText('success', { timeout: 60_000 });

  await page.click('#sign-typed');
  await tandem.reject({ kind: 'typedData' });
  await expect(page.locator('#error')).toHaveText('4001');
});
