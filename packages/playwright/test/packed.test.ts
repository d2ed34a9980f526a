/**
 * The package as a dapp developer gets it: build, `npm pack`, install the tarball into a clean
 * temporary project that has only @playwright/test (the root's version, from the registry) and run
 * its example dapp test (connect, personal_sign, reject → 4001); then the failure paths: a missing
 * browser fails fast and clearly, and a failing test leaves no process behind.
 *
 *   npm run test:kit
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = resolve(pkgDir, '../..');
const playwrightVersion = (JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@playwright/test']!;
let work: string;
let project: string;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 480_000 });
}

function playwright(env: Record<string, string> = {}, args: string[] = []) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(project, 'node_modules/@playwright/test/cli.js'), 'test', ...args], {
    cwd: project,
    encoding: 'utf8',
    timeout: 240_000,
    // TMPDIR inside `work`: the fixture's throwaway (or, after a failed start, kept) directories go with it.
    env: { ...process.env, CI: '1', TMPDIR: join(work, 'tmp'), ...env },
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}`, ms: Date.now() - started };
}

function cosignersOf(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((line) => line.includes(dir) && (line.includes('cosigner.js') || line.includes('chrom')));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tandem-kit-packed-'));
  npm(['run', 'build'], pkgDir);
  npm(['pack', '--pack-destination', work], pkgDir);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
  mkdirSync(join(work, 'tmp'));
  project = join(work, 'project');
  cpSync(join(pkgDir, 'test/fixture-project'), project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'kit-consumer',
        private: true,
        type: 'module',
        devDependencies: { '@playwright/test': playwrightVersion, '@tandem-wallet/playwright': `file:${join(work, tarball)}` },
        // npm 11 runs a dependency's install script only when approved: better-sqlite3 builds its addon.
        allowScripts: { 'better-sqlite3': true },
      },
      null,
      2,
    ),
  );
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('@tandem-wallet/playwright from its tarball', () => {
  it('ships the extension, the bundled co-signer and types', () => {
    const installed = join(project, 'node_modules/@tandem-wallet/playwright');
    const files = readdirSync(join(installed, 'dist'));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'cosigner.js', 'extension']));
    expect(JSON.parse(readFileSync(join(installed, 'dist/extension/manifest.json'), 'utf8')).manifest_version).toBe(3);
  });

  it('runs the example dapp test: connect, personal_sign, reject → 4001', () => {
    const run = playwright({}, ['tests/dapp.spec.ts']);
    expect(run.output).toContain('1 passed');
    expect(run.status, run.output).toBe(0);
    expect(cosignersOf(project)).toEqual([]);
  });

  it('fails fast and clearly when the browser does not start, and stops the co-signer', () => {
    const run = playwright({ TANDEM_CHROMIUM: join(work, 'no-such-chromium') }, ['tests/dapp.spec.ts']);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('Tandem: the browser did not start');
    expect(run.output).toContain('no-such-chromium');
    expect(run.ms).toBeLessThan(30_000);
    expect(cosignersOf(project)).toEqual([]);
  });

  it('cleans up every process after a failing test', () => {
    const run = playwright({ KIT_EXPECT_FAIL: '1' }, ['tests/fails.spec.ts']);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('0xnot-this');
    expect(cosignersOf(project)).toEqual([]);
  });
});
