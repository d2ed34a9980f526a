/**
 * Driving Tandem from Playwright: launch Chromium with the extension, onboard a wallet, answer
 * approval popups, restart the service worker. The specs use these; so can a dapp's own tests.
 */
import { chromium, type BrowserContext, type Page, type Worker } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CHROMIUM_PATH = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

export interface TandemBrowser {
  context: BrowserContext;
  extensionId: string;
  serviceWorker(): Promise<Worker>;
  /** chrome-extension://<id>/popup.html#<route> */
  popupUrl(route: string): string;
  close(): Promise<void>;
}

/** Chromium with the unpacked extension, trusting the co-signer's self-signed certificate by its SPKI hash. */
export async function launchWithTandem(options: { userDataDir: string; extensionDir: string; spkiHash: string; headless?: boolean }): Promise<TandemBrowser> {
  const context = await chromium.launchPersistentContext(options.userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: options.headless ?? true,
    acceptDownloads: true,
    viewport: { width: 1100, height: 800 },
    args: [
      `--disable-extensions-except=${options.extensionDir}`,
      `--load-extension=${options.extensionDir}`,
      `--ignore-certificate-errors-spki-list=${options.spkiHash}`,
      '--no-first-run',
      '--no-default-browser-check',
    ],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    extensionId,
    async serviceWorker() {
      return context.serviceWorkers().find((candidate) => candidate.url().startsWith(`chrome-extension://${extensionId}/`)) ?? context.waitForEvent('serviceworker');
    },
    popupUrl: (route) => `chrome-extension://${extensionId}/popup.html#${route}`,
    close: () => context.close(),
  };
}

export interface OnboardedWallet {
  address: `0x${string}`;
  password: string;
  recoverySecret: string;
  /** Where the downloaded recovery kit was saved. */
  kitPath: string;
}

/** Creates the wallet through the onboarding page, as a user would, and saves the recovery kit into `saveDir`. */
export async function onboard(tandem: TandemBrowser, options: { password: string; cosignerUrl: string; saveDir: string }): Promise<OnboardedWallet> {
  const page = await tandem.context.newPage();
  await page.goto(tandem.popupUrl('/onboarding'));
  await page.getByTestId('onboarding-password').fill(options.password);
  await page.getByTestId('onboarding-password-confirm').fill(options.password);
  await page.getByTestId('onboarding-cosigner-url').fill(options.cosignerUrl);
  await page.getByTestId('onboarding-submit').click();
  return saveRecoveryKit(page, options.password, options.saveDir);
}

/**
 * Restores a wallet into this (fresh) profile from a recovery kit through the onboarding page's
 * "Restore from recovery kit", waits out the co-signer's restore delay, and saves the NEW kit.
 */
export async function restoreFromKit(tandem: TandemBrowser, options: { kitPath: string; recoverySecret: string; password: string; saveDir: string }): Promise<OnboardedWallet> {
  const page = await openRestorePage(tandem);
  await page.getByTestId('restore-kit-file').setInputFiles(options.kitPath);
  await page.getByTestId('restore-kit-address').waitFor();
  await page.getByTestId('restore-secret').fill(options.recoverySecret);
  await page.getByTestId('restore-password').fill(options.password);
  await page.getByTestId('restore-password-confirm').fill(options.password);
  await page.getByTestId('restore-submit').click();
  return saveRecoveryKit(page, options.password, options.saveDir);
}

/** The onboarding page's restore form: behind "Restore from recovery kit", or at once when a restore here did not finish. */
export async function openRestorePage(tandem: TandemBrowser): Promise<Page> {
  const page = await tandem.context.newPage();
  await page.goto(tandem.popupUrl('/onboarding'));
  const offer = page.getByTestId('onboarding-restore');
  await offer.or(page.getByTestId('restore-kit-file')).first().waitFor();
  if (await offer.isVisible()) await offer.click();
  return page;
}

/** In the toolbar popup's open emergency form: picks the kit and types its secret; the caller checks the banner or the error. */
export async function submitEmergencyKit(popup: Page, kit: { kitPath: string; recoverySecret: string }): Promise<void> {
  await popup.getByTestId('emergency-kit-file').setInputFiles(kit.kitPath);
  await popup.getByTestId('emergency-secret').fill(kit.recoverySecret);
  await popup.getByTestId('emergency-enter').click();
}

/** The recovery step after keygen or restore: copy the secret, type it back, save the kit, finish. */
async function saveRecoveryKit(page: Page, password: string, saveDir: string): Promise<OnboardedWallet> {
  const kit = await saveKitFile(page, saveDir);
  const address = (await page.getByTestId('onboarding-address').innerText()).trim() as `0x${string}`;
  await page.close();
  return { address, password, ...kit };
}

/** Writes the shown recovery secret down, types it back, saves the downloaded kit into `saveDir` and finishes. */
async function saveKitFile(page: Page, saveDir: string): Promise<{ recoverySecret: string; kitPath: string }> {
  const secretBox = page.getByTestId('recovery-secret');
  await secretBox.waitFor({ timeout: 120_000 });
  const recoverySecret = (await secretBox.innerText()).trim();
  await page.getByTestId('recovery-written-down').check();
  await page.getByTestId('recovery-confirm-input').fill(recoverySecret);
  const download = page.waitForEvent('download');
  await page.getByTestId('recovery-confirm').click();
  const kit = await download;
  const kitPath = join(saveDir, `${Date.now()}-${kit.suggestedFilename()}`);
  await kit.saveAs(kitPath);
  await page.getByTestId('onboarding-finish').click();
  return { recoverySecret, kitPath };
}

