/**
 * Co-signer gone: with the co-signer stopped, the user opens the recovery kit in the toolbar popup,
 * and the device and the backup sign a message and send a transaction from the dapp, through the
 * same approval windows, which say loudly that no co-signer takes part. Leaving (or locking)
 * forgets the backup share.
 */
import { createPublicClient, createWalletClient, http, parseEther, toHex, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { hardhat } from 'viem/chains';
import { connectDapp, expect, expectSignatureBy, openDapp, settledWithin, startDappRequest, test, withFreshProfile } from './fixtures.js';
import { HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import { nextApproval, onboard, submitEmergencyKit } from './tandem.js';

test('with the co-signer stopped, emergency mode signs a message and sends a transaction that hardhat mines', async ({ stack, extensionDir }) => {
  test.setTimeout(240_000);
  await withFreshProfile(stack, extensionDir, async (tandem, dir) => {
    const wallet = await onboard(tandem, { password: 'emergency spec password', cosignerUrl: stack.cosigner.url, saveDir: dir });
    const funder = createWalletClient({ account: privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY), chain: hardhat, transport: http(stack.chain.url) });
    await funder.sendTransaction({ to: wallet.address, value: parseEther('2') });
    const dapp = await openDapp(tandem.context, stack.dapp.url);
    expect(await connectDapp(tandem, dapp)).toEqual({ result: [wallet.address] });

    await stack.stopCosigner();
    try {
      const popup = await tandem.context.newPage();
      await popup.goto(tandem.popupUrl('/'));
      await popup.getByTestId('emergency-open').click();
      await submitEmergencyKit(popup, { kitPath: wallet.kitPath, recoverySecret: 'WRONG-WRONG-WRONG-WRONG' });
      await expect(popup.getByTestId('emergency-error')).toContainText('recovery secret does not open this kit');
      await submitEmergencyKit(popup, wallet);
      await expect(popup.getByTestId('emergency-banner')).toContainText('EMERGENCY MODE');

      const message = 'signed with no co-signer';
      const signing = nextApproval(tandem);
      await startDappRequest(dapp, 'emergencySign', 'personal_sign', [`0x${Buffer.from(message).toString('hex')}`, wallet.address]);
      const signPage = await signing;
      await expect(signPage.getByTestId('approval-emergency')).toBeVisible();
      await signPage.getByTestId('approve').click();
      await expectSignatureBy(await settledWithin(dapp, 'emergencySign', 30_000), message, wallet.address);

      const chain = createPublicClient({ transport: http(stack.chain.url) });
      const recipient = '0x00000000000000000000000000000000000000e1';
      const sending = nextApproval(tandem);
      await startDappRequest(dapp, 'emergencySend', 'eth_sendTransaction', [{ from: wallet.address, to: recipient, value: toHex(parseEther('0.25')) }]);
      const sendPage = await sending;
      await expect(sendPage.getByTestId('approval-emergency')).toBeVisible();
      await sendPage.getByTestId('approve').click();
      const sent = await settledWithin(dapp, 'emergencySend', 60_000);
      expect(sent.error).toBeUndefined();
      const receipt = await chain.waitForTransactionReceipt({ hash: sent.result as Hex, pollingInterval: 100, timeout: 30_000 });
      expect(receipt.status).toBe('success');
      expect(receipt.from.toLowerCase()).toBe(wallet.address.toLowerCase());
      expect(await chain.getBalance({ address: recipient })).toBe(parseEther('0.25'));

      await popup.reload();
      await popup.getByTestId('emergency-leave').click();
      await expect(popup.getByTestId('emergency-banner')).toHaveCount(0);
      await expect(popup.getByTestId('emergency-open')).toBeVisible();
    } finally {
      await stack.restartCosigner();
    }
  });
});
