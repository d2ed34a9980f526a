/**
 * npm start: the whole local stack on its embedded defaults. Builds the extension, starts the
 * co-signer (embedded broker on wss://127.0.0.1:8884, SQLite in .tandem/cosigner), a hardhat 2
 * chain on 127.0.0.1:8545 and the demo dapp, then opens Chromium with the extension on the dapp,
 * or, with no display, prints how to load it by hand. Ctrl+C stops everything.
 */
import { chromium } from '@playwright/test';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from '../e2e/stack/stack.js';
import { CHROMIUM_PATH } from '../e2e/tandem.js';
import { buildExtension } from './build-extension.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dataDir = join(root, '.tandem');
const DAPP_PORT = Number(process.env.TANDEM_DAPP_PORT ?? 8080);

const say = (line = '') => process.stdout.write(`${line}\n`);

say('Building the extension…');
const { chromeDir, firefoxDir, dappDir } = await buildExtension({ outDir: join(root, 'dist') });

say('Starting the co-signer, a hardhat chain and the demo dapp…');
const stack = await startStack({
  dataDir,
  dappDir,
  cosignerPort: 8884,
  chainPort: 8545,
  dappPort: DAPP_PORT,
  log: (line) => process.stderr.write(`tandem-cosigner: ${line}\n`),
}).catch((error: unknown) => {
  say(`Could not start the stack: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  say('Is another "npm start" (or something else on ports 8884, 8545 or 8080) still running?');
  process.exit(1);
});

const spkiFlag = `--ignore-certificate-errors-spki-list=${stack.cosigner.spkiHash}`;
say();
say('Tandem is running:');
say(`  co-signer      ${stack.cosigner.url}  (broker ${stack.cosigner.brokerUrl}, data ${join(dataDir, 'cosigner')})`);
say(`  chain          ${stack.chain.url}  (hardhat 2, chain id 31337, funded test accounts)`);
say(`  demo dapp      ${stack.dapp.url}`);
say(`  extension      ${chromeDir}  (Firefox build: ${firefoxDir})`);
say(`  certificate    SPKI sha256 ${stack.cosigner.spkiHash}`);
say();

const display = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && !process.argv.includes('--no-browser');
let closeBrowser: (() => Promise<void>) | undefined;
if (display && existsSync(CHROMIUM_PATH)) {
  const context = await chromium.launchPersistentContext(join(dataDir, 'chromium-profile'), {
    executablePath: CHROMIUM_PATH,
    headless: false,
    viewport: null,
    args: [`--disable-extensions-except=${chromeDir}`, `--load-extension=${chromeDir}`, spkiFlag, '--no-first-run', '--no-default-browser-check'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(stack.dapp.url);
  closeBrowser = () => context.close();
  say('Chromium is open on the demo dapp with Tandem loaded. Create your wallet in the Tandem tab.');
} else {
  say('No display here, so no browser was opened. To use the extension:');
  say(`  1. Start Chromium (or Chrome) trusting the co-signer's self-signed certificate:`);
  say(`       chromium ${spkiFlag} --load-extension=${chromeDir} ${stack.dapp.url}`);
  say(`     (or open chrome://extensions, turn on Developer mode, click "Load unpacked" and choose ${chromeDir};`);
  say(`      the ${spkiFlag.split('=')[0]} flag is still needed, or trust ${join(dataDir, 'cosigner')} 's certificate)`);
  say('  2. Tandem opens its onboarding tab: choose a password; the co-signer URL is already https://127.0.0.1:8884.');
  say(`  3. Open ${stack.dapp.url} and click Connect.`);
}
say();
say('Press Ctrl+C to stop.');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say('\nStopping…');
  await closeBrowser?.().catch(() => undefined);
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
