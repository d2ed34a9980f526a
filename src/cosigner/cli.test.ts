/**
 * The co-signer CLI as an operator runs it: a real child process, a real data directory, real TLS.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TransactionSerializable } from 'viem';
import { payloadHash, signDecision, type RequestView } from '../channel/approval-protocol.js';
import { payloadToWire } from '../channel/cosigner-protocol.js';
import { Identity } from '../channel/identity.js';
import { bytesToHex } from '../mpc/bytes.js';
import { payloadDigest } from '../mpc/ethereum.js';
import { runCli as runCliInProcess } from './cli.js';
import { chainRpcUrlsFrom } from './cli/start.js';
import { databasePath, generatedMasterKeyPath, masterKeyFromBytes, openSqliteStore } from './store/index.js';
import { spkiHash } from './tls.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const REPO = resolve(dirname(CLI), '../..');
const MASTER_KEY_HEX = '11'.repeat(32);
const WITH_KEY = { TANDEM_MASTER_KEY: MASTER_KEY_HEX };
const LOCKED_ADDRESS = '0x52908400098527886e0f7030069857d2e4169ee7';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A CLI process with a clean environment: only what the test passes, no inherited TANDEM_* settings. */
function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TANDEM_')));
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/**
 * The same command in this process, with its own environment and captured output: for the many
 * policy cases, where a process per case would mostly measure loading viem again.
 */
async function runHere(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCliInProcess(args, { stdout: (text) => void (stdout += `${text}\n`), stderr: (text) => void (stderr += `${text}\n`), env });
  return { code, stdout, stderr };
}

function httpsJson(url: string, method: 'GET' | 'POST', caPem: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolveRequest, reject) => {
    const req = request(url, { method, ca: caPem, headers: method === 'POST' ? { 'content-type': 'application/json' } : {} }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolveRequest({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.once('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

const dirs: string[] = [];
function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  dirs.push(dir);
  return join(dir, 'cosigner');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Creates the database the way a first start does, so commands other than start have one to open. */
function createStore(dataDir: string) {
  return openSqliteStore({ path: databasePath(dataDir), masterKey: masterKeyFromBytes(Buffer.from(MASTER_KEY_HEX, 'hex'), 'env') });
}

describe('start', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('prints the URLs, identity, SPKI hash, Chromium flag and certificate path, serves /v1/health and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDataDir();
    child = spawnCli(['start', '--data-dir', dataDir, '--port', '0'], WITH_KEY);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      child!.once('exit', (code, signal) => resolveExit({ code, signal })),
    );
    await new Promise<void>((resolveBanner, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Stop it with')) resolveBanner();
      });
      void exited.then(({ code }) => reject(new Error(`start exited (${code}) before printing its banner:\n${stdout}\n${stderr}`)));
    });

    const field = (label: string) => new RegExp(`^ {2}${label} +(\\S+)`, 'm').exec(stdout)?.[1];
    const url = field('HTTPS API')!;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(field('device broker URL')).toBe(`${url.replace('https:', 'wss:')}/mqtt`);
    expect(field('co-signer identity')).toMatch(/^0[23][0-9a-f]{64}$/);
    expect(field('data directory')).toBe(dataDir);
    const certPath = field('TLS certificate')!;
    expect(certPath).toBe(join(dataDir, 'tls', 'server-cert.pem'));
    // The printed hash is the one of the certificate actually on disk, and the flag carries it verbatim.
    const certPem = readFileSync(certPath, 'utf8');
    const hash = spkiHash(certPem);
    expect(field('SPKI sha256')).toBe(hash);
    expect(stdout).toContain(`--ignore-certificate-errors-spki-list=${hash}\n`);
    expect(stdout).toMatch(/master key +id [0-9a-f]{16} \(\$TANDEM_MASTER_KEY\)/);

    // The printed certificate is enough to trust the server: no other CA, no verification switched off.
    await expect(httpsJson(`${url}/v1/health`, 'GET', certPem)).resolves.toMatchObject({ status: 200, body: { ok: true, status: 'ok', broker: 'connected', store: 'ok' } });
    await expect(httpsJson(`${url}/v1/health`, 'POST', certPem)).resolves.toMatchObject({ status: 200, body: { ok: true, status: 'ok' } });

    child.kill('SIGTERM');
    await expect(exited).resolves.toEqual({ code: 0, signal: null });
    expect(stderr).toContain('co-signer stopped.');
    // Closed cleanly: SQLite folds the WAL back into the database and removes it on the last close.
    expect(existsSync(`${databasePath(dataDir)}-wal`)).toBe(false);
  });

  it('with --log-format json and --metrics-port: JSON log lines, /metrics and /v1/health on plain HTTP, and SIGTERM drains, then exits 0', async () => {
    const dataDir = tempDataDir();
    child = spawnCli(['start', '--data-dir', dataDir, '--port', '0', '--log-format', 'json', '--metrics-port', '0', '--drain-timeout', '5s'], WITH_KEY);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => child!.once('exit', (code, signal) => resolveExit({ code, signal })));
    await new Promise<void>((resolveBanner, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Stop it with')) resolveBanner();
      });
      void exited.then(({ code }) => reject(new Error(`start exited (${code}) before printing its banner:\n${stdout}\n${stderr}`)));
    });
    const metricsUrl = /^ {2}metrics +(http:\/\/127\.0\.0\.1:\d+)\/metrics/m.exec(stdout)?.[1];
    expect(metricsUrl, stdout).toBeDefined();
    const metrics = await fetch(`${metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toMatch(/^process_resident_memory_bytes \d+$/m);
    const health = await fetch(`${metricsUrl}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', broker: 'connected', store: 'ok' });

    child.kill('SIGTERM');
    await expect(exited).resolves.toEqual({ code: 0, signal: null });
    const lines = stderr.split('\n').filter((line) => line.length > 0);
    expect(lines.length).toBeGreaterThan(0);
    // Every stderr line is one JSON object with time, level and msg.
    const parsed = lines.map((line) => JSON.parse(line) as { time: string; level: string; msg: string });
    for (const line of parsed) {
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
      expect(typeof line.msg).toBe('string');
    }
    const messages = parsed.map((line) => line.msg);
    expect(messages.some((msg) => msg.startsWith('SIGTERM: draining'))).toBe(true);
    expect(messages).toContain('drained: no request in progress');
    expect(messages.at(-1)).toBe('co-signer stopped.');
  });

  it('refuses an incomplete external-broker configuration with a usage error', async () => {
    const result = await runCli(['start', '--data-dir', tempDataDir(), '--port', '0', '--broker-url', 'mqtts://127.0.0.1:8883'], WITH_KEY);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: An external broker needs all of .*missing --broker-ca, --broker-cert, --broker-key, --device-broker-url\./m);
  });
});

