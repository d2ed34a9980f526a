/**
 * @tandem-wallet/playwright: test a dapp against the Tandem wallet with Playwright.
 *
 *   import { test, expect } from '@tandem-wallet/playwright';
 *   test('signs', async ({ page, tandem }) => { ... await tandem.connect(); ... });
 *
 * Per worker: a throwaway directory, the co-signer as a child process on its embedded defaults,
 * Chromium (headless) with the bundled extension, and a wallet onboarded through the extension's
 * own pages. Per test: `page` is a new tab in that browser. Everything started is stopped after the
 * worker, also when a test failed; a start that fails says which part, why, and where its log is.
 */
import { test as base, expect, chromium, type BrowserContext, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { cpSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = dirname(fileURLToPath(import.meta.url));
/** The built Chrome extension shipped in this package. */
export const EXTENSION_DIR = join(DIST, 'extension');
const COSIGNER_ENTRY = join(DIST, 'cosigner.js');
/** This repository's hardhat-node helper (src/client/testing), bundled: it runs the project's own hardhat. */
const HARDHAT_NODE_ENTRY = join(DIST, 'hardhat-node.js');
/** The RPC URL the shipped extension was built with; replaced in a per-run copy when `rpcUrl` is set. */
const RPC_PLACEHOLDER = 'http://127.0.0.1:8545/__tandem_kit_rpc__';

export type ApprovalKind = 'connect' | 'message' | 'typedData' | 'transaction' | 'addChain' | 'calls' | 'watchAsset';

export interface TandemOptions {
  /** Chromium to run. Default: TANDEM_CHROMIUM, else Playwright's bundled Chromium when installed, else /usr/bin/chromium. */
  executablePath?: string;
  /** Default true. */
  headless?: boolean;
  /** The wallet's chain (its only one). Default http://127.0.0.1:8545, chain id 31337 (a local hardhat/anvil node you run). Ignored with `hardhat`. */
  rpcUrl?: string;
  chainId?: number;
  chainName?: string;
  /**
   * Start hardhat 2 nodes per worker (your project's own `hardhat` package: `npm i -D hardhat@2`), one per chain id
   * (default [31337]) on free ports, make them the wallet's chains (the first current) and fund the wallet on each with
   * `balanceEth` (default 1000) by hardhat_setBalance.
   */
  hardhat?: boolean | { chainIds?: number[]; balanceEth?: number };
  /** Password of the test wallet. */
  password?: string;
  /** How long each part may take to start. Defaults: co-signer 20 s, hardhat node 60 s, browser 30 s, onboarding 60 s. */
  timeouts?: { cosignerMs?: number; chainMs?: number; browserMs?: number; onboardMs?: number };
  /** How long approve()/reject()/waitForApproval() wait for the approval window. Default 15 s. */
  approvalTimeoutMs?: number;
  /** Keep the throwaway directory (logs, profile, co-signer data) after the worker. Default false; kept anyway when the start failed. */
  keepWorkDir?: boolean;
}

/** What the approval window shows, read from its data-testids (see the package README). */
export interface ApprovalView {
  kind: ApprovalKind;
  /** The requesting origin, as shown. */
  origin: string;
  /** The window's title for the request (e.g. "Sign a message"). */
  title: string;
  /** Every element with a data-testid in the window, by id, with its text (the first one of each id). */
  fields: Record<string, string>;
  /** The approval window itself, for anything not covered. */
  page: Page;
}

export interface Tandem {
  /** The onboarded wallet's address (checksummed as the extension shows it). */
  readonly address: `0x${string}`;
  readonly extensionId: string;
  /** The wallet's first chain: its RPC URL (the kit's hardhat node, with the `hardhat` option) and id. */
  readonly rpcUrl: string;
  readonly chainId: number;
  /** Every chain the wallet was set up with. */
  readonly chains: readonly TandemChain[];
  readonly context: BrowserContext;
  /** The co-signer's HTTPS URL and its log. */
  readonly cosigner: { url: string; logPath: string };
  readonly workDir: string;
  /** Waits for the next approval window (opened by the dapp, before or after this call) of `kind`, unanswered. */
  waitForApproval(options?: { kind?: ApprovalKind; timeoutMs?: number }): Promise<ApprovalView>;
  /** Approves the next connection request (the dapp asked for accounts). */
  connect(options?: { timeoutMs?: number }): Promise<ApprovalView>;
  /** Approves the next approval window, whatever it asks (or only `kind`). */
  approve(options?: { kind?: ApprovalKind; timeoutMs?: number }): Promise<ApprovalView>;
  /** Rejects the next approval window: the dapp gets error 4001. */
  reject(options?: { kind?: ApprovalKind; timeoutMs?: number }): Promise<ApprovalView>;
  /** Switches the wallet's network from its own popup, as a user would. The chain must be configured. */
  switchChain(chainId: number): Promise<void>;
}

/** A start that failed: which part, why, and where its log is. */
export class TandemStartError extends Error {
  override name = 'TandemStartError';
  constructor(
    readonly part: 'browser' | 'extension' | 'co-signer' | 'onboarding' | 'hardhat node',
    reason: string,
    readonly logPath: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`Tandem: the ${part} did not start: ${reason}${logPath ? ` (log: ${logPath})` : ''}`, options);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function tail(path: string, bytes = 2000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-bytes).trim();
  } catch {
    return '';
  }
}

// ---- The co-signer, as a child process.

interface CosignerProcess {
  url: string;
  spkiHash: string;
  logPath: string;
  stop(): Promise<void>;
}

async function startCosignerProcess(workDir: string, timeoutMs: number): Promise<CosignerProcess> {
  const logPath = join(workDir, 'cosigner.log');
  if (!existsSync(COSIGNER_ENTRY)) throw new TandemStartError('co-signer', `${COSIGNER_ENTRY} is missing: the package was not built`, undefined);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [COSIGNER_ENTRY, join(workDir, 'cosigner')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TANDEM_MASTER_KEY: randomBytes(32).toString('hex') } });
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await withTimeout(exited.then(() => true), 5_000, () => new Error('timeout')).catch(() => false);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    log.end();
  };
  try {
    const ready = await withTimeout(
      new Promise<{ url: string; spkiHash: string }>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          const line = out.split('\n').find((candidate) => candidate.startsWith('TANDEM_COSIGNER_READY '));
          if (line) resolve(JSON.parse(line.slice('TANDEM_COSIGNER_READY '.length)) as { url: string; spkiHash: string });
        });
        child.once('error', (error) => reject(new TandemStartError('co-signer', `could not run ${process.execPath}: ${error.message}`, logPath, { cause: error })));
        void exited.then((code) => reject(new TandemStartError('co-signer', `it exited with code ${code} before serving. ${tail(logPath)}`, logPath)));
      }),
      timeoutMs,
      () => new TandemStartError('co-signer', `it was not serving within ${timeoutMs} ms. ${tail(logPath)}`, logPath),
    );
    return { ...ready, logPath, stop };
  } catch (error) {
    await stop();
    // Give the log stream a moment so the message above has the last lines.
    throw error;
  }
}

