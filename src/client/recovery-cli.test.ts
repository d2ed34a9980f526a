/**
 * Recovery with the client CLI, end to end as real child processes against a co-signer started
 * here: lose the device and restore from the backup share (old device refused), refresh, revoke a
 * device from the operator's CLI, sign without the co-signer (a transaction mined on hardhat),
 * export the key, and each way a backup share file can be wrong.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, http, parseEther, recoverMessageAddress, type Hex } from 'viem';
import { mnemonicToAccount, privateKeyToAddress } from 'viem/accounts';
import { startCosigner, type RunningCosigner } from '../cosigner/service.js';
import { HARDHAT_CHAIN_ID, HARDHAT_MNEMONIC, startHardhatNode, type HardhatNode } from './testing/hardhat-node.js';
import { runCli, type CliRun } from './testing/run-cli.js';

const MASTER_KEY = '22'.repeat(32);
const RESTORE_DELAY_MS = 2_000;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function succeeded(run: CliRun): string[] {
  expect(run.timedOut, 'the CLI did not exit by itself').toBe(false);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

function failed(run: CliRun, code: string | RegExp): void {
  expect(run.timedOut, 'the CLI did not exit by itself').toBe(false);
  expect(run.code, run.stdout).toBe(1);
  expect(run.stderr).toMatch(typeof code === 'string' ? new RegExp(`code: ${code}`) : code);
}

/** The operator's CLI (npm run cosigner -- ...) against the running co-signer's data directory. */
function runCosignerCli(args: string[], dataDir: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cosigner/cli.ts', ...args, '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      env: { ...process.env, TANDEM_MASTER_KEY: MASTER_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, timedOut: false }));
  });
}

const message = async (wallet: string, text: string) => succeeded(await runCli(['sign-message', '--wallet', wallet, '--', text]))[0] as Hex;