describe('usage', () => {
  it('prints help with exit 0, and unknown commands or flags with exit 2', async () => {
    const [help, setHelp, unknownCommand, unknownFlag, missingArgument] = await Promise.all([
      runCli(['--help']),
      runCli(['policy', 'set', '--help']),
      runCli(['frobnicate']),
      runCli(['wallets', '--colour']),
      runCli(['policy', 'show']),
    ]);
    expect(help.code).toBe(0);
    for (const command of ['start', 'wallets', 'policy show', 'policy set', 'audit verify', 'audit list', 'approvers invite', 'approvers list', 'approvers remove', 'requests list', 'requests show']) expect(help.stdout).toContain(`  ${command} `);
    expect(setHelp.code).toBe(0);
    expect(setHelp.stdout).toContain('--max-value-per-tx-wei <n>');
    expect(setHelp.stdout).toContain('--allow-chain <id>');
    expect(unknownCommand).toMatchObject({ code: 2, stdout: '' });
    expect(unknownCommand.stderr).toMatch(/^error: Unknown command "frobnicate"/);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/^error: Unknown option '--colour'/);
    expect(unknownFlag.stderr).toContain('wallets --help');
    expect(missingArgument.code).toBe(2);
    expect(missingArgument.stderr).toMatch(/^error: Missing <walletId>/);
  });
});