// ---- The chain.

/** One chain of the wallet. */
export interface TandemChain {
  chainId: number;
  rpcUrl: string;
  name: string;
}

/** The wallet's chains (the first is current at start), and for the nodes the kit started, how to fund the wallet and stop them. */
interface WalletChains {
  chains: TandemChain[];
  fund(address: `0x${string}`): Promise<void>;
  stop(): Promise<void>;
}

interface HardhatNodeModule {
  startHardhatNode(options: { cwd: string; config: string; readyTimeoutMs?: number; chainId?: number }): Promise<{ url: string; stop(): Promise<void> }>;
}

function hardhatOptions(options: TandemOptions): { chainIds: number[]; balanceEth: number } | undefined {
  if (!options.hardhat) return undefined;
  const given = typeof options.hardhat === 'object' ? options.hardhat : {};
  const chainIds = given.chainIds ?? [31337];
  if (chainIds.length === 0 || new Set(chainIds).size !== chainIds.length || !chainIds.every((id) => Number.isSafeInteger(id) && id > 0)) {
    throw new TandemStartError('hardhat node', `hardhat.chainIds must be distinct positive chain ids, not ${JSON.stringify(chainIds)}`, undefined);
  }
  return { chainIds, balanceEth: given.balanceEth ?? 1000 };
}

