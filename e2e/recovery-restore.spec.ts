/**
 * Lost device, as a person would go through it: onboard and sign in one profile, then in a brand
 * new profile restore from the downloaded kit (after the co-signer's restore delay), save the new
 * kit, and sign from the dapp with the same address. The old profile is refused from then on.
 */
import { connectDapp, cosignerWalletId, expect, expectSignatureBy, openDapp, openPersonalSign, RESTORE_DELAY_MS, settledWithin, test, withFreshProfile } from './fixtures.js';
import { killServiceWorker, onboard, openRestorePage, refreshKeyShares, restoreFromKit, type TandemBrowser } from './tandem.js';

const PASSWORD = 'restore spec password';

async function personalSign(tandem: TandemBrowser, dappUrl: string, address: string, message: string) {
  const dapp = await openDapp(tandem.context, dappUrl);
  expect(await connectDapp(tandem, dapp)).toEqual({ result: [address] });
  const key = `sign-${Date.now()}`;
  const popup = await openPersonalSign(tandem, dapp, key, message, address);
  await popup.getByTestId('approve').click();
  return { answer: await settledWithin(dapp, key, 60_000), dapp };
}

test('restore in a fresh profile from the recovery kit: same address, signs from the dapp, the old profile is refused', async ({ stack, extensionDir }) => {
  test.setTimeout(300_000);
  await withFreshProfile(stack, extensionDir, async (lost, lostDir) => {
    const original = await onboard(lost, { password: PASSWORD, cosignerUrl: stack.cosigner.url, saveDir: lostDir });
    const before = await personalSign(lost, stack.dapp.url, original.address, 'before the device was lost');
    await expectSignatureBy(before.answer, 'before the device was lost', original.address);

    await withFreshProfile(stack, extensionDir, async (fresh, freshDir) => {
      const started = Date.now();
      const restored = await restoreFromKit(fresh, { kitPath: original.kitPath, recoverySecret: original.recoverySecret, password: PASSWORD, saveDir: freshDir });
      expect(restored.address).toBe(original.address);
      expect(Date.now() - started).toBeGreaterThanOrEqual(RESTORE_DELAY_MS);
      expect(restored.recoverySecret).not.toBe(original.recoverySecret);

      const after = await personalSign(fresh, stack.dapp.url, original.address, 'signed after the restore');
      await expectSignatureBy(after.answer, 'signed after the restore', original.address);

      const walletId = (await stack.cosigner.store.listWallets()).find((wallet) => wallet.address === original.address)!.walletId;
      expect(stack.cosigner.store.listDevices(walletId).map((device) => device.status)).toEqual(['revoked', 'active']);
      expect(stack.cosigner.store.getWallet(walletId)?.generation).toBe(1);
    });

    // The lost profile still holds its old share: the co-signer refuses it, and the dapp hears why.
    const refused = await personalSign(lost, stack.dapp.url, original.address, 'from the lost device');
    expect(refused.answer.result).toBeUndefined();
    expect(refused.answer.error?.message).toMatch(/revoked/i);
    // The popup says so for good, and stops offering what a revoked device cannot do.
    const overview = await lost.context.newPage();
    await overview.goto(lost.popupUrl('/'));
    await expect(overview.getByTestId('device-revoked')).toContainText('revoked');
    await expect(overview.getByTestId('refresh-shares')).toHaveCount(0);
  });
});

test('restore refuses a wrong recovery secret and a damaged kit file, and leaves the profile empty', async ({ stack, extensionDir, wallet }) => {
  test.setTimeout(120_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const page = await tandem.context.newPage();
    await page.goto(tandem.popupUrl('/onboarding'));
    await page.getByTestId('onboarding-restore').click();
    await page.getByTestId('restore-kit-file').setInputFiles(wallet.kitPath);
    await page.getByTestId('restore-secret').fill('AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH');
    await page.getByTestId('restore-password').fill(PASSWORD);
    await page.getByTestId('restore-password-confirm').fill(PASSWORD);
    await page.getByTestId('restore-submit').click();
    await expect(page.getByTestId('restore-error')).toContainText('recovery secret does not open this kit');

    const { writeFileSync, readFileSync } = await import('node:fs');
    const truncated = `${dir}/truncated-kit.json`;
    writeFileSync(truncated, readFileSync(wallet.kitPath, 'utf8').slice(0, 400));
    await page.getByTestId('restore-kit-file').setInputFiles(truncated);
    await page.getByTestId('restore-secret').fill(wallet.recoverySecret);
    await page.getByTestId('restore-submit').click();
    await expect(page.getByTestId('restore-error')).toContainText('not a complete Tandem recovery kit');

    const overview = await tandem.context.newPage();
    await overview.goto(tandem.popupUrl('/'));
    await expect(overview.getByTestId('overview-address')).toHaveCount(0);
  });
});

