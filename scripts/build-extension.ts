/**
 * Builds the extension into dist/chrome (MV3 service worker) and dist/firefox (background
 * scripts, gecko settings), and the demo dapp into dist/dapp. Content scripts are classic
 * scripts (IIFE): a content script cannot be an ES module.
 *
 *   TANDEM_COSIGNER_URL=https://cosigner.example:8884 TANDEM_CHAINS='[{"id":1,...}]' npm run build
 */
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type InlineConfig } from 'vite';
import type { ChainConfig } from '../src/background/api.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What the extension starts with; the user can change both. */
export interface BuildDefaults {
  cosignerUrl?: string;
  chains?: ChainConfig[];
}

function defaultsFromEnv(): BuildDefaults {
  return {
    ...(process.env.TANDEM_COSIGNER_URL ? { cosignerUrl: process.env.TANDEM_COSIGNER_URL } : {}),
    ...(process.env.TANDEM_CHAINS ? { chains: JSON.parse(process.env.TANDEM_CHAINS) as ChainConfig[] } : {}),
  };
}

let defaults: BuildDefaults = {};
let testKdf = false;

function common(outDir: string): InlineConfig {
  return {
    configFile: false,
    root,
    logLevel: 'error',
    define: { __TANDEM_BUILD_DEFAULTS__: JSON.stringify(defaults), __TANDEM_TEST_KDF__: JSON.stringify(testKdf) },
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: { outDir, emptyOutDir: false, minify: true, sourcemap: false, target: 'chrome116', reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
  };
}

async function buildScript(chromeDir: string, entry: string, fileName: string, format: 'es' | 'iife'): Promise<void> {
  const config = common(chromeDir);
  await build({
    ...config,
    build: {
      ...config.build,
      rollupOptions: { input: join(root, entry), output: { format, entryFileNames: fileName, codeSplitting: false } },
    },
  });
}

async function buildPopup(chromeDir: string): Promise<void> {
  const config = common(chromeDir);
  await build({ ...config, root: join(root, 'src/popup'), base: './', build: { ...config.build, assetsDir: 'popup-assets' } });
  renameSync(join(chromeDir, 'index.html'), join(chromeDir, 'popup.html'));
}

async function buildDapp(dappDir: string): Promise<void> {
  const config = common(dappDir);
  await build({ ...config, root: join(root, 'e2e/dapp'), base: './', build: { ...config.build, outDir: dappDir, emptyOutDir: true } });
}

function writeManifests(chromeDir: string, firefoxDir: string): void {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  writeFileSync(join(chromeDir, 'manifest.json'), JSON.stringify(manifest, null, 2));

  rmSync(firefoxDir, { recursive: true, force: true });
  cpSync(chromeDir, firefoxDir, { recursive: true });
  const firefox: Record<string, unknown> = { ...manifest, background: { scripts: ['background.js'], type: 'module' } };
  delete firefox.minimum_chrome_version;
  // world: "MAIN" content scripts need Firefox 128.
  firefox.browser_specific_settings = { gecko: { id: 'wallet@tandem.dev', strict_min_version: '128.0' } };
  writeFileSync(join(firefoxDir, 'manifest.json'), JSON.stringify(firefox, null, 2));
}

export interface BuildOptions {
  /** Default dist/. */
  outDir?: string;
  /** Default: from TANDEM_COSIGNER_URL and TANDEM_CHAINS, else the local stack. */
  defaults?: BuildDefaults;
  dapp?: boolean;
  /**
   * The dapp-test kit's build only: a cheap vault and recovery-kit KDF (see WEAK_TEST_KDF), so a
   * throwaway wallet onboards fast. Its popup says so on every page. Never for a build users install.
   */
  testKdf?: boolean;
}

export async function buildExtension(options: BuildOptions = {}): Promise<{ chromeDir: string; firefoxDir: string; dappDir: string }> {
  const dist = options.outDir ?? join(root, 'dist');
  const chromeDir = join(dist, 'chrome');
  const firefoxDir = join(dist, 'firefox');
  const dappDir = join(dist, 'dapp');
  defaults = options.defaults ?? defaultsFromEnv();
  testKdf = options.testKdf === true;
  rmSync(chromeDir, { recursive: true, force: true });
  mkdirSync(chromeDir, { recursive: true });
  await buildScript(chromeDir, 'src/background/index.ts', 'background.js', 'es');
  await buildScript(chromeDir, 'src/content/provider.ts', 'content/provider.js', 'iife');
  await buildScript(chromeDir, 'src/content/relay.ts', 'content/relay.js', 'iife');
  await buildPopup(chromeDir);
  writeManifests(chromeDir, firefoxDir);
  if (options.dapp !== false) await buildDapp(dappDir);
  return { chromeDir, firefoxDir, dappDir };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const { chromeDir: built, firefoxDir, dappDir } = await buildExtension();
  console.log(`Built in ${Math.round(performance.now() - started)} ms:\n  Chrome extension:  ${built}\n  Firefox extension: ${firefoxDir}\n  Demo dapp:         ${dappDir}`);
}
