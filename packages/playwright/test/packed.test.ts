/**
 * The package as a dapp developer gets it: build, `npm pack`, and install the tarball into two clean temporary
 * projects:
 *   - minimal (test/fixture-project): only @playwright/test (the root's version, from the registry) and the tarball;
 *     its example dapp test (connect, personal_sign, reject → 4001), then the failure paths: a missing browser fails
 *     fast and clearly, and a failing test leaves no process behind;
 *   - examples (test/examples-project, its own package.json): ethers v6 and viem dapps, two kit chains, and MetaMask's
 *     test dapp, on hardhat nodes the kit starts from that project's hardhat.
 *
 *   npm run test:kit
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = resolve(pkgDir, '../..');
const rootManifest = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const rootDevDependencies = rootManifest.devDependencies;
let work: string;
let minimal: string;
let examples: string;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 480_000 });
}

function playwright(project: string, env: Record<string, string> = {}, args: string[] = []) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(project, 'node_modules/@playwright/test/cli.js'), 'test', ...args], {
    cwd: project,
    encoding: 'utf8',
    timeout: 300_000,
    // TMPDIR inside `work`: the fixture's throwaway (or, after a failed start, kept) directories go with it.
    env: { ...process.env, CI: '1', TMPDIR: join(work, 'tmp'), ...env },
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}`, ms: Date.now() - started };
}

/** Co-signers, browsers and hardhat nodes still running from a project. */
function leftoversOf(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((line) => line.includes(dir) && (line.includes('cosigner.js') || line.includes('chrom') || line.includes('hardhat')));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tandem-kit-packed-'));
  npm(['run', 'build'], pkgDir);
  npm(['pack', '--pack-destination', work], pkgDir);
  const tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
  mkdirSync(join(work, 'tmp'));

  minimal = join(work, 'minimal');
  cpSync(join(pkgDir, 'test/fixture-project'), minimal, { recursive: true });
  writeFileSync(
    join(minimal, 'package.json'),
    JSON.stringify(
      {
        name: 'kit-consumer',
        private: true,
        type: 'module',
        devDependencies: { '@playwright/test': rootDevDependencies['@playwright/test'], '@tandem-wallet/playwright': `file:${tarball}` },
        // npm 11 runs a dependency's install script only when approved: better-sqlite3 builds its addon.
        allowScripts: { 'better-sqlite3': true },
      },
      null,
      2,
    ),
  );
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], minimal);

  examples = join(work, 'examples');
  cpSync(join(pkgDir, 'test/examples-project'), examples, { recursive: true });
  // Its package.json names the tarball ../tandem-wallet-playwright.tgz.
  copyFileSync(tarball, join(work, 'tandem-wallet-playwright.tgz'));
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], examples);
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('@tandem-wallet/playwright from its tarball', () => {
  it('ships the extension, the bundled co-signer, the hardhat helper and types; the minimal project has no hardhat', () => {
    const installed = join(minimal, 'node_modules/@tandem-wallet/playwright');
    const files = readdirSync(join(installed, 'dist'));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'cosigner.js', 'hardhat-node.js', 'extension']));
    // The minimal project got nothing else: no hardhat, no ethers.
    expect(readdirSync(join(minimal, 'node_modules'))).not.toContain('hardhat');
    expect(JSON.parse(readFileSync(join(installed, 'dist/extension/manifest.json'), 'utf8')).manifest_version).toBe(3);
  });

  it('runs the example dapp test: connect, personal_sign, reject → 4001, and the popup says it is a test build', () => {
    const run = playwright(minimal, {}, ['tests/dapp.spec.ts']);
    expect(run.output).toContain('1 passed');
    expect(run.status, run.output).toBe(0);
    expect(leftoversOf(minimal)).toEqual([]);
  });

  it('the examples project pins what the repository pins', () => {
    const pinned = (JSON.parse(readFileSync(join(pkgDir, 'test/examples-project/package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    for (const name of ['@playwright/test', 'hardhat', 'viem', '@metamask/test-dapp']) expect(pinned[name], name).toBe(rootDevDependencies[name] ?? rootManifest.dependencies[name]);
  });

  it('runs the ethers v6 and viem example dapps and the two-chain example on hardhat nodes the kit starts', () => {
    const run = playwright(examples, {}, ['tests/ethers.spec.ts', 'tests/viem.spec.ts', 'tests/chains.spec.ts']);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/\b3 passed\b/);
    expect(leftoversOf(examples)).toEqual([]);
  });

  it("drives MetaMask's test dapp: connect, permissions, signatures, transactions, tokens, NFTs, chains, malformed requests", () => {
    const run = playwright(examples, {}, ['tests/metamask-test-dapp.spec.ts']);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/\b12 passed\b/);
    expect(run.output).toMatch(/\b6 skipped\b/);
    // The per-flow table the spec prints.
    expect(run.output).toMatch(/ERC-20 deploy, transfer, approve +\| passed/);
    expect(run.output).toMatch(/eth_decrypt +\| skipped: /);
    expect(leftoversOf(examples)).toEqual([]);
  });

  it('fails fast and clearly when the browser does not start, and stops the co-signer', () => {
    const run = playwright(minimal, { TANDEM_CHROMIUM: join(work, 'no-such-chromium') }, ['tests/dapp.spec.ts']);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('Tandem: the browser did not start');
    expect(run.output).toContain('no-such-chromium');
    expect(run.ms).toBeLessThan(30_000);
    expect(leftoversOf(minimal)).toEqual([]);
  });

  it('fails fast and clearly when the hardhat option is used in a project without hardhat', () => {
    const run = playwright(minimal, {}, ['tests/needs-hardhat.spec.ts']);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('Tandem: the hardhat node did not start: the hardhat option needs hardhat 2 in this project (npm i -D hardhat@2)');
    expect(run.ms).toBeLessThan(30_000);
    expect(leftoversOf(minimal)).toEqual([]);
  });

  it('cleans up every process after a failing test', () => {
    const run = playwright(minimal, { KIT_EXPECT_FAIL: '1' }, ['tests/fails.spec.ts']);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('0xnot-this');
    expect(leftoversOf(minimal)).toEqual([]);
  });
});
