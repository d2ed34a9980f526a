import { existsSync, readFileSync } from 'node:fs';
import { getAddress } from 'viem';
import { openRecoveryKit, type RecoveryKit } from '../src/background/recovery-kit.js';
import { importKeyShare, keyShareAddress } from '../src/mpc/keyshare.js';
import { dappEvents, dappRequest, expect, openDapp, settledDappRequest, startDappRequest, test, withFreshProfile } from './fixtures.js';
import { answerApproval, onboard } from './tandem.js';

const PASSWORD = 'a different onboarding password';

// Its own browser profile: onboarding starts from a fresh install, not the worker's shared wallet.
test('onboarding produces a real recovery kit, and the vault locks and unlocks', async ({ stack, extensionDir }) => {
  test.setTimeout(180_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const wallet = await onboard(tandem, { password: PASSWORD, cosignerUrl: stack.cosigner.url, saveDir: dir });
    expect(wallet.address).toBe(getAddress(wallet.address));

    // The kit is a file on disk that opens with the recovery secret and holds the backup share of this very wallet.
    expect(existsSync(wallet.kitPath)).toBe(true);
    const kit = JSON.parse(readFileSync(wallet.kitPath, 'utf8')) as RecoveryKit;
    expect(kit.format).toBe('tandem-recovery-kit');
    // The user build has the full KDF cost; only the dapp-test kit's build lowers it (WEAK_TEST_KDF).
    expect(kit.kdf.N).toBe(2 ** 15);
    expect(getAddress(kit.address)).toBe(wallet.address);
    expect(readFileSync(wallet.kitPath, 'utf8')).not.toContain('secretShare');
    const backupShare = importKeyShare(await openRecoveryKit(kit, wallet.recoverySecret));
    expect(keyShareAddress(backupShare)).toBe(wallet.address);
    expect(backupShare.threshold).toBe(2);
    expect(backupShare.parties).toHaveLength(3);
    const wrongSecret = wallet.recoverySecret.replace(/[0-9A-Z]/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(wrongSecret).not.toBe(wallet.recoverySecret);
    await expect(openRecoveryKit(kit, wrongSecret)).rejects.toMatchObject({ code: 'BAD_RECOVERY_SECRET' });

    // A connected origin sees the address only while the wallet is unlocked.
    const dapp = await openDapp(tandem.context, stack.dapp.url);
    await answerApproval(tandem, () => startDappRequest(dapp, 'connect', 'eth_requestAccounts'), 'approve');
    expect(await settledDappRequest(dapp, 'connect')).toEqual({ result: [wallet.address] });
    expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [wallet.address] });

    const toolbar = await tandem.context.newPage();
    await toolbar.goto(tandem.popupUrl('/'));
    await expect(toolbar.getByTestId('overview-address')).toHaveText(wallet.address);
    await expect(toolbar.getByTestId('test-build-banner')).toHaveCount(0);
    await toolbar.getByTestId('lock').click();
    await expect(toolbar.getByTestId('unlock-password')).toBeVisible();
    await expect(toolbar.getByTestId('overview-address')).toHaveCount(0);
    await expect.poll(async () => (await dappRequest(dapp, 'eth_accounts')).result).toEqual([]);
    await expect.poll(async () => (await dappEvents(dapp)).filter((e) => e.event === 'accountsChanged').at(-1)?.data).toEqual([]);

    // A wrong password is refused with a message, and the wallet stays locked.
    await toolbar.getByTestId('unlock-password').fill('not the password');
    await toolbar.getByTestId('unlock-submit').click();
    await expect(toolbar.getByTestId('unlock-error')).toBeVisible({ timeout: 30_000 });
    await expect(toolbar.getByTestId('unlock-error')).not.toBeEmpty();
    await expect(toolbar.getByTestId('overview-address')).toHaveCount(0);
    expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [] });
    const reopened = await tandem.context.newPage();
    await reopened.goto(tandem.popupUrl('/'));
    await expect(reopened.getByTestId('unlock-password')).toBeVisible();
    await reopened.close();

    // The right one unlocks, and the connected origin sees the address again.
    await toolbar.getByTestId('unlock-password').fill(PASSWORD);
    await toolbar.getByTestId('unlock-submit').click();
    await expect(toolbar.getByTestId('overview-address')).toHaveText(wallet.address, { timeout: 30_000 });
    expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [wallet.address] });
    await expect.poll(async () => (await dappEvents(dapp)).filter((e) => e.event === 'accountsChanged').at(-1)?.data).toEqual([wallet.address]);
  });
});
