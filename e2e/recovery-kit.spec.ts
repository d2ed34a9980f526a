/**
 * The backup share lives only in the worker's memory until the recovery kit is saved. A worker
 * killed in between loses it: the wallet must then say plainly that it has no backup, instead of
 * letting the user believe one exists, and offer to make a new kit with the co-signer.
 */
import { expect, test, withFreshProfile } from './fixtures.js';
import { refreshKeyShares, stopServiceWorker } from './tandem.js';

test('a worker restart before the kit is saved leaves a wallet that warns it has no backup', async ({ stack, extensionDir }) => {
  test.setTimeout(180_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const page = await tandem.context.newPage();
    await page.goto(tandem.popupUrl('/onboarding'));
    await page.getByTestId('onboarding-password').fill('kit lost password');
    await page.getByTestId('onboarding-password-confirm').fill('kit lost password');
    await page.getByTestId('onboarding-cosigner-url').fill(stack.cosigner.url);
    await page.getByTestId('onboarding-submit').click();
    await page.getByTestId('recovery-secret').waitFor({ timeout: 90_000 });

    // Before the kit: a fresh toolbar popup shows no warning yet (the kit is still on offer).
    const overview = await tandem.context.newPage();
    await overview.goto(tandem.popupUrl('/'));
    await expect(overview.getByTestId('overview-address')).toBeVisible();
    await expect(overview.getByTestId('recovery-kit-lost')).toHaveCount(0);

    await stopServiceWorker(tandem, overview);
    await overview.reload();
    await expect(overview.getByTestId('recovery-kit-lost')).toContainText('no backup');
    // And the kit cannot be had any more: the confirmation is refused with a clear error.
    await page.getByTestId('recovery-written-down').check();
    await page.getByTestId('recovery-confirm-input').fill((await page.getByTestId('recovery-secret').innerText()).trim());
    await page.getByTestId('recovery-confirm').click();
    await expect(page.getByTestId('recovery-error')).toContainText('no recovery kit waiting');

    // The way back: the popup makes a new kit with the co-signer, and the warning is gone.
    const address = (await overview.getByTestId('overview-address').innerText()).trim();
    await expect(overview.getByTestId('refresh-shares')).toHaveText('Make a recovery kit');
    const kit = await refreshKeyShares(tandem, { saveDir: dir });
    expect(kit.address).toBe(address);
    await overview.reload();
    await expect(overview.getByTestId('overview-address')).toBeVisible();
    await expect(overview.getByTestId('recovery-kit-lost')).toHaveCount(0);
    await expect(overview.getByTestId('refresh-shares')).toHaveText('Refresh key shares');
  });
});