describe('audit verify', () => {
  it('passes on a fresh data directory and fails naming the seq of an edited row, without the master key', async () => {
    const dataDir = tempDataDir();
    const store = createStore(dataDir);
    store.close();

    // No TANDEM_MASTER_KEY, and no generated key file to fall back on: the audit tools must not need one.
    const fresh = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(existsSync(generatedMasterKeyPath(dataDir))).toBe(false);
    expect(fresh).toMatchObject({ code: 0, stdout: 'audit chain OK: 0 rows (the log is empty)\n' });

    const writer = createStore(dataDir);
    const walletId = 'ab'.repeat(16);
    writer.enroll({ walletId, deviceId: 'cd'.repeat(16), identityPublicKey: `02${'33'.repeat(32)}`, threshold: 2, parties: [1, 2] });
    writer.setPolicy(walletId, { maxValuePerTxWei: '5' }, { actor: 'test' });
    writer.audit.append({ kind: 'admin', summary: { note: 'third row' } });
    const head = writer.audit.head()!;
    writer.close();

    const intact = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(intact).toMatchObject({ code: 0, stderr: '' });
    expect(intact.stdout).toBe(`audit chain OK: 3 rows, head ${head.hash} (seq 3)\n`);

    // Someone with the file edits row 2 (the policy change), after dropping the trigger that would stop them.
    const raw = new Database(databasePath(dataDir));
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare('UPDATE audit_log SET summary = ? WHERE seq = 2').run(JSON.stringify({ actor: 'test', policy: { maxValuePerTxWei: '5000000' }, previous: {} }));
    raw.close();

    const broken = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toMatch(/^error: audit chain broken at seq 2: Row 2 does not match its hash/);
  });

  it('also checks a head recorded earlier', async () => {
    const dataDir = tempDataDir();
    const store = createStore(dataDir);
    store.audit.append({ kind: 'admin', summary: { n: 1 } });
    const early = store.audit.head()!;
    store.audit.append({ kind: 'admin', summary: { n: 2 } });
    store.close();

    const [ok, wrong] = await Promise.all([
      runCli(['audit', 'verify', '--data-dir', dataDir, '--expected-head', `${early.seq}:${early.hash}`]),
      runCli(['audit', 'verify', '--data-dir', dataDir, '--expected-head', `1:${'0'.repeat(64)}`]),
    ]);
    expect(ok.code).toBe(0);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: audit chain broken at seq 1: Row 1 differs from the head recorded earlier/);
  });

  it('says where the database should be when there is none', async () => {
    const dataDir = tempDataDir();
    const result = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: No co-signer database in ${dataDir}.`);
  });
});

describe('wallets and policy', () => {
  let dataDir: string;
  const walletId = 'e0'.repeat(16);
  const otherWallet = 'f1'.repeat(16);

  beforeAll(() => {
    dataDir = tempDataDir();
    const store = createStore(dataDir);
    store.enroll({ walletId, deviceId: '0e'.repeat(16), identityPublicKey: `03${'44'.repeat(32)}`, threshold: 2, parties: [1, 2] });
    store.enroll({ walletId: otherWallet, deviceId: '1f'.repeat(16), identityPublicKey: `02${'55'.repeat(32)}`, threshold: 2, parties: [1, 2, 3] });
    store.activateWallet({ walletId: otherWallet, address: LOCKED_ADDRESS, publicKey: `0x03${'11'.repeat(32)}`, share: 'not a real share', generation: 0 });
    store.lockWallet(otherWallet, 'test lock');
    store.close();
  });

  const policyOf = (id: string) => {
    const store = createStore(dataDir);
    try {
      return { policy: store.getPolicy(id), rows: store.audit.list({ walletId: id, kind: 'policy' }) };
    } finally {
      store.close();
    }
  };

  it('lists wallets with parties, status and the reason a wallet is locked, filtered by status', async () => {
    const [all, locked, noKey] = await Promise.all([
      runCli(['wallets', '--data-dir', dataDir], WITH_KEY),
      runCli(['wallets', '--data-dir', dataDir, '--status', 'locked', '--json'], WITH_KEY),
      runCli(['wallets', '--data-dir', dataDir]),
    ]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WALLET +PARTIES +STATUS +ADDRESS +LOCKED REASON$/);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${walletId} +2-of-2 +pending +-$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${otherWallet} +2-of-3 +locked +${LOCKED_ADDRESS} +test lock$`, 'i')));
    expect(locked.code).toBe(0);
    expect((JSON.parse(locked.stdout) as { walletId: string; lockedReason: string }[]).map((w) => [w.walletId, w.lockedReason])).toEqual([[otherWallet, 'test lock']]);
    // The wallet store is opened with the master key; without it the operator is told how to supply it.
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^error: .*no master key was supplied\. Set TANDEM_MASTER_KEY/m);
  });

  it('sets a policy, merges later changes into it, clears it, and audits each change with actor "cli"', async () => {
    const first = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--max-value-per-tx-eth', '0.5', '--allow-chain', '1', '--allow-chain', '10'], WITH_KEY);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/max value per transaction +500000000000000000 wei \(0\.5 ETH\)/);
    expect(policyOf(walletId).policy).toEqual({ maxValuePerTxWei: '500000000000000000', allowedChainIds: [1, 10] });

    const merged = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--daily-limit-wei', '7', '--allow-recipient', '0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826'], WITH_KEY);
    expect(merged.code).toBe(0);
    expect(policyOf(walletId).policy).toEqual({
      maxValuePerTxWei: '500000000000000000',
      dailyLimitWei: '7',
      allowedRecipients: ['0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826'],
      allowedChainIds: [1, 10],
    });

    const unset = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--unset', 'chains', '--allow-contract', 'none'], WITH_KEY);
    expect(unset.code).toBe(0);
    expect(policyOf(walletId).policy).toEqual({
      maxValuePerTxWei: '500000000000000000',
      dailyLimitWei: '7',
      allowedRecipients: ['0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826'],
      allowedContracts: [],
    });

    const cleared = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--clear', '--allow-chain', '5'], WITH_KEY);
    expect(cleared.code).toBe(0);
    const { policy, rows } = policyOf(walletId);
    expect(policy).toEqual({ allowedChainIds: [5] });
    expect(rows.map((row) => row.summary.actor)).toEqual(['cli', 'cli', 'cli', 'cli']);
    expect(rows.at(-1)!.summary.policy).toEqual({ allowedChainIds: [5] });

    const shown = await runHere(['policy', 'show', walletId, '--data-dir', dataDir], WITH_KEY);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/chains +5\n/);
    expect(shown.stdout).toMatch(/max value per transaction +no limit\n/);
    expect(shown.stdout).toMatch(/recipients +any\n/);
  });

  it('prints validatePolicy errors and changes nothing', async () => {
    const before = policyOf(otherWallet);
    const [negative, badAddress, badChain, badEther, both, unknownWallet] = await Promise.all([
      runHere(['policy', 'set', otherWallet, '--data-dir', dataDir, '--max-value-per-tx-wei=-5'], WITH_KEY),
      runHere(['policy', 'set', otherWallet, '--data-dir', dataDir, '--allow-recipient', '0x1234'], WITH_KEY),
      runHere(['policy', 'set', otherWallet, '--data-dir', dataDir, '--allow-chain', 'mainnet'], WITH_KEY),
      runHere(['policy', 'set', otherWallet, '--data-dir', dataDir, '--daily-limit-eth', '1.0000000000000000001'], WITH_KEY),
      runHere(['policy', 'set', otherWallet, '--data-dir', dataDir, '--daily-limit-eth', '1', '--daily-limit-wei', '1'], WITH_KEY),
      runHere(['policy', 'set', '99'.repeat(16), '--data-dir', dataDir, '--allow-chain', '1'], WITH_KEY),
    ]);
    expect(negative.code).toBe(1);
    expect(negative.stderr).toMatch(/^error: maxValuePerTxWei is negative \(-5\)/);
    expect(badAddress.code).toBe(1);
    expect(badAddress.stderr).toMatch(/^error: allowedRecipients\[0\] is not a valid address \("0x1234"\)/);
    expect(badChain.code).toBe(1);
    expect(badChain.stderr).toMatch(/^error: allowedChainIds\[0\] must be a positive integer chain id.*got "mainnet"/);
    expect(badEther.code).toBe(1);
    expect(badEther.stderr).toMatch(/^error: --daily-limit-eth must be an amount of ether with at most 18 decimals/);
    expect(both.code).toBe(2);
    expect(unknownWallet.code).toBe(1);
    expect(unknownWallet.stderr).toMatch(/^error: No wallet 9{32} here/);
    expect(policyOf(otherWallet)).toEqual(before);
  });

  it('sets, shows and unsets a required key refresh every N days, and refuses a bad interval', async () => {
    const set = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--clear', '--refresh-every-days', '30'], WITH_KEY);
    expect(set.code, set.stderr).toBe(0);
    expect(policyOf(walletId).policy).toEqual({ refreshEveryDays: 30 });
    const shown = await runHere(['policy', 'show', walletId, '--data-dir', dataDir], WITH_KEY);
    expect(shown.stdout).toMatch(/key refresh +every 30 days\n/);
    const json = await runHere(['policy', 'show', walletId, '--data-dir', dataDir, '--json'], WITH_KEY);
    expect(JSON.parse(json.stdout)).toEqual({ refreshEveryDays: 30 });

    const [zero, words] = await Promise.all([
      runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--refresh-every-days', '0'], WITH_KEY),
      runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--refresh-every-days', 'monthly'], WITH_KEY),
    ]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/^error: refreshEveryDays must be a whole number of days from 1 to 3650, e\.g\. 30; got 0\./);
    expect(words.code).toBe(1);
    expect(words.stderr).toMatch(/got "monthly"/);
    expect(policyOf(walletId).policy).toEqual({ refreshEveryDays: 30 });

    const unset = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--unset', 'refresh-every'], WITH_KEY);
    expect(unset.code, unset.stderr).toBe(0);
    expect(policyOf(walletId).policy).toEqual({});
    expect(unset.stdout).toMatch(/key refresh +not required\n/);
  });
});