/**
 * "Refresh key shares" (or "Make a recovery kit") from the toolbar popup, as a user would: the
 * page it opens makes new shares with the co-signer, and the NEW kit is saved into `saveDir`.
 */
export async function refreshKeyShares(tandem: TandemBrowser, options: { saveDir: string }): Promise<{ address: `0x${string}`; recoverySecret: string; kitPath: string }> {
  const toolbar = await tandem.context.newPage();
  await toolbar.goto(tandem.popupUrl('/'));
  const opened = tandem.context.waitForEvent('page', { predicate: (page) => page.url().endsWith('#/new-kit') });
  await toolbar.getByTestId('refresh-shares').click();
  const page = await opened;
  await page.getByTestId('new-kit-start').click();
  const kit = await saveKitFile(page, options.saveDir);
  const address = (await page.getByTestId('new-kit-address').innerText()).trim() as `0x${string}`;
  await page.close();
  if (!toolbar.isClosed()) await toolbar.close();
  return { address, ...kit };
}

/**
 * Runs `trigger` (which makes the dapp ask for something), waits for its approval window and
 * approves or rejects there. Returns the popup (closed after a decision, unless it failed).
 */
export async function answerApproval(tandem: TandemBrowser, trigger: () => Promise<unknown>, decision: 'approve' | 'reject'): Promise<Page> {
  const popup = nextApproval(tandem);
  await trigger();
  const page = await popup;
  await page.getByTestId(decision).click();
  return page;
}

/** Waits for the next approval window without answering it. */
export function nextApproval(tandem: TandemBrowser, timeout = 30_000): Promise<Page> {
  // A new window's page starts at about:blank: decide by the URL it commits to.
  const isApproval = async (page: Page) => {
    if (!page.url().includes('#/approve/')) await page.waitForURL(/#\/approve\//, { timeout: 5_000, waitUntil: 'commit' }).catch(() => undefined);
    return page.url().includes('#/approve/');
  };
  return tandem.context.waitForEvent('page', { predicate: isApproval, timeout });
}

/**
 * Makes this profile (onboarded and unlocked) an approver for other wallets through its popup's
 * `#/approver` page, with the enrollment code the co-signer's operator issued. Returns that page,
 * now listing the approvals to give, and the approver id the operator names in wallet policies.
 */
export async function enrollAsApprover(tandem: TandemBrowser, enrollmentCode: string): Promise<{ page: Page; approverId: string }> {
  const page = await tandem.context.newPage();
  await page.goto(tandem.popupUrl('/approver'));
  await page.getByTestId('approver-enrollment-code').fill(enrollmentCode);
  await page.getByTestId('approver-enroll').click();
  const id = page.getByTestId('approver-id');
  await id.waitFor({ timeout: 30_000 });
  return { page, approverId: (await id.innerText()).trim() };
}

/** The Activity page (`#/activity`): this wallet's requests held for approvers. */
export async function openActivity(tandem: TandemBrowser): Promise<Page> {
  const page = await tandem.context.newPage();
  await page.goto(tandem.popupUrl('/activity'));
  return page;
}

/** Kills the extension's service worker (CDP ServiceWorker.stopAllWorkers); the next event restarts it. */
export async function stopServiceWorker(tandem: TandemBrowser, page: Page): Promise<void> {
  const cdp = await tandem.context.newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2));
}

/**
 * Like stopServiceWorker, and resolves only once Chrome reported the extension's worker stopped
 * (ServiceWorker.workerVersionUpdated), so the kill surely happened. Playwright's Worker 'close'
 * event is no proof: it comes late, or not at all, and its handle wakes the next worker.
 */
export async function killServiceWorker(tandem: TandemBrowser, page: Page, timeoutMs = 10_000): Promise<void> {
  const cdp = await tandem.context.newCDPSession(page);
  try {
    const script = `chrome-extension://${tandem.extensionId}/`;
    let stopRequested = false;
    const stopped = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The extension's service worker did not stop within ${timeoutMs} ms.`)), timeoutMs);
      cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
        if (stopRequested && versions.some((version) => version.scriptURL.startsWith(script) && version.runningStatus === 'stopped')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await cdp.send('ServiceWorker.enable');
    stopRequested = true;
    await cdp.send('ServiceWorker.stopAllWorkers');
    await stopped;
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/** The approval records the worker keeps in chrome.storage.session, read from one of the extension's own pages. */
export function sessionApprovals(extensionPage: Page): Promise<{ id: string; requestKey: string; stage: string; error?: { code: number; message: string; data?: unknown }; result?: unknown }[]> {
  return extensionPage.evaluate(async () => {
    const storage = (globalThis as unknown as { chrome: { storage: { session: { get(keys: null): Promise<Record<string, unknown>> } } } }).chrome.storage.session;
    const all = await storage.get(null);
    return Object.entries(all)
      .filter(([key]) => key.startsWith('approval:'))
      .map(([, record]) => record as { id: string; requestKey: string; stage: string });
  });
}