async function startChains(workDir: string, options: TandemOptions): Promise<WalletChains> {
  const hardhat = hardhatOptions(options);
  if (!hardhat) {
    return {
      chains: [{ chainId: options.chainId ?? 31337, rpcUrl: options.rpcUrl ?? 'http://127.0.0.1:8545', name: options.chainName ?? (options.rpcUrl ? 'Dapp test chain' : 'Hardhat (local)') }],
      fund: async () => undefined,
      stop: async () => undefined,
    };
  }
  // The project's own hardhat, as `npx hardhat` would find it; hardhat refuses to run from anywhere else.
  try {
    createRequire(join(process.cwd(), 'package.json')).resolve('hardhat/package.json');
  } catch (error) {
    throw new TandemStartError('hardhat node', `the hardhat option needs hardhat 2 in this project (npm i -D hardhat@2), and ${process.cwd()} has none`, undefined, { cause: error });
  }
  const { startHardhatNode } = (await import(HARDHAT_NODE_ENTRY)) as HardhatNodeModule;
  const started = await Promise.allSettled(
    hardhat.chainIds.map(async (chainId) => {
      const config = join(workDir, `hardhat-${chainId}.config.cjs`);
      writeFileSync(config, `module.exports = { networks: { hardhat: { chainId: ${chainId} } } };\n`);
      const node = await startHardhatNode({ cwd: process.cwd(), config, chainId, readyTimeoutMs: options.timeouts?.chainMs ?? 60_000 });
      return { chain: { chainId, rpcUrl: node.url, name: `Hardhat ${chainId} (Tandem kit)` }, stop: node.stop };
    }),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => void (await Promise.all(nodes.map((node) => node.stop())));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    const error = failed.reason as unknown;
    throw new TandemStartError('hardhat node', error instanceof Error ? error.message.split('\n').slice(0, 8).join(' ') : String(error), undefined, { cause: error });
  }
  const balance = `0x${(BigInt(Math.round(hardhat.balanceEth * 1e6)) * 10n ** 12n).toString(16)}`;
  return {
    chains: nodes.map((node) => node.chain),
    fund: async (address) => void (await Promise.all(nodes.map((node) => rpc(node.chain.rpcUrl, 'hardhat_setBalance', [address, balance])))),
    stop,
  };
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

// ---- The browser with the extension.

function chromiumPath(options: TandemOptions): string | undefined {
  if (options.executablePath) return options.executablePath;
  if (process.env.TANDEM_CHROMIUM) return process.env.TANDEM_CHROMIUM;
  try {
    const bundled = chromium.executablePath();
    if (bundled && existsSync(bundled)) return undefined; // Playwright's own
  } catch {
    // not installed
  }
  return '/usr/bin/chromium';
}

/** A copy of the shipped extension with this run's chain: the extension reads its defaults from its build. */
function prepareExtension(workDir: string, walletChains: WalletChains): string {
  const dir = join(workDir, 'extension');
  cpSync(EXTENSION_DIR, dir, { recursive: true });
  const background = join(dir, 'background.js');
  const code = readFileSync(background, 'utf8');
  if (!code.includes(RPC_PLACEHOLDER)) throw new TandemStartError('extension', `${background} has no chain placeholder: the package's extension was not built by its build step`, undefined);
  const chains = walletChains.chains.map((chain) => JSON.stringify({ id: chain.chainId, name: chain.name, rpcUrl: chain.rpcUrl, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } })).join(',');
  // The build's chain literal (see scripts/build.ts), as the minifier wrote it.
  let replaced = 0;
  const patched = code.replace(/\{id:31337,name:[`"']Tandem kit chain[`"'],rpcUrl:[`"'][^`"']*__tandem_kit_rpc__[`"'],nativeCurrency:\{[^{}]*\}\}/g, () => {
    replaced++;
    return chains;
  });
  if (replaced !== 1) throw new TandemStartError('extension', `could not set the chain in ${background} (found ${replaced} chain literals)`, undefined);
  writeFileSync(background, patched);
  return dir;
}

interface LaunchedBrowser {
  context: BrowserContext;
  extensionId: string;
}

async function launchBrowser(workDir: string, extensionDir: string, spkiHash: string, options: TandemOptions): Promise<LaunchedBrowser> {
  const timeoutMs = options.timeouts?.browserMs ?? 30_000;
  const executablePath = chromiumPath(options);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
      ...(executablePath ? { executablePath } : {}),
      headless: options.headless ?? true,
      acceptDownloads: true,
      timeout: timeoutMs,
      viewport: { width: 1100, height: 800 },
      args: [
        `--disable-extensions-except=${extensionDir}`,
        `--load-extension=${extensionDir}`,
        `--ignore-certificate-errors-spki-list=${spkiHash}`,
        '--no-first-run',
        '--no-default-browser-check',
      ],
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n').slice(0, 6).join(' ') : String(error);
    throw new TandemStartError('browser', `${executablePath ?? "Playwright's bundled Chromium"}: ${reason}. Set TANDEM_CHROMIUM or the executablePath option to a Chromium.`, undefined, { cause: error });
  }
  try {
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: Math.min(timeoutMs, 15_000) }));
    return { context, extensionId: new URL(worker.url()).host };
  } catch (error) {
    await context.close().catch(() => undefined);
    throw new TandemStartError('extension', `its service worker did not start from ${extensionDir} (is this a Chromium that loads unpacked extensions? Google Chrome does not, since 137): ${String(error)}`, undefined, { cause: error });
  }
}

/**
 * Creates the wallet through the worker's own onboarding messages, as the onboarding page sends them, minus the page:
 * the kit needs no recovery-kit download (the backup is thrown away with the worker's profile), and its UI is tested in
 * this repository's end-to-end specs.
 */
async function onboard(browser: LaunchedBrowser, cosignerUrl: string, password: string, timeoutMs: number, logPath: string): Promise<`0x${string}`> {
  const page = await browser.context.newPage();
  try {
    await page.goto(`chrome-extension://${browser.extensionId}/popup.html#/onboarding`);
    const address = await withTimeout(
      page.evaluate(
        async ({ password, cosignerUrl }) => {
          const runtime = (globalThis as unknown as { chrome: { runtime: { sendMessage(message: unknown): Promise<unknown> } } }).chrome.runtime;
          const send = async (message: Record<string, unknown>): Promise<Record<string, unknown>> => {
            const reply = (await runtime.sendMessage({ kind: 'popup', ...message })) as { ok: boolean; value?: Record<string, unknown>; error?: { message?: string } } | undefined;
            if (!reply?.ok) throw new Error(reply?.error?.message ?? `no answer to ${String(message.action)}`);
            return reply.value!;
          };
          const made = await send({ action: 'onboard', password, cosignerUrl });
          if (made.stage === 'failed') throw new Error((made.error as { message?: string } | undefined)?.message ?? 'setup failed');
          const progress = await send({ action: 'onboardingProgress' });
          if (typeof progress.recoverySecret !== 'string') throw new Error('the key was made but no recovery secret arrived');
          await send({ action: 'confirmRecovery', recoverySecret: progress.recoverySecret });
          const overview = await send({ action: 'finishOnboarding' });
          return overview.address as `0x${string}`;
        },
        { password, cosignerUrl },
      ),
      timeoutMs,
      () => new Error(`no wallet within ${timeoutMs} ms`),
    );
    if (!/^0x[0-9a-fA-F]{40}$/.test(address ?? '')) throw new Error(`the wallet reports no address (${String(address)})`);
    return address;
  } catch (error) {
    throw new TandemStartError('onboarding', `the extension says: ${error instanceof Error ? error.message.split('\n')[0]! : String(error)}`, logPath, { cause: error });
  } finally {
    await page.close().catch(() => undefined);
  }
}

// ---- Approval windows.

class ApprovalQueue {
  private readonly waiting: Page[] = [];
  private readonly listeners = new Set<() => void>();
  constructor(context: BrowserContext) {
    context.on('page', (page) => void this.consider(page));
  }
  private async consider(page: Page): Promise<void> {
    if (!page.url().includes('#/approve/')) await page.waitForURL(/#\/approve\//, { timeout: 5_000, waitUntil: 'commit' }).catch(() => undefined);
    if (!page.url().includes('#/approve/')) return;
    this.waiting.push(page);
    for (const listener of [...this.listeners]) listener();
  }
  /** The oldest open approval window not taken yet, or the next to open. */
  async take(timeoutMs: number): Promise<Page> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.waiting.length > 0) {
        const page = this.waiting.shift()!;
        if (!page.isClosed()) return page;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Tandem: no approval window opened within ${timeoutMs} ms. Did the dapp send a request that needs one?`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.listeners.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.listeners.add(done);
      });
    }
  }
  /** Puts a window back at the front (waitForApproval does not answer it). */
  putBack(page: Page): void {
    this.waiting.unshift(page);
  }
}

async function readApproval(page: Page, timeoutMs: number): Promise<ApprovalView> {
  const kindEl = page.getByTestId('approval-kind');
  await kindEl.waitFor({ timeout: timeoutMs });
  const kind = (await kindEl.getAttribute('data-kind')) as ApprovalKind;
  const fields = await page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-testid]'))) {
      const id = el.dataset.testid!;
      if (!(id in out)) out[id] = (el.innerText ?? el.textContent ?? '').trim();
    }
    return out;
  });
  return { kind, origin: fields['approval-origin'] ?? '', title: fields['approval-kind'] ?? '', fields, page };
}

function createTandem(browser: LaunchedBrowser, address: `0x${string}`, cosigner: CosignerProcess, walletChains: WalletChains, workDir: string, options: TandemOptions): Tandem {
  const queue = new ApprovalQueue(browser.context);
  const defaultTimeout = options.approvalTimeoutMs ?? 15_000;
  const next = async (kind: ApprovalKind | undefined, timeoutMs: number): Promise<ApprovalView> => {
    const page = await queue.take(timeoutMs);
    const view = await readApproval(page, timeoutMs);
    if (kind && view.kind !== kind) {
      queue.putBack(page);
      throw new Error(`Tandem: the next approval window asks for "${view.kind}" (${view.title}), not "${kind}".`);
    }
    return view;
  };
  const decide = async (decision: 'approve' | 'reject', kind: ApprovalKind | undefined, timeoutMs: number): Promise<ApprovalView> => {
    const view = await next(kind, timeoutMs);
    await view.page.getByTestId(decision).click({ timeout: timeoutMs });
    return view;
  };
  return {
    address,
    extensionId: browser.extensionId,
    rpcUrl: walletChains.chains[0]!.rpcUrl,
    chainId: walletChains.chains[0]!.chainId,
    chains: walletChains.chains,
    context: browser.context,
    cosigner: { url: cosigner.url, logPath: cosigner.logPath },
    workDir,
    async waitForApproval(opts = {}) {
      const view = await next(opts.kind, opts.timeoutMs ?? defaultTimeout);
      queue.putBack(view.page);
      return view;
    },
    connect: (opts = {}) => decide('approve', 'connect', opts.timeoutMs ?? defaultTimeout),
    approve: (opts = {}) => decide('approve', opts.kind, opts.timeoutMs ?? defaultTimeout),
    reject: (opts = {}) => decide('reject', opts.kind, opts.timeoutMs ?? defaultTimeout),
    async switchChain(chainId) {
      const page = await browser.context.newPage();
      try {
        await page.goto(`chrome-extension://${browser.extensionId}/popup.html#/`);
        const select = page.getByTestId('chain-select');
        await select.waitFor({ timeout: defaultTimeout });
        const ids = await select.locator('option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
        if (!ids.includes(String(chainId))) throw new Error(`Tandem: chain ${chainId} is not configured in the wallet (it has ${ids.join(', ')}). Add it first (wallet_addEthereumChain from the dapp, approved with tandem.approve()).`);
        await select.selectOption(String(chainId));
        await expect(select).toHaveValue(String(chainId), { timeout: defaultTimeout });
        await expect(select).toBeEnabled({ timeout: defaultTimeout });
      } finally {
        await page.close();
      }
    },
  };
}

// ---- Starting and stopping it all.

/** A running Tandem: what the fixture gives a test, and close(), which stops everything it started. */
export interface TandemSession extends Tandem {
  close(): Promise<void>;
}

/**
 * Starts the co-signer, the chain(s) if asked, the browser with the extension, and onboards a wallet:
 * the fixture's work, for runners other than Playwright Test's (and for benchmarks). Whatever fails,
 * everything started so far is stopped and the error says which part, why, and where the logs are.
 */
export async function launchTandem(options: TandemOptions = {}): Promise<TandemSession> {
  const workDir = mkdtempSync(join(tmpdir(), 'tandem-kit-'));
  let cosigner: CosignerProcess | undefined;
  let walletChains: WalletChains | undefined;
  let browser: LaunchedBrowser | undefined;
  const stopAll = async () => {
    await browser?.context.close().catch(() => undefined);
    await cosigner?.stop().catch(() => undefined);
    await walletChains?.stop().catch(() => undefined);
  };
  try {
    // The chain and the co-signer start at once; whichever failed, the other is stopped.
    const [chainResult, cosignerResult] = await Promise.allSettled([startChains(workDir, options), startCosignerProcess(workDir, options.timeouts?.cosignerMs ?? 20_000)]);
    if (chainResult.status === 'fulfilled') walletChains = chainResult.value;
    if (cosignerResult.status === 'fulfilled') cosigner = cosignerResult.value;
    if (chainResult.status === 'rejected') throw chainResult.reason;
    if (cosignerResult.status === 'rejected') throw cosignerResult.reason;
    const extensionDir = prepareExtension(workDir, walletChains!);
    browser = await launchBrowser(workDir, extensionDir, cosigner!.spkiHash, options);
    const address = await onboard(browser, cosigner!.url, options.password ?? 'tandem kit password', options.timeouts?.onboardMs ?? 60_000, cosigner!.logPath);
    await walletChains!.fund(address);
    const tandem = createTandem(browser, address, cosigner!, walletChains!, workDir, options);
    let closed: Promise<void> | undefined;
    return {
      ...tandem,
      close: () =>
        (closed ??= stopAll().then(() => {
          if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
        })),
    };
  } catch (error) {
    await stopAll();
    // The work directory stays: its logs say why.
    if (error instanceof TandemStartError) error.message += ` Work directory kept: ${workDir}`;
    throw error;
  }
}

// ---- The fixtures.

interface TandemWorkerFixtures {
  tandemOptions: TandemOptions;
  tandem: Tandem;
}

export const test = base.extend<{ context: BrowserContext; page: Page }, TandemWorkerFixtures>({
  // `context` is the Tandem browser's (one per worker); `page` a new tab in it per test.
  context: async ({ tandem }, use) => {
    await use(tandem.context);
  },
  page: async ({ tandem }, use) => {
    const page = await tandem.context.newPage();
    await use(page);
    await page.close().catch(() => undefined);
  },
  tandemOptions: [{}, { scope: 'worker', option: true }],
  tandem: [
    async ({ tandemOptions }, use) => {
      const session = await launchTandem(tandemOptions);
      try {
        await use(session);
      } finally {
        await session.close();
      }
    },
    { scope: 'worker', timeout: 150_000 },
  ],
});

export { expect };