describe('recovery with tandem-client', () => {
  let dir: string;
  let cosigner: RunningCosigner | undefined;
  let dataDir: string;
  let caFile: string;
  let hardhat: Promise<HardhatNode>;
  let address: `0x${string}`;
  let walletId: string;
  const lostWallet = () => join(dir, 'lost.wallet.json');
  const restoredWallet = () => join(dir, 'restored.wallet.json');
  const firstKit = () => join(dir, 'kit-first.json');
  const kit = () => join(dir, 'kit.json');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-recovery-'));
    hardhat = startHardhatNode();
    hardhat.catch(() => undefined);
    dataDir = join(dir, 'cosigner');
    cosigner = await startCosigner({ dataDir, port: 0, env: { TANDEM_MASTER_KEY: MASTER_KEY }, restoreDelayMs: RESTORE_DELAY_MS, log: () => undefined });
    caFile = join(dir, 'cosigner.pem');
    writeFileSync(caFile, cosigner.certPem);
    const create = await runCli(['create', '--cosigner', cosigner.url, '--ca', caFile, '--wallet', lostWallet(), '--kind', '2of3', '--backup-out', kit()]);
    [address] = succeeded(create) as [`0x${string}`];
    copyFileSync(kit(), firstKit());
    walletId = (JSON.parse(readFileSync(kit(), 'utf8')) as { walletId: string }).walletId;
    expect(await recoverMessageAddress({ message: 'before the loss', signature: await message(lostWallet(), 'before the loss') })).toBe(address);
  }, 120_000);

  afterAll(async () => {
    await hardhat?.then((node) => node.stop(), () => undefined);
    await cosigner?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a damaged, truncated or foreign backup file before enrolling anything', async () => {
    const devicesBefore = cosigner!.store.listDevices(walletId).length;
    const truncated = join(dir, 'truncated.json');
    writeFileSync(truncated, readFileSync(kit(), 'utf8').slice(0, 500), { mode: 0o600 });
    const tampered = join(dir, 'tampered.json');
    const text = JSON.parse(readFileSync(kit(), 'utf8')) as Record<string, string>;
    writeFileSync(tampered, JSON.stringify({ ...text, address: '0x000000000000000000000000000000000000dEaD' }), { mode: 0o600 });
    for (const backup of [truncated, tampered]) {
      failed(await runCli(['restore', '--backup', backup, '--cosigner', cosigner!.url, '--ca', caFile, '--wallet', join(dir, 'never.json')]), 'CLIENT_FILE_CORRUPT');
    }
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ ...text, walletId: 'ab'.repeat(16) }), { mode: 0o600 });
    failed(await runCli(['restore', '--backup', foreign, '--cosigner', cosigner!.url, '--ca', caFile, '--wallet', join(dir, 'never2.json')]), /no wallet with this id and address/);
    expect(cosigner!.store.listDevices(walletId)).toHaveLength(devicesBefore);
  });

  it('restores onto a new wallet file after the restore delay: same address, new backup share, old device revoked at once', async () => {
    const started = Date.now();
    const run = await runCli(['restore', '--backup', kit(), '--cosigner', cosigner!.url, '--ca', caFile, '--wallet', restoredWallet()], { timeoutMs: 90_000 });
    expect(succeeded(run)).toEqual([address]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(RESTORE_DELAY_MS);
    expect(run.stderr).toMatch(/Waiting \d+ s/);
    expect(run.stderr).toMatch(/NEW BACKUP SHARE written to .*kit\.json/);
    expect(readFileSync(kit(), 'utf8')).not.toBe(readFileSync(firstKit(), 'utf8'));

    expect(await recoverMessageAddress({ message: 'restored', signature: await message(restoredWallet(), 'restored') })).toBe(address);
    failed(await runCli(['sign-message', '--wallet', lostWallet(), '--', 'from the lost device']), 'CHANNEL_DEVICE_REVOKED');

    const devices = cosigner!.store.listDevices(walletId);
    expect(devices.map((device) => device.status)).toEqual(['revoked', 'active']);
    const [restore] = cosigner!.store.audit.list({ walletId, kind: 'restore' });
    expect(restore).toMatchObject({ summary: { generation: 1, previousGeneration: 0, revokedDevices: [devices[0]!.deviceId] } });
  }, 120_000);

  it('the backup share from before the restore is dead: emergency signing, key export and another restore refuse it', async () => {
    failed(await runCli(['emergency-sign-message', '--wallet', restoredWallet(), '--backup', firstKit(), '--', 'x']), /different refreshes/);
    failed(await runCli(['export-key', '--wallet', restoredWallet(), '--backup', firstKit(), '--confirm', 'export my private key']), 'MPC_SHARE_MISMATCH');
    const run = await runCli(['restore', '--backup', firstKit(), '--cosigner', cosigner!.url, '--ca', caFile, '--wallet', join(dir, 'stale.wallet.json')], { timeoutMs: 90_000 });
    // Refused at enrollment already: the kit proves a share of an older generation, so nothing is enrolled.
    failed(run, /before a later refresh or restore/);
    expect(existsSync(join(dir, 'stale.wallet.json'))).toBe(false);
    expect(cosigner!.store.listDevices(walletId).filter((device) => device.status === 'restoring')).toEqual([]);
    expect(cosigner!.store.getWallet(walletId)?.generation).toBe(1);
    expect(await recoverMessageAddress({ message: 'still fine', signature: await message(restoredWallet(), 'still fine') })).toBe(address);
  }, 120_000);

  it('refresh: a new generation and a new backup share in place; the previous share no longer signs with the new one', async () => {
    copyFileSync(kit(), join(dir, 'kit-before-refresh.json'));
    expect(succeeded(await runCli(['refresh', '--wallet', restoredWallet(), '--backup', kit()]))).toEqual([address]);
    expect(cosigner!.store.getWallet(walletId)?.generation).toBe(2);
    // The share it replaced was kept beside it only until the commit.
    expect(existsSync(`${kit()}.previous`)).toBe(false);
    failed(await runCli(['emergency-sign-message', '--wallet', restoredWallet(), '--backup', join(dir, 'kit-before-refresh.json'), '--', 'x']), /different refreshes/);
    expect(await recoverMessageAddress({ message: 'refreshed', signature: await message(restoredWallet(), 'refreshed') })).toBe(address);
  }, 120_000);

  it('export-key needs the typed confirmation, then prints the private key of the address', async () => {
    const refused = await runCli(['export-key', '--wallet', restoredWallet(), '--backup', kit()]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    const [key] = succeeded(await runCli(['export-key', '--wallet', restoredWallet(), '--backup', kit(), '--confirm', 'export my private key']));
    expect(privateKeyToAddress(key as Hex)).toBe(address);
  });

  it('devices list and revoke from the operator CLI: the revoked device is refused within seconds', async () => {
    const listed = await runCosignerCli(['devices', 'list', walletId, '--json'], dataDir);
    expect(listed.code, listed.stderr).toBe(0);
    const devices = JSON.parse(listed.stdout) as { deviceId: string; status: string }[];
    const active = devices.find((device) => device.status === 'active')!;
    const revoked = await runCosignerCli(['devices', 'revoke', active.deviceId, '--reason', 'test: laptop stolen'], dataDir);
    expect(revoked.code, revoked.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const run = await runCli(['sign-message', '--wallet', restoredWallet(), '--', 'after revocation']);
    failed(run, 'CHANNEL_DEVICE_REVOKED');
    expect(run.stderr).toContain('test: laptop stolen');
    expect(cosigner!.store.audit.list({ walletId, kind: 'revoke' }).at(-1)).toMatchObject({ deviceId: active.deviceId, summary: { actor: 'operator' } });
  }, 60_000);

  it('co-signer gone: device and backup sign a transaction on their own, and hardhat mines it', async () => {
    await cosigner!.stop();
    cosigner = undefined;
    const node = await hardhat;
    const chain = createPublicClient({ transport: http(node.url), pollingInterval: 200 });
    const funder = createWalletClient({ account: mnemonicToAccount(HARDHAT_MNEMONIC), transport: http(node.url) });
    const funding = await funder.sendTransaction({ chain: null, to: address, value: parseEther('1') });
    await chain.waitForTransactionReceipt({ hash: funding });
    const recipient = '0x00000000000000000000000000000000000000cc';
    const fees = await chain.estimateFeesPerGas();
    // The revoked wallet file still holds its share: emergency signing needs no co-signer, so no revocation can stop it.
    const run = await runCli([
      'emergency-sign-transaction', '--wallet', restoredWallet(), '--backup', kit(),
      '--chain-id', String(HARDHAT_CHAIN_ID), '--to', recipient, '--value-eth', '0.5', '--nonce', '0', '--gas', '21000',
      '--max-fee-per-gas', String(fees.maxFeePerGas), '--max-priority-fee-per-gas', String(fees.maxPriorityFeePerGas),
    ]);
    const [serialized] = succeeded(run);
    expect(run.stderr).toMatch(/EMERGENCY MODE/);
    const hash = await chain.sendRawTransaction({ serializedTransaction: serialized as Hex });
    const receipt = await chain.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(receipt.from.toLowerCase()).toBe(address.toLowerCase());
    expect(await chain.getBalance({ address: recipient })).toBe(parseEther('0.5'));
    const signature = succeeded(await runCli(['emergency-sign-message', '--wallet', restoredWallet(), '--backup', kit(), '--', 'no co-signer']))[0] as Hex;
    expect(await recoverMessageAddress({ message: 'no co-signer', signature })).toBe(address);
  }, 90_000);
});
