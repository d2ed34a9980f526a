/**
 * Driving Tandem's dist/firefox build in Firefox ESR over WebDriver BiDi (puppeteer-core).
 *
 * What this Firefox (153 ESR, Debian) needs, found by running it:
 * - The extension is installed as a temporary (unsigned) add-on with BiDi `webExtension.install`
 *   (`browser.installExtension`). Its moz-extension UUID is pinned with the pref
 *   `extensions.webextensions.uuids`, so its pages have a known URL.
 * - BiDi refuses `browsingContext.navigate` to moz-extension:// ("Navigation to ... is not allowed
 *   in this context") unless Firefox runs with `--remote-allow-system-access`.
 * - On moz-extension pages puppeteer does not see navigations complete (its `goto` times out and
 *   `page.url()` stays about:blank) and its selector helpers fail in the page's realm
 *   (`script.evaluate`: "right-hand side of 'in' should be an object, got null"). Plain
 *   `page.evaluate` and `page.keyboard` work, so the helpers below use only those.
 * - The co-signer's self-signed certificate: `acceptInsecureCerts: true` (the BiDi session
 *   capability) is what lets the extension's background reach https:// and wss:// on it; without
 *   it onboarding fails with "Cannot reach the co-signer". It turns certificate checks off for the
 *   whole browser, so these tests do not cover certificate trust (the Chromium specs pin the SPKI).
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { existsSync } from 'node:fs';

export const FIREFOX_PATH = process.env.TANDEM_FIREFOX ?? '/usr/bin/firefox-esr';
/** The gecko id the build writes into dist/firefox/manifest.json. */
export const GECKO_ID = 'wallet@tandem.dev';
/** Pinned through `extensions.webextensions.uuids`, so the extension's pages have a known origin. */
export const EXTENSION_UUID = '7a3c5e1f-2b4d-4f60-8a9b-0c1d2e3f4a5b';

export function firefoxInstalled(): boolean {
  return existsSync(FIREFOX_PATH);
}

export interface FirefoxTandem {
  browser: Browser;
  /** moz-extension://<uuid>/popup.html#<route> */
  popupUrl(route: string): string;
  /** Opens one of the extension's pages in a new tab. */
  openExtensionPage(route: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launchFirefoxWithTandem(options: { extensionDir: string; userDataDir?: string }): Promise<FirefoxTandem> {
  if (!firefoxInstalled()) throw new Error(`Firefox is not at ${FIREFOX_PATH} (apt-get install -y firefox-esr, or set TANDEM_FIREFOX).`);
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX_PATH,
    headless: true,
    acceptInsecureCerts: true,
    args: ['--remote-allow-system-access'],
    ...(options.userDataDir ? { userDataDir: options.userDataDir } : {}),
    protocolTimeout: 60_000,
    extraPrefsFirefox: { 'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: EXTENSION_UUID }) },
  });
  try {
    const id = await browser.installExtension(options.extensionDir);
    if (id !== GECKO_ID) throw new Error(`Installed the extension as ${id}, expected ${GECKO_ID}.`);
  } catch (error) {
    await browser.close().catch(() => undefined);
    throw error;
  }
  const popupUrl = (route: string) => `moz-extension://${EXTENSION_UUID}/popup.html#${route}`;
  return {
    browser,
    popupUrl,
    async openExtensionPage(route) {
      const page = await browser.newPage();
      // The load happens, but puppeteer never sees this navigation finish: do not wait on it.
      page.goto(popupUrl(route)).catch(() => undefined);
      await waitForUrl(page, (href) => href.startsWith(popupUrl(route)), 15_000);
      return page;
    },
    close: () => browser.close(),
  };
}

const byTestId = (id: string) => `[data-testid="${id}"]`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** location.href as the page itself sees it (puppeteer's page.url() is stale on moz-extension pages). */
export function pageHref(page: Page): Promise<string> {
  return page.evaluate(() => location.href).catch(() => '');
}

async function waitForUrl(page: Page, accept: (href: string) => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!accept(await pageHref(page))) {
    if (Date.now() > until) throw new Error(`The page did not reach the expected URL within ${timeoutMs} ms (at ${await pageHref(page)}).`);
    await sleep(100);
  }
}

/** Waits for the element with this test id (enabled, when `enabled`); fails early with the page's alert text. */
export async function waitForTestId(page: Page, id: string, options: { timeoutMs?: number; enabled?: boolean } = {}): Promise<void> {
  const until = Date.now() + (options.timeoutMs ?? 20_000);
  let last: string | boolean = false;
  for (;;) {
    last = await page
      .evaluate(
        (selector, enabled) => {
          const element = document.querySelector(selector) as HTMLButtonElement | null;
          if (element && (!enabled || !element.disabled)) return true;
          return (document.querySelector('[role="alert"]') as HTMLElement | null)?.innerText ?? false;
        },
        byTestId(id),
        options.enabled ?? false,
      )
      .catch(() => false);
    if (last === true) return;
    if (Date.now() > until) throw new Error(`No ${options.enabled ? 'enabled ' : ''}[data-testid="${id}"] on ${await pageHref(page)}${typeof last === 'string' ? `; the page says: ${last}` : ''}.`);
    await sleep(150);
  }
}

export async function textOf(page: Page, id: string): Promise<string> {
  await waitForTestId(page, id);
  return page.evaluate((selector) => (document.querySelector(selector) as HTMLElement).innerText.trim(), byTestId(id));
}

/** Focuses the field and types into it with real key events. */
export async function typeInto(page: Page, id: string, text: string): Promise<void> {
  await waitForTestId(page, id);
  await page.evaluate((selector) => (document.querySelector(selector) as HTMLInputElement).focus(), byTestId(id));
  await page.keyboard.type(text);
}

/** Clicks the element once it is enabled. */
export async function clickTestId(page: Page, id: string, timeoutMs?: number): Promise<void> {
  await waitForTestId(page, id, { enabled: true, ...(timeoutMs ? { timeoutMs } : {}) });
  await page.evaluate((selector) => (document.querySelector(selector) as HTMLElement).click(), byTestId(id));
}

/** Creates the wallet through the onboarding page as a user would; returns its address. */
export async function onboardInFirefox(tandem: FirefoxTandem, options: { password: string }): Promise<{ address: `0x${string}`; recoverySecret: string }> {
  const page = await tandem.openExtensionPage('/onboarding');
  await typeInto(page, 'onboarding-password', options.password);
  await typeInto(page, 'onboarding-password-confirm', options.password);
  await clickTestId(page, 'onboarding-submit');
  // Keygen with the co-signer over wss://.
  await waitForTestId(page, 'recovery-secret', { timeoutMs: 120_000 });
  const recoverySecret = await textOf(page, 'recovery-secret');
  await clickTestId(page, 'recovery-written-down');
  await typeInto(page, 'recovery-confirm-input', recoverySecret);
  await clickTestId(page, 'recovery-confirm');
  await clickTestId(page, 'onboarding-finish', 30_000);
  const address = (await textOf(page, 'onboarding-address')) as `0x${string}`;
  await page.close();
  return { address, recoverySecret };
}

/**
 * Runs `trigger` and returns the approval window it opens (a popup window the background opened
 * with windows.create, found among the browser's pages by its own location).
 */
export async function nextApprovalPage(tandem: FirefoxTandem, trigger: () => Promise<unknown>, timeoutMs = 30_000): Promise<Page> {
  const before = new Set(await tandem.browser.pages());
  await trigger();
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const page of await tandem.browser.pages()) {
      if (!before.has(page) && (await pageHref(page)).includes('#/approve/')) return page;
    }
    if (Date.now() > until) throw new Error(`No approval window opened within ${timeoutMs} ms.`);
    await sleep(150);
  }
}

