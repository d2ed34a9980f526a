/**
 * Playwright fixtures: per worker, a real stack (co-signer on its embedded broker, hardhat 2
 * chains, the demo dapp), the extension built against it, Chromium with it loaded, and a wallet
 * onboarded through the UI and funded. Per test, a dapp page that found Tandem by EIP-6963.
 */
import { test as base, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { hardhat } from 'viem/chains';
import { buildExtension } from '../scripts/build-extension.js';
import { HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import { startStack, SECOND_CHAIN_ID, type Stack } from './stack/stack.js';
import { launchWithTandem, onboard, type OnboardedWallet, type TandemBrowser } from './tandem.js';

export const PASSWORD = 'correct horse battery staple';

interface WorkerFixtures {
  workDir: string;
  stack: Stack;
  extensionDir: string;
  tandem: TandemBrowser;
  wallet: OnboardedWallet;
}

interface TestFixtures {
  dapp: Page;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  workDir: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const dir = mkdtempSync(join(tmpdir(), 'tandem-e2e-'));
      await use(dir);
      rmSync(dir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
  stack: [
    async ({ workDir }, use) => {
      const { dappDir } = await buildExtension({ outDir: join(workDir, 'build-dapp'), defaults: {} }).then((built) => built);
      const stack = await startStack({ dataDir: workDir, dappDir, secondChain: true, cosigner: { env: { TANDEM_MASTER_KEY: '42'.repeat(32) } } });
      await use(stack);
      await stack.stop();
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  extensionDir: [
    async ({ workDir, stack }, use) => {
      const { chromeDir } = await buildExtension({
        outDir: join(workDir, 'build'),
        dapp: false,
        defaults: {
          cosignerUrl: stack.cosigner.url,
          chains: [{ id: 31337, name: 'Hardhat (e2e)', rpcUrl: stack.chain.url, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }],
        },
      });
      await use(chromeDir);
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  tandem: [
    async ({ workDir, stack, extensionDir }, use) => {
      const tandem = await launchWithTandem({ userDataDir: join(workDir, 'profile'), extensionDir, spkiHash: stack.cosigner.spkiHash });
      await use(tandem);
      await tandem.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  wallet: [
    async ({ tandem, stack, workDir }, use) => {
      const wallet = await onboard(tandem, { password: PASSWORD, cosignerUrl: stack.cosigner.url, saveDir: workDir });
      const funder = createWalletClient({ account: privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY), chain: hardhat, transport: http(stack.chain.url) });
      await funder.sendTransaction({ to: wallet.address, value: parseEther('100') });
      await use(wallet);
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  dapp: async ({ tandem, stack }, use) => {
    const page = await tandem.context.newPage();
    await page.goto(stack.dapp.url);
    await page.evaluate(() => (window as unknown as { tandemDemo: { ready: Promise<void> } }).tandemDemo.ready);
    await use(page);
    await page.close();
  },
});

export { expect } from '@playwright/test';
export { SECOND_CHAIN_ID };

/** window.tandemDemo.request from the page: {result} or {error}, never throws. */
export type DemoAnswer = { result?: unknown; error?: { code: number; message: string; data?: unknown } };

export function dappRequest(page: Page, method: string, params?: unknown): Promise<DemoAnswer> {
  return page.evaluate(
    ([m, p]) => (window as unknown as { tandemDemo: { request(method: string, params?: unknown): Promise<DemoAnswer> } }).tandemDemo.request(m as string, p),
    [method, params] as const,
  );
}
