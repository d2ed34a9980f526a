/**
 * The co-signer on PostgreSQL end to end: a throwaway server (Debian's binaries), the service with
 * `database`, a device enrolling, making its key and signing through the embedded broker; the
 * state lives in the database (a second connection, as another process, sees it), survives a
 * co-signer restart, and the daily limit counts what was spent there.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { recoverMessageAddress, recoverTransactionAddress, type TransactionSerializable } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { TandemDevice } from '../client/tandem-device.js';
import { startCosigner, type RunningCosigner } from './service.js';
import { masterKeyFromBytes, openStore, type CosignerStore } from './store/index.js';
import { createPool } from './store/postgres/pg-sql.js';
import { startPostgresServer, type PostgresServer } from './testing/postgres-server.js';

const MASTER_KEY_HEX = '5a'.repeat(32);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let dir: string;
let server: PostgresServer;
let database: string;
let cosigner: RunningCosigner<CosignerStore>;
let device: TandemDevice;
let nonce = 0;

let port = 0;
// The same port again after a restart: the device knows the co-signer by its URL.
const start = async () => {
  const running = await startCosigner({ dataDir: join(dir, 'cosigner'), database, port, env: { TANDEM_MASTER_KEY: MASTER_KEY_HEX }, log: () => undefined });
  port = Number(new URL(running.url).port);
  return running;
};
const transfer = (value: bigint): TransactionSerializable => ({ type: 'eip1559', chainId: 31337, to: RECIPIENT, value, nonce: nonce++, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-pg-e2e-'));
  server = await startPostgresServer();
  database = await server.createDatabase('cosigner');
  cosigner = await start();
  device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'device.json'), kind: '2of2' });
  await device.createKey();
}, 120_000);

afterAll(async () => {
  await device?.close();
  await cosigner?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the co-signer on PostgreSQL', () => {
  it('signs a message and a transaction whose signatures recover to the wallet, and another connection sees the wallet, the spend and a whole audit chain', async () => {
    const message = 'signed with the co-signer on PostgreSQL';
    expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(device.address);
    const raw = await device.signTransaction(transfer(1234n));
    expect(await recoverTransactionAddress({ serializedTransaction: raw as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] })).toBe(device.address);

    // Another process's view: its own pool on the same database.
    const other = await openStore({ dataDir: join(dir, 'unused'), database, masterKey: masterKeyFromBytes(Buffer.from(MASTER_KEY_HEX, 'hex'), 'env') });
    try {
      expect((await other.getWallet(device.walletId))?.address?.toLowerCase()).toBe(device.address.toLowerCase());
      expect(await other.spentSince(device.walletId, 31337, 0)).toBe(1234n);
      const verification = await other.audit.verify();
      expect(verification.ok).toBe(true);
      expect((await other.audit.list({ walletId: device.walletId })).map((entry) => entry.kind)).toEqual(expect.arrayContaining(['enroll', 'keygen', 'sign']));
    } finally {
      await other.close();
    }
  });

  it('keeps everything across a co-signer restart, and the daily limit counts what the database holds', async () => {
    await cosigner.stop();
    cosigner = await start();
    await cosigner.store.setPolicy(device.walletId, { dailyLimitWei: '2000' });
    const raw = await device.signTransaction(transfer(700n));
    expect(await recoverTransactionAddress({ serializedTransaction: raw as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] })).toBe(device.address);
    // 1234 + 700 spent: 66 left.
    const refused = await device.signTransaction(transfer(67n)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(CosignerRefusedError);
    expect((refused as CosignerRefusedError).code).toBe('POLICY');
    expect(await cosigner.store.spentSince(device.walletId, 31337, 0)).toBe(1934n);
  });

  it("the operator's audit commands read the chain from the database, read-only, with no master key", async () => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TANDEM_')));
    const cli = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, ...args, '--database', database, '--data-dir', join(dir, 'no-such-dir')], { cwd: resolve(dirname(CLI), '../..'), env: inherited });
    const verified = await cli(['audit', 'verify']);
    expect(verified.stdout).toMatch(/^audit chain OK: \d+ rows, head [0-9a-f]{64} \(seq \d+\)/);
    const listed = JSON.parse((await cli(['audit', 'list', '--wallet', device.walletId, '--kind', 'refuse', '--json'])).stdout) as { kind: string; summary: { rule?: string } }[];
    expect(listed.map((row) => [row.kind, row.summary.rule])).toEqual([['refuse', 'daily-limit']]);
    // Their connections are the read-only kind: a write through one is refused by the server.
    const readOnly = createPool(database, { max: 1, readOnly: true });
    try {
      await expect(readOnly.query('CREATE TABLE audit_probe (x int)')).rejects.toThrow(/read-only transaction/);
    } finally {
      await readOnly.end();
    }
  });
});