export type DemoAnswer = { result?: unknown; error?: { code: number; message: string; data?: unknown } };

/** The demo dapp in a new tab, once it has found Tandem by EIP-6963. */
export async function openDemoDapp(tandem: FirefoxTandem, url: string): Promise<Page> {
  const page = await tandem.browser.newPage();
  await page.goto(url);
  await page.evaluate(() => (window as unknown as { tandemDemo: { ready: Promise<void> } }).tandemDemo.ready);
  return page;
}

/** window.tandemDemo.request, started without waiting for its answer (kept under `key`). */
export async function startDappRequest(page: Page, key: string, method: string, params?: unknown): Promise<void> {
  await page.evaluate(
    (k, m, p) => {
      const w = window as unknown as { tandemDemo: { request(method: string, params?: unknown): Promise<DemoAnswer> }; pendingRequests?: Record<string, Promise<DemoAnswer>> };
      w.pendingRequests ??= {};
      w.pendingRequests[k] = w.tandemDemo.request(m, p);
    },
    key,
    method,
    params,
  );
}

/** The answer to startDappRequest(key), or 'pending' when it has not settled within `timeoutMs`. */
export function dappAnswer(page: Page, key: string, timeoutMs: number): Promise<DemoAnswer | 'pending'> {
  return page.evaluate(
    (k, ms) => {
      const pending = (window as unknown as { pendingRequests?: Record<string, Promise<DemoAnswer>> }).pendingRequests?.[k];
      if (!pending) throw new Error(`No request was started under ${k}.`);
      return Promise.race([pending, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
    },
    key,
    timeoutMs,
  );
}

export async function dappRequest(page: Page, method: string, params?: unknown): Promise<DemoAnswer> {
  const key = `${method}-${Date.now()}-${Math.random()}`;
  await startDappRequest(page, key, method, params);
  const answer = await dappAnswer(page, key, 30_000);
  if (answer === 'pending') throw new Error(`${method} did not settle within 30 s.`);
  return answer;
}
