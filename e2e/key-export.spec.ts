/**
 * Leaving Tandem: with the co-signer stopped (an operator cannot freeze the funds), the user opens
 * "Leave Tandem" in the toolbar popup, gives the recovery kit, its secret, the password and the
 * typed phrase, and sees the wallet's private key once. Each wrong input gets its own clear error;
 * the key shown is the wallet's (viem derives the address from it); "Done" removes it, and it is
 * in no extension storage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { expect, test, withFreshProfile } from './fixtures.js';
import { EXPORT_KEY_CONFIRMATION as PHRASE } from '../src/background/api.js';
import { onboard } from './tandem.js';

test('the popup exports the private key of the wallet, once, after the kit, its secret, the password and the typed phrase', async ({ stack, extensionDir }) => {
  test.setTimeout(240_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const wallet = await onboard(tandem, { password: 'key export spec password', cosignerUrl: stack.cosigner.url, saveDir: dir });

    // A kit naming another wallet's address (one profile holds one wallet, so it is this kit with the address changed).
    const otherAddress = '0x00000000000000000000000000000000000000e2';
    const otherKitPath = join(dir, 'other-wallet-kit.json');
    writeFileSync(otherKitPath, JSON.stringify({ ...JSON.parse(readFileSync(wallet.kitPath, 'utf8')), address: otherAddress }));

    await stack.stopCosigner();
    try {
      const popup = await tandem.context.newPage();
      await popup.goto(tandem.popupUrl('/'));
      await popup.getByTestId('key-export-open').click();
      await expect(popup.getByText('Anyone with this key controls all the funds')).toBeVisible();
      await expect(popup.getByText(`Type ${PHRASE} to confirm`)).toBeVisible();
      const error = popup.getByTestId('key-export-error');
      const submit = popup.getByTestId('key-export-submit');

      // 1. The phrase typed wrong (lower case, as the CLI once had it).
      await popup.getByTestId('key-export-kit-file').setInputFiles(wallet.kitPath);
      await popup.getByTestId('key-export-secret').fill(wallet.recoverySecret);
      await popup.getByTestId('key-export-password').fill(wallet.password);
      await popup.getByTestId('key-export-confirmation').fill(PHRASE.toLowerCase());
      await submit.click();
      await expect(error).toContainText(`Type "${PHRASE}" exactly`);
      await expect(popup.getByTestId('exported-key')).toHaveCount(0);

      // 2. A wrong password.
      await popup.getByTestId('key-export-confirmation').fill(PHRASE);
      await popup.getByTestId('key-export-password').fill('not the password');
      await submit.click();
      await expect(error).toContainText('Wrong password');
      await expect(popup.getByTestId('exported-key')).toHaveCount(0);

      // 3. A wrong recovery secret (failures keep the form as typed: only the field at fault changes).
      await popup.getByTestId('key-export-password').fill(wallet.password);
      await popup.getByTestId('key-export-secret').fill('WRONG-WRONG-WRONG-WRONG');
      await submit.click();
      await expect(error).toContainText('recovery secret does not open this kit');
      await expect(popup.getByTestId('exported-key')).toHaveCount(0);

      // 4. A kit of another address.
      await popup.getByTestId('key-export-secret').fill(wallet.recoverySecret);
      await popup.getByTestId('key-export-kit-file').setInputFiles(otherKitPath);
      await submit.click();
      await expect(error).toContainText(`This recovery kit is of ${otherAddress}, not of this wallet`);
      await expect(popup.getByTestId('exported-key')).toHaveCount(0);

      // 5. Everything right: the key, once.
      await popup.getByTestId('key-export-kit-file').setInputFiles(wallet.kitPath);
      await submit.click();
      const shown = popup.getByTestId('exported-key');
      await expect(shown).toHaveText(/^0x[0-9a-f]{64}$/, { timeout: 60_000 });
      const key = (await shown.innerText()).trim() as `0x${string}`;
      expect(privateKeyToAccount(key).address).toBe(wallet.address);

      // It is in no extension storage (the vault in IndexedDB is sealed; storage.local/session hold no plaintext).
      const stored = await (await tandem.serviceWorker()).evaluate(async () => {
        const chrome = (globalThis as unknown as { chrome: { storage: { local: { get(k: null): Promise<object> }; session: { get(k: null): Promise<object> } } } }).chrome;
        return JSON.stringify([await chrome.storage.local.get(null), await chrome.storage.session.get(null)]);
      });
      expect(stored.toLowerCase()).not.toContain(key.slice(2));

      // "Done" drops it from the page.
      await popup.getByTestId('key-export-done').click();
      await expect(popup.getByTestId('exported-key')).toHaveCount(0);
      expect((await popup.content()).toLowerCase()).not.toContain(key.slice(2));
      await expect(popup.getByTestId('key-export-open')).toBeVisible();
      await popup.close();
    } finally {
      await stack.restartCosigner();
    }
  });
});
