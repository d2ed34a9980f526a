/**
 * The client CLI end to end: every command runs as a real child process against a co-signer
 * started here (embedded broker over WSS), and a transaction it sends is mined by a hardhat node.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPublicClient,
  createWalletClient,
  http,
  parseEther,
  parseGwei,
  parseTransaction,
  recoverMessageAddress,
  recoverTransactionAddress,
  recoverTypedDataAddress,
  type Hex,
  type TransactionSerialized,
} from 'viem';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAddress } from 'viem/accounts';
import { startCosigner, type RunningCosigner } from '../cosigner/service.js';
import { HARDHAT_CHAIN_ID, HARDHAT_MNEMONIC, startHardhatNode, type HardhatNode } from './testing/hardhat-node.js';
import { runCli, type CliRun } from './testing/run-cli.js';
import { mailTypedData } from './testing/mail-typed-data.js';

type Kind = '2of2' | '2of3';

interface Wallet {
  kind: Kind;
  file: string;
  backupFile: string | undefined;
  address: `0x${string}`;
  create: CliRun;
}

const MAIL = mailTypedData({ chainId: 1, contents: 'Hello, Bob!' });

/** The CLI's result lines (stdout), failing with its stderr when it did not exit 0. */
function succeeded(run: CliRun): string[] {
  expect(run.timedOut, 'the CLI did not exit by itself').toBe(false);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

describe('tandem-client CLI', () => {
  let dir: string;
  let cosigner: RunningCosigner;
  let caFile: string;
  let hardhat: Promise<HardhatNode>;
  const wallets = new Map<Kind, Wallet>();
  const signedTransactions = new Map<Kind, TransactionSerialized>();

  const walletOf = (kind: Kind): Wallet => {
    const wallet = wallets.get(kind);
    if (!wallet) throw new Error(`the ${kind} wallet was not created`);
    return wallet;
  };
  /** Runs `work` for both wallets at once: each CLI run is mostly process start-up, and there are two cores. */
  const forEachWallet = (work: (wallet: Wallet) => Promise<void>) => Promise.all((['2of2', '2of3'] as const).map((kind) => work(walletOf(kind))));

  async function createWallet(kind: Kind): Promise<void> {
    const file = join(dir, `${kind}.wallet.json`);
    const backupFile = kind === '2of3' ? join(dir, 'offline', 'backup.json') : undefined;
    const create = await runCli([
      'create',
      '--cosigner',
      cosigner.url,
      '--ca',
      caFile,
      '--wallet',
      file,
      '--kind',
      kind,
      ...(backupFile ? ['--backup-out', backupFile] : []),
    ]);
    const address = (create.code === 0 ? create.stdout.trim() : '0x') as `0x${string}`;
    wallets.set(kind, { kind, file, backupFile, address, create });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
    // Started now, awaited by the chain tests: its start-up overlaps keygen.
    hardhat = startHardhatNode();
    hardhat.catch(() => undefined);
    cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '11'.repeat(32) }, log: () => undefined });
    caFile = join(dir, 'cosigner.pem');
    writeFileSync(caFile, cosigner.certPem);
    await Promise.all([createWallet('2of2'), createWallet('2of3')]);
  });

  afterAll(async () => {
    await hardhat?.then((node) => node.stop(), () => undefined);
    await cosigner?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('create', () => {
    it.each(['2of2', '2of3'] as const)('creates a %s wallet, prints its address and the address command agrees', async (kind) => {
      const wallet = walletOf(kind);
      const [printed] = succeeded(wallet.create);
      expect(printed).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect((statSync(wallet.file).mode & 0o777).toString(8)).toBe('600');
      const walletFile = JSON.parse(readFileSync(wallet.file, 'utf8')) as { address: string; parties: number[] };
      expect(walletFile.address).toBe(printed);
      expect(walletFile.parties).toHaveLength(kind === '2of3' ? 3 : 2);
      expect(succeeded(await runCli(['address', '--wallet', wallet.file]))).toEqual([printed]);
    });

    it('writes the 2-of-3 backup share to --backup-out only: 0600, and not in the wallet file', () => {
      const wallet = walletOf('2of3');
      succeeded(wallet.create);
      const backupFile = wallet.backupFile!;
      expect((statSync(backupFile).mode & 0o777).toString(8)).toBe('600');
      const backup = JSON.parse(readFileSync(backupFile, 'utf8')) as { format: string; address: string; share: string };
      expect(backup.format).toBe('tandem-backup-share');
      expect(backup.address).toBe(wallet.address);
      const share = JSON.parse(backup.share) as { partyId: number };
      expect(share.partyId).toBe(3);
      const walletText = readFileSync(wallet.file, 'utf8');
      expect(walletText).not.toContain(backup.share);
      expect(walletText).not.toContain(JSON.stringify(backup.share));
      expect(wallet.create.stderr).toMatch(/BACKUP SHARE written to .*backup\.json/);
      expect(wallet.create.stderr).toMatch(/OFFLINE/);
    });
  });

  describe('signing', () => {
    it('sign-message: text and raw bytes recover to the wallet address', async () => {
      const raw = '0xdeadbeef00ff' as const;
      const rawWallet = walletOf('2of2');
      await Promise.all([
        forEachWallet(async (wallet) => {
          const [signature] = succeeded(await runCli(['sign-message', '--wallet', wallet.file, 'Hello from the Tandem CLI']));
          expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
          expect(await recoverMessageAddress({ message: 'Hello from the Tandem CLI', signature: signature as Hex })).toBe(wallet.address);
        }),
        (async () => {
          const [signature] = succeeded(await runCli(['sign-message', '--wallet', rawWallet.file, '--hex', raw]));
          expect(await recoverMessageAddress({ message: { raw }, signature: signature as Hex })).toBe(rawWallet.address);
        })(),
      ]);
    });

    it('sign-typed-data: an EIP-712 Mail, from a file and from stdin, recovers to the wallet address', async () => {
      const mailFile = join(dir, 'mail.json');
      writeFileSync(mailFile, JSON.stringify(MAIL));
      await forEachWallet(async (wallet) => {
        const run =
          wallet.kind === '2of2'
            ? await runCli(['sign-typed-data', '--wallet', wallet.file, mailFile])
            : await runCli(['sign-typed-data', '--wallet', wallet.file, '-'], { stdin: JSON.stringify(MAIL) });
        const [signature] = succeeded(run);
        expect(await recoverTypedDataAddress({ ...MAIL, signature: signature as Hex })).toBe(wallet.address);
      });
    });

    it('sign-transaction: the serialized transaction carries the flags and recovers to the wallet address', async () => {
      const to = privateKeyToAddress(generatePrivateKey());
      await forEachWallet(async (wallet) => {
        const run = await runCli([
          'sign-transaction',
          '--wallet',
          wallet.file,
          '--chain-id',
          String(HARDHAT_CHAIN_ID),
          '--to',
          to,
          '--value-eth',
          '0.01',
          '--nonce',
          '0',
          '--gas',
          '21000',
          '--max-fee-per-gas',
          String(parseGwei('20')),
          '--max-priority-fee-per-gas',
          String(parseGwei('1')),
        ]);
        const [serialized] = succeeded(run) as [TransactionSerialized];
        expect(await recoverTransactionAddress({ serializedTransaction: serialized })).toBe(wallet.address);
        const parsed = parseTransaction(serialized);
        expect(parsed).toMatchObject({ type: 'eip1559', chainId: HARDHAT_CHAIN_ID, to: to.toLowerCase(), value: parseEther('0.01'), nonce: 0, gas: 21000n });
        signedTransactions.set(wallet.kind, serialized);
      });
    });

    it('presign fills the pool; concurrent runs on one wallet take distinct presignatures', async () => {
      const wallet = walletOf('2of3');
      expect(succeeded(await runCli(['presign', '--wallet', wallet.file, '--count', '2']))).toEqual(['2 presignatures in the pool']);
      const messages = ['pooled one', 'pooled two'];
      const runs = await Promise.all(messages.map((message) => runCli(['sign-message', '--wallet', wallet.file, message])));
      for (const [index, run] of runs.entries()) {
        const [signature] = succeeded(run);
        expect(await recoverMessageAddress({ message: messages[index]!, signature: signature as Hex })).toBe(wallet.address);
      }
      const pool = (JSON.parse(readFileSync(wallet.file, 'utf8')) as { presignatures: unknown[] }).presignatures;
      expect(pool).toHaveLength(0);
      expect(existsSync(`${wallet.file}.lock`)).toBe(false);
    });
  });

  describe('on a hardhat node', () => {
    const funder = mnemonicToAccount(HARDHAT_MNEMONIC);

    async function fund(node: HardhatNode, address: `0x${string}`, value: bigint): Promise<void> {
      const client = createWalletClient({ account: funder, transport: http(node.url) });
      const chain = createPublicClient({ transport: http(node.url), pollingInterval: 200 });
      const hash = await client.sendTransaction({ chain: null, to: address, value });
      expect((await chain.waitForTransactionReceipt({ hash })).status).toBe('success');
    }

    it('send: the transaction is mined, succeeds and the recipient receives the value', async () => {
      const node = await hardhat;
      const chain = createPublicClient({ transport: http(node.url) });
      const wallet = walletOf('2of2');
      await fund(node, wallet.address, parseEther('2'));
      const recipient = privateKeyToAddress(generatePrivateKey());
      const before = await chain.getBalance({ address: recipient });

      const [hash, mined] = succeeded(await runCli(['send', '--wallet', wallet.file, '--rpc', node.url, '--to', recipient, '--value-eth', '0.25']));

      expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
      const receipt = await chain.getTransactionReceipt({ hash: hash as Hex });
      expect(receipt.status).toBe('success');
      expect(receipt.from).toBe(wallet.address.toLowerCase());
      expect(mined).toBe(`block ${receipt.blockNumber} status success`);
      expect((await chain.getBalance({ address: recipient })) - before).toBe(parseEther('0.25'));
    });

    it('the output of sign-transaction is accepted and mined (eth_sendRawTransaction)', async () => {
      const node = await hardhat;
      const chain = createPublicClient({ transport: http(node.url), pollingInterval: 200 });
      const wallet = walletOf('2of3');
      const serialized = signedTransactions.get('2of3');
      expect(serialized, 'sign-transaction did not produce a transaction').toBeDefined();
      await fund(node, wallet.address, parseEther('1'));
      const hash = await chain.sendRawTransaction({ serializedTransaction: serialized! });
      const receipt = await chain.waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe('success');
      expect(receipt.from).toBe(wallet.address.toLowerCase());
    });

    it('a policy refusal from the co-signer exits 1 with its code and rule', async () => {
      const node = await hardhat;
      const wallet = walletOf('2of3');
      const { walletId } = JSON.parse(readFileSync(wallet.file, 'utf8')) as { walletId: string };
      await cosigner.store.setPolicy(walletId, { maxValuePerTxWei: String(parseEther('0.01')) });
      try {
        const run = await runCli(['send', '--wallet', wallet.file, '--rpc', node.url, '--to', privateKeyToAddress(generatePrivateKey()), '--value-eth', '0.1']);
        expect(run.timedOut).toBe(false);
        expect(run.code, run.stderr).toBe(1);
        expect(run.stdout).toBe('');
        expect(run.stderr).toMatch(/^error: .+/m);
        expect(run.stderr).toMatch(/^code: POLICY$/m);
        expect(run.stderr).toMatch(/^rule: per-tx-limit$/m);
      } finally {
        await cosigner.store.setPolicy(walletId, {});
      }
    });
  });

  describe.concurrent('errors', () => {
    it('a usage error exits 2 and shows the command help', async () => {
      const wallet = walletOf('2of2');
      const [badAddress, noBackup, unknown] = await Promise.all([
        runCli(['sign-transaction', '--wallet', wallet.file, '--chain-id', '1', '--to', '0x1234', '--nonce', '0', '--gas', '21000', '--max-fee-per-gas', '2', '--max-priority-fee-per-gas', '1']),
        runCli(['create', '--cosigner', cosigner.url, '--wallet', join(dir, 'never.json'), '--kind', '2of3']),
        runCli(['sing-message']),
      ]);
      expect(badAddress.code).toBe(2);
      expect(badAddress.stderr).toMatch(/^error: --to must be a 20-byte 0x address/m);
      expect(badAddress.stderr).toContain('Usage: tandem-client sign-transaction');
      expect(noBackup.code).toBe(2);
      expect(noBackup.stderr).toMatch(/^error: A 2of3 wallet needs --backup-out/m);
      expect(existsSync(join(dir, 'never.json'))).toBe(false);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/^error: Unknown command "sing-message"/m);
      expect(unknown.stderr).toContain('Commands:');
    });

    it('--help prints a command help on stdout and exits 0', async () => {
      const run = await runCli(['send', '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: tandem-client send --wallet <file> --rpc <url>');
    });

    it('a missing wallet file exits 1 with a clear message', async () => {
      const missing = join(dir, 'missing.json');
      const run = await runCli(['sign-message', '--wallet', missing, 'hello']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`error: No wallet file at ${missing}`);
      expect(run.stderr).toMatch(/^code: CLIENT_FILE_MISSING$/m);
    });

    it('a wallet file readable by others is refused: exit 1, told to chmod 600', async () => {
      const exposed = join(dir, 'exposed.json');
      writeFileSync(exposed, readFileSync(walletOf('2of2').file));
      chmodSync(exposed, 0o644);
      const run = await runCli(['address', '--wallet', exposed]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^error: The wallet file .* is readable by others .*chmod 600/m);
      expect(run.stderr).toMatch(/^code: CLIENT_FILE_PERMISSIONS$/m);
    });

    it('create refuses an existing wallet path before enrolling anything', async () => {
      const enrolled = (await cosigner.store.listWallets()).length;
      const run = await runCli(['create', '--cosigner', cosigner.url, '--ca', caFile, '--wallet', walletOf('2of2').file]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^code: CLIENT_FILE_EXISTS$/m);
      expect((await cosigner.store.listWallets()).length).toBe(enrolled);
    });
  });
});
