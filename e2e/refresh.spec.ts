/**
 * Refresh key shares, as a person would in the popup: sign from the dapp, click "Refresh key
 * shares", save the NEW recovery kit, and sign again with the same address. The co-signer moved
 * to a new generation and dropped every presignature made under the old shares; the old kit no
 * longer opens emergency mode, the new one does.
 */
import type { Stack } from './stack/stack.js';
import { connectDapp, cosignerWalletId, expect, expectSignatureBy, openDapp, openPersonalSign, settledWithin, test, withFreshProfile } from './fixtures.js';
import { killServiceWorker, onboard, refreshKeyShares, submitEmergencyKit, type TandemBrowser } from './tandem.js';

/** A new wallet in this profile, connected to the demo dapp; `sign` asks it for a personal_sign, approves it and checks the signature. */
async function walletOnDapp(tandem: TandemBrowser, stack: Stack, dir: string) {
  const wallet = await onboard(tandem, { password: 'refresh spec password', cosignerUrl: stack.cosigner.url, saveDir: dir });
  const walletId = await cosignerWalletId(stack, wallet.address);
  const dapp = await openDapp(tandem.context, stack.dapp.url);
  expect(await connectDapp(tandem, dapp)).toEqual({ result: [wallet.address] });
  let signatures = 0;
  const sign = async (message: string) => {
    const key = `sign-${++signatures}`;
    const popup = await openPersonalSign(tandem, dapp, key, message, wallet.address);
    await popup.getByTestId('approve').click();
    await expectSignatureBy(await settledWithin(dapp, key, 60_000), message, wallet.address);
  };
  return { wallet, walletId, sign };
}


test('refresh key shares in the popup: same address, a new kit, old presignatures and the old kit dead', async ({ stack, extensionDir }) => {
  test.setTimeout(240_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const { wallet, walletId, sign } = await walletOnDapp(tandem, stack, dir);
    await sign('signed before the refresh');
    // The worker keeps a pool of presignatures: they are what the refresh must kill.
    await expect.poll(() => stack.cosigner.store.countReadyPresignatures(walletId), { timeout: 30_000 }).toBeGreaterThan(0);
    const pooled = await stack.cosigner.store.countReadyPresignatures(walletId);
    expect(stack.cosigner.store.getWallet(walletId)?.generation).toBe(0);

    const refreshed = await refreshKeyShares(tandem, { saveDir: dir });
    expect(refreshed.address).toBe(wallet.address);
    expect(refreshed.recoverySecret).not.toBe(wallet.recoverySecret);
    expect(stack.cosigner.store.getWallet(walletId)).toMatchObject({ generation: 1, status: 'active', parties: [1, 2, 3] });
    const [audited] = await stack.cosigner.store.audit.list({ walletId, kind: 'refresh' });
    expect(audited?.summary).toMatchObject({ newBackup: true, generation: 1, previousGeneration: 0 });
    expect(Number(audited?.summary.presignaturesDropped)).toBeGreaterThanOrEqual(pooled);

    await sign('signed after the refresh');

    // The kit from before the refresh is dead; the new one works (checked without using it to sign).
    const popup = await tandem.context.newPage();
    await popup.goto(tandem.popupUrl('/'));
    await popup.getByTestId('emergency-open').click();
    await submitEmergencyKit(popup, wallet);
    await expect(popup.getByTestId('emergency-error')).toContainText('different refreshes');
    await submitEmergencyKit(popup, refreshed);
    await expect(popup.getByTestId('emergency-banner')).toContainText('EMERGENCY MODE');
    await popup.getByTestId('emergency-leave').click();
    await expect(popup.getByTestId('emergency-banner')).toHaveCount(0);
  });
});

test('a worker killed in the middle of a refresh leaves one consistent state, and the next refresh completes', async ({ stack, extensionDir }) => {
  test.setTimeout(300_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const { wallet, walletId, sign } = await walletOnDapp(tandem, stack, dir);

    // Killed at different points of the re-sharing: right away, during its rounds, and later.
    for (const delayMs of [0, 150, 400, 800]) {
      const generation = stack.cosigner.store.getWallet(walletId)!.generation!;
      const page = await tandem.context.newPage();
      await page.goto(tandem.popupUrl('/new-kit'));
      await page.getByTestId('new-kit-start').click();
      await page.waitForTimeout(delayMs);
      await killServiceWorker(tandem, page);
      await page.close();

      // Exactly one state: the co-signer moved at most one generation, and the wallet signs with it.
      const after = stack.cosigner.store.getWallet(walletId)!;
      expect([generation, generation + 1]).toContain(after.generation);
      expect(after.status).toBe('active');
      await sign(`signed after a refresh killed at ${delayMs} ms`);
    }

    // Whatever the kills left, a refresh runs to the end and its kit is the one that works.
    const before = stack.cosigner.store.getWallet(walletId)!.generation!;
    const refreshed = await refreshKeyShares(tandem, { saveDir: dir });
    expect(refreshed.address).toBe(wallet.address);
    expect(stack.cosigner.store.getWallet(walletId)!.generation).toBeGreaterThan(before);
    await sign('signed after the completed refresh');
    const popup = await tandem.context.newPage();
    await popup.goto(tandem.popupUrl('/'));
    await expect(popup.getByTestId('recovery-kit-lost')).toHaveCount(0);
    await popup.getByTestId('emergency-open').click();
    await submitEmergencyKit(popup, refreshed);
    await expect(popup.getByTestId('emergency-banner')).toContainText('EMERGENCY MODE');
    await popup.getByTestId('emergency-leave').click();
  });
});
