/**
 * The dist/firefox build in Firefox ESR (headless, WebDriver BiDi): a wallet onboarded through the
 * extension's own pages (keygen with the co-signer over wss://), connect from the demo dapp,
 * personal_sign through the co-signer, and rejections answered with 4001.
 *
 * Runs in `npm test` (vitest, e2e/firefox/vitest.config.ts). Needs /usr/bin/firefox-esr (or
 * TANDEM_FIREFOX): .ci/run installs it. Without it the suite is skipped locally and FAILS under CI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { recoverMessageAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../../scripts/build-extension.js';
import { startStack, type Stack } from '../stack/stack.js';
import {
  FIREFOX_PATH,
  clickTestId,
  dappAnswer,
  dappRequest,
  firefoxInstalled,
  launchFirefoxWithTandem,
  nextApprovalPage,
  onboardInFirefox,
  openDemoDapp,
  startDappRequest,
  textOf,
  type FirefoxTandem,
} from './firefox-tandem.js';

const PASSWORD = 'correct horse battery staple';
const hex = (text: string) => `0x${Buffer.from(text).toString('hex')}`;

const haveFirefox = firefoxInstalled();

if (!haveFirefox) {
  if (process.env.CI) {
    it('Firefox ESR is installed', () => {
      throw new Error(`No Firefox at ${FIREFOX_PATH}: .ci/run installs firefox-esr; the Firefox suite must run in CI.`);
    });
  } else {
    console.warn(`[firefox] skipped: no Firefox at ${FIREFOX_PATH} (apt-get install -y firefox-esr, or set TANDEM_FIREFOX).`);
  }
}

describe.runIf(haveFirefox)('Tandem in Firefox ESR (dist/firefox)', () => {
  let workDir: string;
  let stack: Stack | undefined;
  let tandem: FirefoxTandem | undefined;
  let address: `0x${string}`;
  let dapp: Page;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'tandem-firefox-'));
    const { dappDir } = await buildExtension({ outDir: join(workDir, 'build-dapp'), defaults: {} });
    stack = await startStack({ dataDir: workDir, dappDir, cosigner: { env: { TANDEM_MASTER_KEY: '42'.repeat(32) } } });
    const { firefoxDir } = await buildExtension({
      outDir: join(workDir, 'build'),
      dapp: false,
      defaults: {
        cosignerUrl: stack.cosigner.url,
        chains: [{ id: 31337, name: 'Hardhat (e2e)', rpcUrl: stack.chain.url, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }],
      },
    });
    tandem = await launchFirefoxWithTandem({ extensionDir: firefoxDir });
    ({ address } = await onboardInFirefox(tandem, { password: PASSWORD }));
    dapp = await openDemoDapp(tandem, stack.dapp.url);
  }, 240_000);

  afterAll(async () => {
    await tandem?.close().catch(() => undefined);
    await stack?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('onboarding made a wallet the co-signer holds', async () => {
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const wallets = await stack!.cosigner.store.listWallets();
    expect(wallets.map((wallet) => wallet.address?.toLowerCase())).toContain(address.toLowerCase());
  });

  it('rejecting the connection answers 4001 and grants nothing', async () => {
    const popup = await nextApprovalPage(tandem!, () => startDappRequest(dapp, 'connect-reject', 'eth_requestAccounts'));
    await clickTestId(popup, 'reject');
    const answer = await dappAnswer(dapp, 'connect-reject', 30_000);
    expect(answer).not.toBe('pending');
    expect((answer as { error?: { code: number } }).error?.code).toBe(4001);
    expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [] });
  });

  it('connects from the demo dapp through the approval window', async () => {
    expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: '0x7a69' });
    const popup = await nextApprovalPage(tandem!, () => startDappRequest(dapp, 'connect', 'eth_requestAccounts'));
    expect(await textOf(popup, 'approval-origin')).toContain(new URL(stack!.dapp.url).host);
    await clickTestId(popup, 'approve');
    expect(await dappAnswer(dapp, 'connect', 30_000)).toEqual({ result: [address] });
    expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [address] });
  });

  it('personal_sign is signed with the co-signer and recovers to the wallet', async () => {
    const message = `Sign in to the e2e dapp from Firefox\nnonce ${Date.now()}`;
    const popup = await nextApprovalPage(tandem!, () => startDappRequest(dapp, 'sign', 'personal_sign', [hex(message), address]));
    expect(await textOf(popup, 'message-text')).toBe(message);
    await clickTestId(popup, 'approve');
    const answer = await dappAnswer(dapp, 'sign', 60_000);
    expect(answer).not.toBe('pending');
    const { result, error } = answer as { result?: unknown; error?: unknown };
    expect(error, JSON.stringify(error)).toBeUndefined();
    expect(result).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await recoverMessageAddress({ message, signature: result as `0x${string}` })).toBe(address);
    expect(await recoverMessageAddress({ message: `${message}.`, signature: result as `0x${string}` })).not.toBe(address);
  });

  it('rejecting personal_sign answers 4001', async () => {
    const popup = await nextApprovalPage(tandem!, () => startDappRequest(dapp, 'sign-reject', 'personal_sign', [hex('Do not sign this'), address]));
    await clickTestId(popup, 'reject');
    const answer = await dappAnswer(dapp, 'sign-reject', 30_000);
    expect(answer).not.toBe('pending');
    const { result, error } = answer as { result?: unknown; error?: { code: number } };
    expect(result).toBeUndefined();
    expect(error?.code).toBe(4001);
  });
});