describe('restore policy and devices approve-restore', () => {
  it('sets, shows and unsets the restore delay and operator approval; approves a restoring device, audited, and refuses any other', async () => {
    const dataDir = tempDataDir();
    const walletId = 'a7'.repeat(16);
    const activeDevice = '7a'.repeat(16);
    const restoringDevice = '7b'.repeat(16);
    const store = createStore(dataDir);
    store.enroll({ walletId, deviceId: activeDevice, identityPublicKey: `02${'66'.repeat(32)}`, threshold: 2, parties: [1, 2, 3] });
    store.activateWallet({ walletId, address: LOCKED_ADDRESS, publicKey: `0x03${'11'.repeat(32)}`, share: 'not a real share', generation: 0 });
    store.createRestoringDevice({ deviceId: restoringDevice, identityPublicKey: `03${'77'.repeat(32)}`, walletId });
    store.close();
    const stored = () => {
      const reader = createStore(dataDir);
      try {
        return { policy: reader.getPolicy(walletId), device: reader.getDevice(restoringDevice), approvals: reader.audit.list({ walletId, kind: 'approve' }) };
      } finally {
        reader.close();
      }
    };

    const set = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--restore-delay-minutes', '1440', '--restore-needs-operator'], WITH_KEY);
    expect(set.code, set.stderr).toBe(0);
    expect(stored().policy).toEqual({ restoreDelayMinutes: 1440, restoreNeedsOperator: true });
    const shown = await runHere(['policy', 'show', walletId, '--data-dir', dataDir], WITH_KEY);
    expect(shown.stdout).toMatch(/restore delay +1440 minutes\n/);
    expect(shown.stdout).toMatch(/restore approval +an operator must approve \(devices approve-restore\)\n/);
    const tooLong = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--restore-delay-minutes', '43201'], WITH_KEY);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/^error: restoreDelayMinutes must be a whole number of minutes from 0 to 43200 \(30 days\), e\.g\. 1440 for a day; got 43201\./);

    const listedBefore = await runHere(['devices', 'list', walletId, '--data-dir', dataDir], WITH_KEY);
    expect(listedBefore.stdout).toMatch(new RegExp(`^${restoringDevice} +restoring +\\S+ +-$`, 'm'));

    // The operator's command, as a real process.
    const approved = await runCli(['devices', 'approve-restore', restoringDevice, '--actor', 'alice', '--data-dir', dataDir], WITH_KEY);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^approved the restore of device ${restoringDevice} of wallet ${walletId} \\(by alice\\)$`, 'm'));
    const after = stored();
    expect(after.device).toMatchObject({ status: 'restoring', restoreApprovedAt: expect.any(Number) });
    expect(after.approvals).toMatchObject([{ deviceId: restoringDevice, summary: { action: 'approve-restore', deviceId: restoringDevice, actor: 'alice' } }]);

    const [listed, listedJson, notRestoring, unknown, badId] = await Promise.all([
      runHere(['devices', 'list', walletId, '--data-dir', dataDir], WITH_KEY),
      runHere(['devices', 'list', walletId, '--data-dir', dataDir, '--json'], WITH_KEY),
      runHere(['devices', 'approve-restore', activeDevice, '--data-dir', dataDir], WITH_KEY),
      runHere(['devices', 'approve-restore', '7c'.repeat(16), '--data-dir', dataDir], WITH_KEY),
      runHere(['devices', 'approve-restore', 'not-hex', '--data-dir', dataDir], WITH_KEY),
    ]);
    expect(listed.stdout).toMatch(new RegExp(`^${restoringDevice} +restoring \\(approved\\) +`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${activeDevice} +active +`, 'm'));
    expect((JSON.parse(listedJson.stdout) as { deviceId: string; restoreApprovedAt: string | null }[]).map((d) => [d.deviceId, d.restoreApprovedAt])).toEqual([
      [activeDevice, null],
      [restoringDevice, new Date(after.device!.restoreApprovedAt!).toISOString()],
    ]);
    expect(notRestoring.code).toBe(1);
    expect(notRestoring.stderr).toMatch(new RegExp(`^error: Device ${activeDevice} is active: it already holds its share, so there is no restore of it to approve`));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: No device (7c){16} here\./);
    expect(badId.code).toBe(2);
    expect(stored().approvals).toHaveLength(1);

    const unset = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--unset', 'restore-delay', '--unset', 'restore-needs-operator'], WITH_KEY);
    expect(unset.code, unset.stderr).toBe(0);
    expect(stored().policy).toEqual({});
    expect(unset.stdout).toMatch(/restore delay +the co-signer's default \(--restore-delay\)\n/);
    expect(unset.stdout).toMatch(/restore approval +not required\n/);
  });
});

