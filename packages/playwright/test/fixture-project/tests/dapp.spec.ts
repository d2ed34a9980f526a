import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { test, expect } from '@tandem-wallet/playwright';

let server: Server;
let url: string;

test.beforeAll(async () => {
  const html = readFileSync(new URL('../dapp.html', import.meta.url));
  server = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
test.afterAll(async () => {
  // The browser keeps its connections open; close() alone would wait for them.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
});

test('connect, personal_sign, reject', async ({ page, tandem }) => {
  await page.goto(url);
  await page.click('#connect');
  const connect = await tandem.connect();
  expect(connect.kind).toBe('connect');
  await expect(page.locator('#account')).toHaveText(new RegExp(`^${tandem.address}$`, 'i'));

  await page.click('#sign');
  const shown = await tandem.waitForApproval({ kind: 'message' });
  expect(shown.fields['message-text']).toBe('hello tandem');
  expect(shown.origin).toContain('127.0.0.1');
  await tandem.approve();
  await expect(page.locator('#signature')).toHaveText(/^0x[0-9a-f]{130}$/i, { timeout: 30_000 });

  await page.click('#sign');
  await tandem.reject({ kind: 'message' });
  await expect(page.locator('#error')).toHaveText('4001');

  // The kit's extension is a test build (cheap vault KDF), and its popup says so.
  const popup = await tandem.context.newPage();
  await popup.goto(`chrome-extension://${tandem.extensionId}/popup.html#/`);
  await expect(popup.getByTestId('test-build-banner')).toContainText('Never use it for real funds');
  await popup.close();
});
