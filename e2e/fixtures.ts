/**
 * Playwright fixtures: per worker, a real stack (co-signer on its embedded broker, hardhat 2
 * chains, the demo dapp), the extension built against it, Chromium with it loaded, and a wallet
 * onboarded through the UI and funded. Per test, a dapp page that found Tandem by EIP-6963.
 */
import { expect, test as base, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http, parseEther, recoverMessageAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { hardhat } from 'viem/chains';
import { buildExtension } from '../scripts/build-extension.js';
import { HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import { startStack, SECOND_CHAIN_ID, type Stack } from './stack/stack.js';
import { answerApproval, launchWithTandem, nextApproval, onboard, type OnboardedWallet, type TandemBrowser } from './tandem.js';

export const PASSWORD = 'correct horse battery staple';
/** The co-signer's restore delay in the specs: long enough to be seen waiting, short enough to wait out. */
export const RESTORE_DELAY_MS = 3_000;

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
      const stack = await startStack({ dataDir: workDir, dappDir, secondChain: true, cosigner: { env: { TANDEM_MASTER_KEY: '42'.repeat(32) }, restoreDelayMs: RESTORE_DELAY_MS } });
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

/**
 * Starts a dapp request without waiting for it (its answer may wait on a popup); `settled` reads it
 * later. `key` names it on the page, so several may be in flight.
 */
export async function startDappRequest(page: Page, key: string, method: string, params?: unknown): Promise<void> {
  await page.evaluate(
    ([k, m, p]) => {
      const w = window as unknown as { tandemDemo: { request(method: string, params?: unknown): Promise<DemoAnswer> }; pendingRequests?: Record<string, Promise<DemoAnswer>> };
      w.pendingRequests ??= {};
      w.pendingRequests[k as string] = w.tandemDemo.request(m as string, p);
    },
    [key, method, params] as const,
  );
}

export function settledDappRequest(page: Page, key: string): Promise<DemoAnswer> {
  return page.evaluate((k) => (window as unknown as { pendingRequests: Record<string, Promise<DemoAnswer>> }).pendingRequests[k]!, key);
}

/** The demo dapp at `url` (e.g. another origin of the same server), once it has found Tandem. */
export async function openDapp(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.evaluate(() => (window as unknown as { tandemDemo: { ready: Promise<void> } }).tandemDemo.ready);
  return page;
}

/** The provider events the page has seen so far (window.tandemDemo.events). */
export function dappEvents(page: Page): Promise<{ event: string; data: unknown }[]> {
  return page.evaluate(() => (window as unknown as { tandemDemo: { events: { event: string; data: unknown }[] } }).tandemDemo.events);
}

/**
 * Connects the page's origin through the popup, unless an earlier spec in this worker already did.
 * True when it connected: the caller then revokes when done, leaving the worker as it found it.
 */
export async function ensureConnected(tandem: TandemBrowser, page: Page, address: string): Promise<boolean> {
  const accounts = await dappRequest(page, 'eth_accounts');
  if (Array.isArray(accounts.result) && accounts.result.length > 0) return false;
  await answerApproval(tandem, () => startDappRequest(page, 'ensureConnected', 'eth_requestAccounts'), 'approve');
  expect(await settledDappRequest(page, 'ensureConnected')).toEqual({ result: [address] });
  return true;
}

export async function disconnect(page: Page): Promise<void> {
  expect(await dappRequest(page, 'wallet_revokePermissions', [{ eth_accounts: {} }])).toEqual({ result: null });
}

// ---- Settling within a time limit, and the co-signer's view of the wallet.

/** The answer to startDappRequest(key), or 'pending' when it has not settled within `timeoutMs`. */
export function dappAnswer(page: Page, key: string, timeoutMs: number): Promise<DemoAnswer | 'pending'> {
  return page.evaluate(
    ([k, ms]) => {
      const pending = (window as unknown as { pendingRequests?: Record<string, Promise<DemoAnswer>> }).pendingRequests?.[k as string];
      if (!pending) throw new Error(`No request was started under ${String(k)}.`);
      return Promise.race([pending, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms as number))]);
    },
    [key, timeoutMs] as const,
  );
}

/** Connects the dapp's origin afresh (revoking an earlier grant first) through the connect popup. */
export async function connectDapp(tandem: TandemBrowser, page: Page): Promise<DemoAnswer> {
  await dappRequest(page, 'wallet_revokePermissions', [{ eth_accounts: {} }]);
  const key = `connect-${Date.now()}`;
  await answerApproval(tandem, () => startDappRequest(page, key, 'eth_requestAccounts'), 'approve');
  const answer = await dappAnswer(page, key, 30_000);
  if (answer === 'pending') throw new Error('eth_requestAccounts did not settle after the approval.');
  return answer;
}

/** The co-signer's id of the onboarded wallet (read from stack.cosigner at call time: a restart replaces it). */
export async function cosignerWalletId(stack: Stack, address: string): Promise<string> {
  const wallets = await stack.cosigner.store.listWallets();
  const found = wallets.find((wallet) => wallet.address?.toLowerCase() === address.toLowerCase());
  if (!found) throw new Error(`The co-signer has no wallet with address ${address}.`);
  return found.walletId;
}

/** Opens personal_sign of `message` from the dapp without deciding; its answer is kept under `key`. Returns the approval popup. */
export async function openPersonalSign(tandem: TandemBrowser, page: Page, key: string, message: string, address: string): Promise<Page> {
  const popup = nextApproval(tandem);
  await startDappRequest(page, key, 'personal_sign', [`0x${Buffer.from(message).toString('hex')}`, address]);
  return popup;
}

/** The answer to startDappRequest(key), failing the test when it has not settled within `timeoutMs`: a hang is a bug. */
export async function settledWithin(page: Page, key: string, timeoutMs: number): Promise<DemoAnswer> {
  const answer = await dappAnswer(page, key, timeoutMs);
  expect(answer, `the dapp's request ${key} must settle within ${timeoutMs} ms`).not.toBe('pending');
  return answer as DemoAnswer;
}

/** Asserts the answer is a personal_sign signature of `message` that recovers to `address`; returns it. */
export async function expectSignatureBy(answer: DemoAnswer, message: string, address: string): Promise<`0x${string}`> {
  expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
  expect(answer.result).toMatch(/^0x[0-9a-f]{130}$/i);
  expect(await recoverMessageAddress({ message, signature: answer.result as `0x${string}` })).toBe(address);
  return answer.result as `0x${string}`;
}

/**
 * A browser with its own fresh profile (a new install of the extension) on the worker's stack,
 * closed and removed afterwards: for specs about onboarding, which the shared wallet is past.
 */
export async function withFreshProfile(stack: Stack, extensionDir: string, run: (tandem: TandemBrowser, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-fresh-'));
  let tandem: TandemBrowser | undefined;
  try {
    tandem = await launchWithTandem({ userDataDir: join(dir, 'profile'), extensionDir, spkiHash: stack.cosigner.spkiHash });
    await run(tandem, dir);
  } finally {
    await tandem?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
