/**
 * Builds the package into dist/:
 *   dist/extension/   the Chrome MV3 extension (this repository's build, with no co-signer baked in:
 *                     the fixture types its URL into onboarding, and trusts its certificate by SPKI hash)
 *   dist/cosigner.js  src/cosigner bundled by esbuild; better-sqlite3 (native) stays a dependency
 *   dist/*.js, *.d.ts the fixture, compiled by tsc
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExtension } from '../../../scripts/build-extension.js';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkg, 'dist');
const started = performance.now();
rmSync(dist, { recursive: true, force: true });

const work = join(pkg, '.build');
rmSync(work, { recursive: true, force: true });
// No co-signer URL (the fixture types it into onboarding); one chain whose RPC URL the fixture sets per run.
const { chromeDir } = await buildExtension({
  outDir: work,
  dapp: false,
  defaults: { chains: [{ id: 31337, name: 'Tandem kit chain', rpcUrl: 'http://127.0.0.1:8545/__tandem_kit_rpc__', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }] },
});
cpSync(chromeDir, join(dist, 'extension'), { recursive: true });
rmSync(work, { recursive: true, force: true });

await build({
  entryPoints: [join(pkg, 'src/cosigner-entry.ts')],
  outfile: join(dist, 'cosigner.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3'],
  // Bundled CommonJS dependencies call require(): give the ES module one.
  banner: { js: "import { createRequire as __tandemCreateRequire } from 'node:module'; const require = __tandemCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

const tsc = join(pkg, '../../node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(pkg, 'tsconfig.build.json')], { stdio: 'inherit' });
if (!existsSync(join(dist, 'index.d.ts'))) throw new Error('tsc wrote no dist/index.d.ts');
console.log(`@tandem-wallet/playwright built in ${Math.round(performance.now() - started)} ms: ${dist}`);