describe('approvers and requests', () => {
  const walletId = 'c3'.repeat(16);
  const deviceId = '3c'.repeat(16);
  const recipient = '0x8617E340B3D01FA5F11F306F4090FD50E238070D';
  let dataDir: string;
  let alice: { approverId: string; identity: Identity };
  let bob: { approverId: string; identity: Identity };

  const invite = async (name: string, ...flags: string[]) => {
    const result = await runHere(['approvers', 'invite', name, '--data-dir', dataDir, '--json', ...flags], WITH_KEY);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { name: string; code: string; expiresAt: string };
  };

  /** What the co-signer's HTTPS API does with the code an approver presents. */
  const enroll = (code: string) => {
    const identity = Identity.generate();
    const store = createStore(dataDir);
    try {
      const record = store.approvals.enrollApprover({ codeDigest: createHash('sha256').update(code).digest('hex'), approverId: identity.deviceId, identityPublicKey: identity.publicKeyHex }) as { approverId: string };
      return { approverId: record.approverId, identity };
    } finally {
      store.close();
    }
  };

  beforeAll(async () => {
    dataDir = tempDataDir();
    const store = createStore(dataDir);
    store.enroll({ walletId, deviceId, identityPublicKey: `02${'99'.repeat(32)}`, threshold: 2, parties: [1, 2, 3] });
    store.activateWallet({ walletId, address: LOCKED_ADDRESS, publicKey: `0x03${'11'.repeat(32)}`, share: 'not a real share', generation: 0 });
    store.close();
  });

  it('invites with a one-time random code of which only the SHA-256 is stored, lists and refuses a taken name', async () => {
    const [first, second] = await Promise.all([invite('alice'), invite('bob', '--expires', '2h')]);
    for (const invitation of [first, second]) expect(invitation.code).toMatch(/^[A-Z2-7]{32}$/);
    expect(first.code).not.toBe(second.code);
    expect(Date.parse(second.expiresAt) - Date.now()).toBeGreaterThan(2 * 3_600_000 - 60_000);
    expect(Date.parse(second.expiresAt) - Date.now()).toBeLessThanOrEqual(2 * 3_600_000);
    const raw = new Database(databasePath(dataDir), { readonly: true });
    const rows = raw.prepare('SELECT * FROM approver_invitations').all() as Record<string, unknown>[];
    raw.close();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(first.code);
    expect(stored).toContain(createHash('sha256').update(first.code).digest('hex'));

    const text = await runHere(['approvers', 'invite', 'carol', '--data-dir', dataDir], WITH_KEY);
    expect(text.code, text.stderr).toBe(0);
    const code = /^ {2}([A-Z2-7]{32})$/m.exec(text.stdout)?.[1];
    expect(code).toBeDefined();
    expect(text.stdout).toContain(`npm run client -- approver enroll --cosigner https://<this co-signer>:<port> --code ${code} --file carol.approver.json`);

    alice = enroll(first.code);
    bob = enroll(second.code);
    const listed = await runHere(['approvers', 'list', '--data-dir', dataDir], WITH_KEY);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^APPROVER +NAME +STATUS +ENROLLED +REMOVED +PENDING$/m);
    expect(listed.stdout).toMatch(new RegExp(`^${alice.approverId} +alice +active +\\S+Z +- +0$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^${bob.approverId} +bob +active `, 'm'));

    const [taken, badName, badExpiry] = await Promise.all([
      runHere(['approvers', 'invite', 'alice', '--data-dir', dataDir], WITH_KEY),
      runHere(['approvers', 'invite', 'has space', '--data-dir', dataDir], WITH_KEY),
      runHere(['approvers', 'invite', 'dave', '--expires', 'forever', '--data-dir', dataDir], WITH_KEY),
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^error: An approver named alice is already enrolled/);
    expect(badName.code).toBe(2);
    expect(badExpiry.code).toBe(2);
    expect(badExpiry.stderr).toMatch(/--expires is a duration from 1m to 30d/);
  });

  it('policy set --approvals takes approvers by name, stores ids, shows names, and refuses an unknown one', async () => {
    const rules = [{ id: 'large', when: [{ valueAboveWei: '1000000000000000000' }], approvers: ['alice', bob.approverId], quorum: 2, expiresAfterMinutes: 60 }];
    const set = await runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--approvals', JSON.stringify(rules)], WITH_KEY);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/approvals +large: 2 of alice, bob, for requests sending more than 1 ETH; within 60 minutes\n/);
    const shown = await runHere(['policy', 'show', walletId, '--data-dir', dataDir, '--json'], WITH_KEY);
    expect(JSON.parse(shown.stdout)).toEqual({ approvals: [{ ...rules[0], approvers: [alice.approverId, bob.approverId] }] });

    const [unknown, notJson, both] = await Promise.all([
      runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--approvals', JSON.stringify([{ ...rules[0], approvers: ['mallory'] }])], WITH_KEY),
      runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--approvals', '[{'], WITH_KEY),
      runHere(['policy', 'set', walletId, '--data-dir', dataDir, '--approvals', '[]', '--unset', 'approvals'], WITH_KEY),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: approvals\[0\]\.approvers\[0\]: no enrolled approver is named or has the id "mallory"/);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^error: --approvals is not valid JSON/);
    expect(both.code).toBe(2);
  });

  it('lists and shows a held request: state, decoded transaction, quorums with names, decisions', async () => {
    const transaction: TransactionSerializable = { type: 'eip1559', chainId: 1, nonce: 7, to: recipient, value: 2_500_000_000_000_000_000n, gas: 21_000n, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
    const payload = { kind: 'transaction' as const, transaction };
    const payloadJson = JSON.stringify(payloadToWire(payload));
    const requestId = 'ab'.repeat(16);
    const store = createStore(dataDir);
    let decidedAt: number;
    try {
      store.putPresignature({ walletId, presignatureId: 'cd'.repeat(16), state: '{"presig":"not real"}' });
      const view = store.holdSignRequest(
        {
          requestId,
          walletId,
          deviceId,
          presignatureId: 'cd'.repeat(16),
          payloadJson,
          digest: `0x${bytesToHex(payloadDigest(payload))}`,
          payloadHash: payloadHash(payloadJson),
          decoded: { kind: 'transaction', chainId: 1, to: recipient, valueWei: String(transaction.value), nonce: 7, selector: null, dataBytes: 0 },
          quorums: [{ rule: 'large', quorum: 2, approvers: [{ approverId: alice.approverId, name: 'alice' }, { approverId: bob.approverId, name: 'bob' }] }],
          expiresAt: Date.now() + 3_600_000,
        },
        ['00'],
      );
      const decision = signDecision(alice.identity, { requestId, walletId, digest: view.digest, payloadHash: view.payloadHash, verdict: 'approve', decidedAt: Date.now() });
      decidedAt = decision.decidedAt;
      store.approvals.recordDecision({ requestId, approverId: alice.approverId, verdict: 'approve', decidedAt, signature: decision.signature });
    } finally {
      store.close();
    }

    const [list, pendingOnly, signedOnly, forBob, json, badState] = await Promise.all([
      runHere(['requests', 'list', '--data-dir', dataDir], WITH_KEY),
      runHere(['requests', 'list', '--data-dir', dataDir, '--wallet', walletId, '--state', 'pending-approval,approved'], WITH_KEY),
      runHere(['requests', 'list', '--data-dir', dataDir, '--state', 'signed'], WITH_KEY),
      runHere(['requests', 'list', '--data-dir', dataDir, '--approver', 'bob', '--json'], WITH_KEY),
      runHere(['requests', 'show', requestId, '--data-dir', dataDir, '--json'], WITH_KEY),
      runHere(['requests', 'list', '--data-dir', dataDir, '--state', 'waiting'], WITH_KEY),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^REQUEST +STATE +WALLET +APPROVALS +CREATED +EXPIRES +WHAT$/m);
    expect(list.stdout).toMatch(new RegExp(`^${requestId} +pending-approval +${walletId} +1/2 large +\\S+Z +in (59|60) min +tx chain 1: 2\\.5 ETH to ${recipient}$`, 'm'));
    expect(pendingOnly.stdout).toContain(requestId);
    expect(signedOnly.stdout).toBe('No requests match.\n');
    expect((JSON.parse(forBob.stdout) as RequestView[]).map((request) => request.requestId)).toEqual([requestId]);
    expect(JSON.parse(json.stdout)).toMatchObject({ requestId, walletId, state: 'pending-approval', decisions: [{ approverId: alice.approverId, name: 'alice', verdict: 'approve' }] });
    expect(badState.code).toBe(2);

    const shown = await runHere(['requests', 'show', requestId, '--data-dir', dataDir], WITH_KEY);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^Request ${requestId}: pending-approval$`, 'm'));
    expect(shown.stdout).toMatch(new RegExp(`^ {2}wallet +${walletId} \\(${LOCKED_ADDRESS}\\)$`, 'mi'));
    expect(shown.stdout).toMatch(/^ {2}value +2\.5 ETH \(2500000000000000000 wei\)$/m);
    expect(shown.stdout).toMatch(new RegExp(`^ {2}to +${recipient}$`, 'm'));
    expect(shown.stdout).toMatch(/^ {2}hash check +OK: /m);
    expect(shown.stdout).toContain(`  rule large: 2 of alice (${alice.approverId}), bob (${bob.approverId})`);
    expect(shown.stdout).toMatch(new RegExp(`^ {2}alice +approve at ${new Date(decidedAt).toISOString()}`, 'm'));

    const [unknown, badId] = await Promise.all([
      runHere(['requests', 'show', 'ef'.repeat(16), '--data-dir', dataDir], WITH_KEY),
      runHere(['requests', 'show', 'nope', '--data-dir', dataDir], WITH_KEY),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: No request (ef){16} here/);
    expect(badId.code).toBe(2);
  });

  it('removes an approver by name, audited, and says which rules still name them', async () => {
    const removed = await runHere(['approvers', 'remove', 'bob', '--actor', 'ops', '--data-dir', dataDir], WITH_KEY);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`removed approver bob (${bob.approverId})`);
    expect(removed.stdout).toContain(`Still named in: wallet ${walletId} rule large.`);
    expect(removed.stdout).toContain('1 pending request(s) named them; their decisions there no longer count. 1 of them can no longer reach their quorum and were rejected now.');
    const listed = await runHere(['approvers', 'list', '--data-dir', dataDir, '--json'], WITH_KEY);
    expect((JSON.parse(listed.stdout) as { name: string; status: string }[]).map((a) => [a.name, a.status])).toEqual([
      ['alice', 'active'],
      ['bob', 'removed'],
    ]);
    const store = createStore(dataDir);
    try {
      expect(store.audit.list({ kind: 'revoke' }).at(-1)!.summary).toMatchObject({ approverId: bob.approverId, name: 'bob', actor: 'ops' });
    } finally {
      store.close();
    }
    const [again, unknown] = await Promise.all([
      runHere(['approvers', 'remove', bob.approverId, '--data-dir', dataDir], WITH_KEY),
      runHere(['approvers', 'remove', 'nobody', '--data-dir', dataDir], WITH_KEY),
    ]);
    expect(again.stdout).toContain('was already removed');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: No approver with the id or name "nobody" here/);
  });
});

describe('start --chain-rpc', () => {
  it('maps chain ids to RPC URLs and refuses malformed ones', () => {
    expect(chainRpcUrlsFrom(['1=https://rpc.example.org/key', '31337=http://127.0.0.1:8545'])).toEqual({ 1: 'https://rpc.example.org/key', 31337: 'http://127.0.0.1:8545' });
    expect(chainRpcUrlsFrom(undefined)).toBeUndefined();
    expect(() => chainRpcUrlsFrom(['mainnet=https://x'])).toThrow(/--chain-rpc is <chainId>=<url>/);
    expect(() => chainRpcUrlsFrom(['1=ws://x'])).toThrow(/must be a http:\/\/ or https:\/\/ URL/);
    expect(() => chainRpcUrlsFrom(['1=https://a', '1=https://b'])).toThrow(/names chain 1 twice/);
  });
});
