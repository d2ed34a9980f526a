/**
 * Auto-lock: after the configured idle time the vault key leaves storage.session, and a worker
 * woken afterwards finds the wallet locked: the dapp sees no address until the user unlocks.
 */
import { dappRequest, ensureConnected, expect, test } from './fixtures.js';
import { stopServiceWorker } from './tandem.js';

test('an idle wallet locks itself, and a restarted worker does not reopen it', async ({ tandem, wallet, dapp }) => {
  await ensureConnected(tandem, dapp, wallet.address);
  expect((await dappRequest(dapp, 'eth_accounts')).result).toEqual([wallet.address]);

  // The default is 15 minutes: make the last activity 16 minutes old, as if the user had left.
  const worker = await tandem.serviceWorker();
  const settings = await worker.evaluate(async () => {
    const chrome = (globalThis as unknown as { chrome: { storage: { session: { set(v: object): Promise<void>; get(k: string): Promise<Record<string, unknown>> } } } }).chrome;
    await chrome.storage.session.set({ lastActivityAt: Date.now() - 16 * 60_000 });
    return chrome.storage.session.get('vaultKey');
  });
  expect(settings.vaultKey).toBeTruthy();
  await stopServiceWorker(tandem, dapp);

  await expect.poll(async () => (await dappRequest(dapp, 'eth_accounts')).result).toEqual([]);
  const after = await (await tandem.serviceWorker()).evaluate(async () =>
    (globalThis as unknown as { chrome: { storage: { session: { get(k: string): Promise<Record<string, unknown>> } } } }).chrome.storage.session.get('vaultKey'),
  );
  expect(after.vaultKey).toBeUndefined();

  // Unlocking brings the address back (and leaves the shared wallet unlocked for the other specs).
  const popup = await tandem.context.newPage();
  await popup.goto(tandem.popupUrl('/'));
  await popup.getByTestId('unlock-password').fill(wallet.password);
  await popup.getByTestId('unlock-submit').click();
  await expect(popup.getByTestId('overview-address')).toContainText(wallet.address.slice(2, 8));
  await popup.close();
  expect((await dappRequest(dapp, 'eth_accounts')).result).toEqual([wallet.address]);
});