test('a worker killed in the middle of a restore: restoring again in that profile resumes it and finishes', async ({ stack, extensionDir }) => {
  test.setTimeout(300_000);
  await withFreshProfile(stack, extensionDir, async (lost, lostDir) => {
    const original = await onboard(lost, { password: PASSWORD, cosignerUrl: stack.cosigner.url, saveDir: lostDir });
    const walletId = await cosignerWalletId(stack, original.address);
    await withFreshProfile(stack, extensionDir, async (fresh, freshDir) => {
      const startRestore = async (password: string) => {
        const page = await openRestorePage(fresh);
        await page.getByTestId('restore-kit-file').setInputFiles(original.kitPath);
        await page.getByTestId('restore-secret').fill(original.recoverySecret);
        await page.getByTestId('restore-password').fill(password);
        await page.getByTestId('restore-password-confirm').fill(password);
        await page.getByTestId('restore-submit').click();
        return page;
      };
      const oneState = () => {
        expect([0, 1]).toContain(stack.cosigner.store.getWallet(walletId)?.generation);
        // Resuming never enrolls another device: the original and this profile's, at most.
        expect(stack.cosigner.store.listDevices(walletId)).toHaveLength(2);
      };

      // Killed during the co-signer's restore delay: nothing has been dealt yet.
      const first = await startRestore(PASSWORD);
      await expect(first.getByTestId('restore-stage')).toHaveAttribute('data-stage', 'restore-delay', { timeout: 30_000 });
      await killServiceWorker(fresh, first);
      await first.close();
      oneState();

      // The profile now holds an unfinished restore: the toolbar says so, and only its own password resumes it.
      const toolbar = await fresh.context.newPage();
      await toolbar.goto(fresh.popupUrl('/'));
      await expect(toolbar.getByTestId('open-onboarding')).toHaveText('Finish restoring');
      await toolbar.close();
      const wrong = await startRestore('not the password of the first try');
      await expect(wrong.getByTestId('restore-interrupted')).toContainText(original.address);
      await expect(wrong.getByTestId('restore-error')).toContainText('type the password you chose then');
      await wrong.close();

      // Resumed, then killed again once the delay is over: during the re-sharing, or after its commit.
      const second = await startRestore(PASSWORD);
      // Once the delay is over the re-sharing takes a fraction of a second, and at 'recovery-kit' the page moves
      // on to the new recovery secret at once: either stage, or that page, shows the restore resumed.
      const resumed = second
        .locator('[data-testid="restore-stage"][data-stage="restore-delay"], [data-testid="restore-stage"][data-stage="restoring"]')
        .or(second.getByTestId('recovery-secret'));
      await expect(resumed).toBeVisible({ timeout: 30_000 });
      await second.waitForTimeout(RESTORE_DELAY_MS);
      await killServiceWorker(fresh, second);
      await second.close();
      oneState();

      // Whichever it was, the wallet comes out restored, with a kit that works.
      const overview = await fresh.context.newPage();
      await overview.goto(fresh.popupUrl('/'));
      const finish = overview.getByTestId('open-onboarding');
      await finish.or(overview.getByTestId('overview-address')).first().waitFor();
      let kit: { recoverySecret: string; kitPath: string };
      if (await finish.isVisible()) {
        kit = await restoreFromKit(fresh, { kitPath: original.kitPath, recoverySecret: original.recoverySecret, password: PASSWORD, saveDir: freshDir });
      } else {
        // Committed before the kill, so restored; the new kit lived only in the killed worker: the popup says so and makes another.
        await expect(overview.getByTestId('overview-address')).toHaveText(original.address);
        await expect(overview.getByTestId('recovery-kit-lost')).toBeVisible();
        kit = await refreshKeyShares(fresh, { saveDir: freshDir });
      }
      await overview.close();
      expect(stack.cosigner.store.getWallet(walletId)?.status).toBe('active');
      const after = await personalSign(fresh, stack.dapp.url, original.address, 'signed after a resumed restore');
      await expectSignatureBy(after.answer, 'signed after a resumed restore', original.address);
      expect(stack.cosigner.store.listDevices(walletId).map((device) => device.status)).toEqual(['revoked', 'active']);
      expect(kit.recoverySecret).not.toBe(original.recoverySecret);
    });
  });
});
