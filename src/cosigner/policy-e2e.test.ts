/**
 * Policies and audit end to end: an operator sets a policy with the CLI (its own process, its own
 * connection to the database) while the co-signer runs; a device then signs through the embedded
 * broker, and what the co-signer refuses reaches the device as a typed error and the audit log.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoverTransactionAddress, type TransactionSerializable } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { TandemDevice } from '../client/tandem-device.js';
import type { AuditEntry } from './audit/types.js';
import { startCosigner, type RunningCosigner } from './service.js';
import { hexToBytes } from '../mpc/bytes.js';
import { databasePath, masterKeyFromBytes, openSqliteStore } from './store/index.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const REPO = resolve(dirname(CLI), '../..');
const MASTER_KEY_HEX = '11'.repeat(32);
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let dir: string;
let dataDir: string;
let cosigner: RunningCosigner;
let device: TandemDevice;
let nonce = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-policy-e2e-'));
  dataDir = join(dir, 'cosigner');
  cosigner = await startCosigner({ dataDir, port: 0, env: { TANDEM_MASTER_KEY: MASTER_KEY_HEX }, log: () => undefined });
  device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'device.json'), kind: '2of2' });
  await device.createKey();
});

afterAll(async () => {
  await device?.close();
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The operator's CLI, as a separate process on the running co-signer's data directory. */
function cli(args: string[], options: { masterKey?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TANDEM_')));
  const env = { ...inherited, ...(options.masterKey ? { TANDEM_MASTER_KEY: MASTER_KEY_HEX } : {}) };
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--data-dir', dataDir], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

function transaction(chainId: number, value: bigint): TransactionSerializable {
  return { type: 'eip1559', chainId, to: RECIPIENT, value, nonce: nonce++, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n };
}

async function signedBy(tx: TransactionSerializable): Promise<string> {
  return recoverTransactionAddress({ serializedTransaction: (await device.signTransaction(tx)) as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] });
}

async function refusal(tx: TransactionSerializable): Promise<CosignerRefusedError> {
  const error = await device.signTransaction(tx).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CosignerRefusedError);
  return error as CosignerRefusedError;
}

async function auditRows(...filters: string[]): Promise<AuditEntry[]> {
  const listed = await cli(['audit', 'list', '--wallet', device.walletId, '--json', ...filters]);
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout) as AuditEntry[];
}

