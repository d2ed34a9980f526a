/**
 * Builds the package into dist/:
 *   dist/extension/   the Chrome MV3 extension (this repository's build, with no co-signer baked in:
 *                     the fixture types its URL into onboarding, and trusts its certificate by SPKI hash)
 *   dist/cosigner.js  src/cosigner bundled by esbuild; better-sqlite3 (native) stays a dependency
 *   dist/hardhat-node.js  src/client/testing/hardhat-node.ts bundled: the `hardhat` option's node
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
// A cheap vault KDF (the popup says it is a test build). No co-signer URL (the fixture types it into onboarding); one chain whose RPC URL the fixture sets per run.
const { chromeDir } = await buildExtension({
  outDir: work,
  dapp: false,
  testKdf: true,
  defaults: { chains: [{ id: 31337, name: 'Tandem kit chain', rpcUrl: 'http://127.0.0.1:8545/__tandem_kit_rpc__', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }] },
});
cpSync(chromeDir, join(dist, 'extension'), { recursive: true });
rmSync(work, { recursive: true, force: true });

const bundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // pg-native is pg's optional native binding, never loaded unless asked for.
  external: ['better-sqlite3', 'pg-native'],
  // Bundled CommonJS dependencies call require(): give the ES module one.
  banner: { js: "import { createRequire as __tandemCreateRequire } from 'node:module'; const require = __tandemCreateRequire(import.meta.url);" },
  logLevel: 'warning',
} as const;
await build({ ...bundleOptions, entryPoints: [join(pkg, 'src/cosigner-entry.ts')], outfile: join(dist, 'cosigner.js') });
// The `hardhat` option's node: it runs the consuming project's own hardhat, so nothing of hardhat is bundled.
await build({ ...bundleOptions, entryPoints: [join(pkg, '../../src/client/testing/hardhat-node.ts')], outfile: join(dist, 'hardhat-node.js') });

const tsc = join(pkg, '../../node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(pkg, 'tsconfig.build.json')], { stdio: 'inherit' });
if (!existsSync(join(dist, 'index.d.ts'))) throw new Error('tsc wrote no dist/index.d.ts');
console.log(`@tandem-wallet/playwright built in ${Math.round(performance.now() - started)} ms: ${dist}`);