describe('a policy set through the CLI on a running co-signer', () => {
  it('allows what it allows, refuses the rest with the rule and reason, and the audit log shows both', async () => {
    const set = await cli(['policy', 'set', device.walletId, '--max-value-per-tx-wei', '1000', '--allow-chain', '31337'], { masterKey: true });
    expect(set.code, set.stderr).toBe(0);
    // The running co-signer reads the policy the other process stored.
    expect(await cosigner.store.getPolicy(device.walletId)).toEqual({ maxValuePerTxWei: '1000', allowedChainIds: [31337] });

    expect(await signedBy(transaction(31337, 1000n))).toBe(device.address);

    const overLimit = await refusal(transaction(31337, 1001n));
    expect(overLimit.code).toBe('POLICY');
    expect(overLimit.rule).toBe('per-tx-limit');
    expect(overLimit.shortMessage).toMatch(/1001/);

    const otherChain = await refusal(transaction(1, 1n));
    expect(otherChain.code).toBe('POLICY');
    expect(otherChain.rule).toBe('chain');
    expect(otherChain.shortMessage.length).toBeGreaterThan(0);

    // A refusal leaves the wallet usable: the next allowed transaction signs.
    expect(await signedBy(transaction(31337, 999n))).toBe(device.address);

    const rows = await auditRows();
    const kinds = rows.map((row) => row.kind);
    expect(kinds.slice(0, 3)).toEqual(['enroll', 'keygen', 'policy']);
    const policyRow = rows.find((row) => row.kind === 'policy')!;
    expect(policyRow.summary).toMatchObject({ actor: 'cli', policy: { maxValuePerTxWei: '1000', allowedChainIds: [31337] } });

    const refused = rows.filter((row) => row.kind === 'refuse');
    expect(refused.map((row) => row.summary.rule)).toEqual(['per-tx-limit', 'chain']);
    expect(refused[0]!.summary).toMatchObject({ kind: 'transaction', chainId: 31337, valueWei: '1001', to: RECIPIENT.toLowerCase(), reason: overLimit.shortMessage });
    expect(refused[1]!.summary).toMatchObject({ chainId: 1, reason: otherChain.shortMessage });

    const signed = rows.filter((row) => row.kind === 'sign');
    expect(signed.map((row) => row.summary.valueWei)).toEqual(['1000', '999']);
    expect(signed.every((row) => row.summary.chainId === 31337 && typeof row.summary.digest === 'string')).toBe(true);

    // The audit tools run without the master key, next to the live co-signer.
    const onlyRefusals = await auditRows('--kind', 'refuse');
    expect(onlyRefusals.map((row) => row.seq)).toEqual(refused.map((row) => row.seq));
    const verified = await cli(['audit', 'verify']);
    expect(verified.code, verified.stderr).toBe(0);
    const head = (await cosigner.store.audit.head())!;
    expect(verified.stdout).toBe(`audit chain OK: ${head.seq} rows, head ${head.hash} (seq ${head.seq})\n`);
  });

  it('enforces a daily limit over the signatures already made on that chain', async () => {
    // A chain with no spend yet, so earlier tests' signatures do not count towards this limit.
    const set = await cli(['policy', 'set', device.walletId, '--clear', '--daily-limit-wei', '2500'], { masterKey: true });
    expect(set.code, set.stderr).toBe(0);
    expect(await cosigner.store.getPolicy(device.walletId)).toEqual({ dailyLimitWei: '2500' });

    expect(await signedBy(transaction(8453, 1000n))).toBe(device.address);
    expect(await signedBy(transaction(8453, 1000n))).toBe(device.address);
    const third = await refusal(transaction(8453, 1000n));
    expect(third.code).toBe('POLICY');
    expect(third.rule).toBe('daily-limit');
    // The limit is per chain: the same value on another chain is still within its own allowance.
    expect(await signedBy(transaction(10, 1000n))).toBe(device.address);

    const [lastRefusal] = await auditRows('--kind', 'refuse', '--limit', '1');
    expect(lastRefusal!.summary).toMatchObject({ rule: 'daily-limit', chainId: 8453, valueWei: '1000', reason: third.shortMessage });
    const verified = await cli(['audit', 'verify']);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('counts a transaction signed a second time once against the daily limit (as when an instance died with its answer in flight and the device retried)', async () => {
    const set = await cli(['policy', 'set', device.walletId, '--clear', '--daily-limit-wei', '2000'], { masterKey: true });
    expect(set.code, set.stderr).toBe(0);
    const first = transaction(137, 1500n);
    expect(await signedBy(first)).toBe(device.address);
    // The same transaction again: 1500 + 1500 would pass the limit, but it moves nothing the first did not.
    expect(await signedBy(first)).toBe(device.address);
    expect(await cosigner.store.spentSince(device.walletId, 137, 0)).toBe(1500n);
    const over = await refusal(transaction(137, 600n));
    expect(over.rule).toBe('daily-limit');
    expect(await signedBy(transaction(137, 500n))).toBe(device.address);

    const signed = (await auditRows('--kind', 'sign')).filter((row) => row.summary.chainId === 137);
    expect(signed.map((row) => [row.summary.valueWei, row.summary.spentBefore ?? false])).toEqual([['1500', false], ['1500', true], ['500', false]]);
  });

  it('refuses when the spend is recorded if another co-signer process sharing the database went over the daily limit meanwhile', async () => {
    const set = await cli(['policy', 'set', device.walletId, '--clear', '--daily-limit-wei', '2500'], { masterKey: true });
    expect(set.code, set.stderr).toBe(0);
    // A second connection to the same database file stands for another co-signer process; it records its
    // own signing's spend after this process's policy check passed and before this process records its spend.
    const other = openSqliteStore({ path: databasePath(dataDir), masterKey: masterKeyFromBytes(hexToBytes(MASTER_KEY_HEX), 'env') });
    const store = cosigner.store;
    const original = store.recordSignature.bind(store);
    let raced = false;
    store.recordSignature = async (walletId, signing) => {
      if (!raced) {
        raced = true;
        await other.recordSignature(walletId, { summary: { kind: 'transaction', chainId: 42161, valueWei: '2000' }, spend: { chainId: 42161, valueWei: 2000n } });
      }
      return original(walletId, signing);
    };
    try {
      const refused = await refusal(transaction(42161, 1000n));
      expect(refused.code).toBe('POLICY');
      expect(refused.rule).toBe('daily-limit');
      expect(raced).toBe(true);
      // Nothing of the refused signing was spent: 2000 + 500 is still within 2500.
      expect(await signedBy(transaction(42161, 500n))).toBe(device.address);
      const over = await refusal(transaction(42161, 1n));
      expect(over.rule).toBe('daily-limit');
    } finally {
      store.recordSignature = original;
      other.close();
    }
    const refusals = await auditRows('--kind', 'refuse', '--limit', '2');
    expect(refusals.map((row) => row.summary)).toEqual([
      expect.objectContaining({ rule: 'daily-limit', chainId: 42161, valueWei: '1000', reason: expect.stringMatching(/limit/i) }),
      expect.objectContaining({ rule: 'daily-limit', chainId: 42161, valueWei: '1' }),
    ]);
    const signed = (await auditRows('--kind', 'sign')).filter((row) => row.summary.chainId === 42161);
    expect(signed.map((row) => row.summary.valueWei)).toEqual(['2000', '500']);
    const verified = await cli(['audit', 'verify']);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('refuses by policy a request whose pooled presignature the co-signer no longer holds (as after its restart)', async () => {
    const set = await cli(['policy', 'set', device.walletId, '--clear', '--max-value-per-tx-wei', '1000'], { masterKey: true });
    expect(set.code, set.stderr).toBe(0);
    await device.presign(1);
    expect(device.presignatureCount).toBe(1);
    // What a co-signer restart does: every ready presignature it held is dropped.
    expect(await cosigner.store.deleteAllPresignatures(device.walletId)).toBe(1);

    const refused = await refusal(transaction(31337, 5000n));
    expect(refused.code).toBe('POLICY');
    expect(refused.rule).toBe('per-tx-limit');
    expect(device.presignatureCount).toBe(0);
    // The wallet goes on: an allowed transaction signs with the full protocol.
    expect(await signedBy(transaction(31337, 1n))).toBe(device.address);
  });
});
