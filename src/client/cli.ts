/**
 * tandem-client: the headless device on the command line (`npm run client -- <command>`).
 * What a command produces (an address, a signature, a transaction) goes to stdout, one item per
 * line, so scripts can capture it; everything meant for a person goes to stderr.
 * Exit codes: 0 done, 1 the command failed, 2 the command line is wrong, 3 the wallet's policy
 * holds the request for approvers (its request id on stdout; see `requests show`).
 */
import { createLockFile, lockOwner, lockOwnerIsGone } from './lock-file.js';
import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { inspect, parseArgs, type ParseArgsConfig } from 'node:util';
import type { Hex, SignableMessage, TypedDataDefinition } from 'viem';
import { isAddress, isHex, parseEther } from 'viem/utils';
import { ClientError } from './errors.js';
import type { DeviceOptions, TandemDevice, WalletKind } from './tandem-device.js';
import type { TandemApprover } from './tandem-approver.js';
import type { DecisionVerdict, RequestView } from '../channel/approval-protocol.js';

// The device (src/mpc, src/channel) and viem's clients take most of a second to load: only commands
// that use them pay for it, so --help and command-line mistakes answer at once.
const loadDevice = async () => (await import('./tandem-device.js')).TandemDevice;

type CliErrorCode =
  | 'CLI_USAGE'
  | 'CLI_BAD_INPUT'
  | 'CLI_WALLET_BUSY'
  | 'CLI_TX_REVERTED'
  /** Held for approvers and not waited for (or not final within --wait-timeout): exit 3. */
  | 'CLI_HELD'
  | 'CLI_REQUEST_REJECTED'
  | 'CLI_REQUEST_EXPIRED'
  | 'CLI_REQUEST_FAILED'
  /** The co-signer's result does not verify against this wallet and what it asked to sign. */
  | 'CLI_BAD_RESULT'
  | 'CLI_NOT_CONFIRMED';

/** Exit code of a request held for approvers that is not (yet) signed. */
const EXIT_HELD = 3;

/** Errors of the command line itself; CLI_USAGE exits 2 and shows the command's help. */
class CliError extends Error {
  override name = 'CliError';
  readonly code: CliErrorCode;
  readonly shortMessage: string;
  readonly command: Command | undefined;

  constructor(code: CliErrorCode, shortMessage: string, options: { command?: Command; cause?: unknown } = {}) {
    super(shortMessage, { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.command = options.command;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface Command {
  name: string;
  summary: string;
  help: string;
  options: Options;
  /** How many positional arguments the command takes at most. */
  positionals: number;
  run(args: Arguments): Promise<void>;
}

const WALLET_OPTION = { wallet: { type: 'string' } } as const satisfies Options;
const TIMEOUT_OPTION = { timeout: { type: 'string' } } as const satisfies Options;
const TIMEOUT_HELP = '  --timeout <seconds>      how long one request to the co-signer may take, waiting included (default 60)';
const WAIT_OPTIONS = { wait: { type: 'boolean' }, 'wait-timeout': { type: 'string' } } as const satisfies Options;
const WAIT_HELP = `  --wait                   if the wallet's policy holds the request for approvers, wait for their decision and
                           print the result as if signed at once (default: print the request id and exit ${EXIT_HELD})
  --wait-timeout <seconds> give up waiting after this long (exit ${EXIT_HELD}; the request stays); default: until it expires`;

/** One command's parsed flags, with checks that turn a bad flag into a usage error naming it. */
class Arguments {
  constructor(
    readonly command: Command,
    readonly values: Values,
    readonly positionals: string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') throw this.usage(`--${name} needs a value.`);
    return value;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw this.usage(`--${name} is required.`);
    return value;
  }

  integer(name: string, { min = 0n, max }: { min?: bigint; max?: bigint } = {}): bigint | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw this.usage(`--${name} must be a whole number in decimal, got "${text}".`);
    const value = BigInt(text);
    if (value < min || (max !== undefined && value > max)) throw this.usage(`--${name} must be between ${min} and ${max ?? 'any'}, got ${text}.`);
    return value;
  }

  requiredInteger(name: string, bounds: { min?: bigint; max?: bigint } = {}): bigint {
    const value = this.integer(name, bounds);
    if (value === undefined) throw this.usage(`--${name} is required.`);
    return value;
  }

  /** --value-wei or --value-eth (exactly one when required), as wei. */
  valueWei({ required }: { required: boolean }): bigint | undefined {
    const wei = this.integer('value-wei');
    const eth = this.string('value-eth');
    if (wei !== undefined && eth !== undefined) throw this.usage('Give either --value-wei or --value-eth, not both.');
    if (eth !== undefined) {
      if (!/^\d+(\.\d{1,18})?$/.test(eth)) throw this.usage(`--value-eth must be a decimal amount of ether with at most 18 decimals, got "${eth}".`);
      return parseEther(eth);
    }
    if (wei === undefined && required) throw this.usage('--value-eth (or --value-wei) is required; use 0 to send nothing.');
    return wei;
  }

  address(name: string): `0x${string}` {
    const value = this.required(name);
    if (!isAddress(value)) throw this.usage(`--${name} must be a 20-byte 0x address with a valid checksum (or all lower case), got "${value}".`);
    return value;
  }

  hex(name: string): Hex | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!isHex(value, { strict: true }) || value.length % 2 !== 0) throw this.usage(`--${name} must be 0x followed by whole bytes in hex, got "${value}".`);
    return value;
  }

  /** The message of sign-message: one text argument, or raw bytes with --hex. */
  message(): SignableMessage {
    const raw = this.hex('hex');
    const text = this.positionals[0];
    if ((raw === undefined) === (text === undefined)) throw this.usage('Give the message either as one text argument or with --hex, not both.');
    return raw !== undefined ? { raw } : text!;
  }

  deviceOptions(): DeviceOptions {
    const seconds = this.integer('timeout', { min: 1n, max: 86_400n });
    return seconds === undefined ? {} : { requestTimeoutMs: Number(seconds) * 1000 };
  }

  usage(message: string): CliError {
    return new CliError('CLI_USAGE', message, { command: this.command });
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The wallet file: --wallet, or --file for the commands that also take that spelling. */
function walletPathOf(args: Arguments): string {
  if (args.values['file'] !== undefined && args.values['wallet'] !== undefined) throw args.usage('Give the wallet file with --wallet or --file, not both.');
  return resolve(args.values['file'] !== undefined ? args.required('file') : args.required('wallet'));
}

/** Opens the wallet, runs `work`, and always closes the connection so the process can exit. */
async function withDevice(args: Arguments, work: (device: TandemDevice) => Promise<void>, extra: DeviceOptions = {}): Promise<void> {
  const walletPath = walletPathOf(args);
  await withLockedFile(walletPath, async () => (await loadDevice()).open(walletPath, { ...args.deviceOptions(), ...extra }), work);
}

/** Locks the file (one process per MQTT client id), opens what it holds, runs `work`, and always closes it so the process can exit. */
async function withLockedFile<Opened extends { close(): Promise<void> }>(path: string, open: () => Promise<Opened>, work: (opened: Opened) => Promise<void>): Promise<void> {
  const unlock = await lockWallet(path);
  try {
    const opened = await open();
    try {
      await work(opened);
    } finally {
      await opened.close();
    }
  } finally {
    unlock();
  }
}

const LOCK_WAIT_MS = 30_000;

/**
 * One tandem-client at a time per wallet file: a device identity has one MQTT client id, and a
 * second connection under it would close the first (the broker's takeover rule), so two processes
 * would keep knocking each other off. A lock file (created exclusively, holding the owner's pid)
 * makes the second wait.
 */
async function lockWallet(walletPath: string): Promise<() => void> {
  const lockPath = `${walletPath}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    let created: boolean;
    try {
      created = createLockFile(lockPath);
    } catch (error) {
      throw new CliError('CLI_BAD_INPUT', `Cannot create the lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
    }
    if (created) {
      const release = () => {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        try {
          unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
      // Interrupted mid-protocol is safe (every file update is atomic), but the lock must not outlive us.
      const onSignal = (signal: NodeJS.Signals) => {
        release();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      return release;
    }
    const holder = lockOwner(lockPath);
    if (holder === 'released') continue;
    if (lockOwnerIsGone(lockPath)) {
      throw new CliError('CLI_WALLET_BUSY', `${lockPath} was left by tandem-client pid ${holder ?? '?'}, which is no longer running: delete it and try again.`);
    }
    if (Date.now() > deadline) {
      throw new CliError('CLI_WALLET_BUSY', `Another tandem-client (pid ${holder ?? '?'}) has been using ${walletPath} for ${LOCK_WAIT_MS / 1000} s; try again later.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Updates the co-signer mailed about requests, kept by id (newest wins) for whoever waits on one. */
class RequestUpdates {
  readonly #latest = new Map<string, RequestView>();
  #wake: (() => void)[] = [];

  readonly push = (request: RequestView): void => {
    const known = this.#latest.get(request.requestId);
    if (!known || request.updatedAt >= known.updatedAt) this.#latest.set(request.requestId, request);
    for (const wake of this.#wake.splice(0)) wake();
  };

  latest(requestId: string): RequestView | undefined {
    return this.#latest.get(requestId);
  }

  /** Resolves at the next update, or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolveNext) => {
      const timer = setTimeout(resolveNext, ms);
      this.#wake.push(() => {
        clearTimeout(timer);
        resolveNext();
      });
    });
  }
}

/** The request id of a refusal because the wallet's policy holds the request for approvers (viem wraps ours: searched along the causes). */
function heldRequest(error: unknown): { requestId: string; reason: string } | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 10; current = (current as { cause?: unknown }).cause, depth += 1) {
    const refusal = current as { code?: unknown; rule?: unknown; shortMessage?: unknown };
    if (refusal.code === 'APPROVAL_PENDING' && typeof refusal.rule === 'string') return { requestId: refusal.rule, reason: typeof refusal.shortMessage === 'string' ? refusal.shortMessage : '' };
  }
  return undefined;
}

/** How often a waiting command asks for the request, besides the updates the co-signer mails. */
const WAIT_POLL_MS = 15_000;

/**
 * Runs a signing command. When the wallet's policy holds the request for approvers: prints its
 * id and how to follow it (exit 3), or with --wait waits for the decision and hands a signed
 * request to `finish`, which prints what `sign` would have.
 */
async function signHeldOrNot(args: Arguments, sign: (device: TandemDevice) => Promise<void>, finish: (device: TandemDevice, request: RequestView) => Promise<void>): Promise<void> {
  const waitSeconds = args.integer('wait-timeout', { min: 1n, max: 90n * 86_400n });
  const wait = args.values['wait'] === true;
  if (waitSeconds !== undefined && !wait) throw args.usage('--wait-timeout goes with --wait.');
  const updates = new RequestUpdates();
  const walletArgument = String(args.values['wallet']);
  const follow = (requestId: string) => `npm run client -- requests show ${requestId} --wallet ${walletArgument}`;
  await withDevice(
    args,
    async (device) => {
      try {
        await sign(device);
        return;
      } catch (error) {
        const held = heldRequest(error);
        if (!held) throw error;
        note(`Held for approval: request ${held.requestId}. ${held.reason}`.trim());
        if (!wait) {
          out(held.requestId);
          note(`Its approvers decide; follow it with: ${follow(held.requestId)}`);
          note(`Run this command with --wait to wait for them and print the result. Exit code ${EXIT_HELD}: held, not signed yet.`);
          throw new CliError('CLI_HELD', `Request ${held.requestId} is held for approval.`);
        }
        note(`Waiting for its approvers (--wait). Ctrl-C stops waiting; the request stays: ${follow(held.requestId)}`);
        const request = await waitForOutcome(device, updates, held.requestId, waitSeconds === undefined ? undefined : Date.now() + Number(waitSeconds) * 1000);
        if (!request) {
          out(held.requestId);
          note(`Still pending after ${waitSeconds} s; follow it with: ${follow(held.requestId)}`);
          throw new CliError('CLI_HELD', `Request ${held.requestId} is still held for approval.`);
        }
        note(`Request ${request.requestId} is ${request.state}.`);
        if (request.state === 'failed' && request.result?.error) note(request.result.error);
        await finish(device, request);
      }
    },
    { onRequestUpdate: updates.push },
  );
}

/**
 * Waits until the request is signed (or broadcast) or cannot be any more. Resolves with a request
 * that carries a signature; throws for a rejected, expired or failed one; undefined at the deadline.
 */
async function waitForOutcome(device: TandemDevice, updates: RequestUpdates, requestId: string, deadline: number | undefined): Promise<RequestView | undefined> {
  let offlineNoted = false;
  const ask = async (): Promise<RequestView | undefined> => {
    try {
      return await device.request(requestId);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'CHANNEL_TIMEOUT') throw error;
      if (!offlineNoted) note('The co-signer does not answer right now; still waiting (its result is mailed here when it is back).');
      offlineNoted = true;
      return undefined;
    }
  };
  let request = updates.latest(requestId) ?? (await ask());
  for (;;) {
    const latest = updates.latest(requestId);
    if (latest && (!request || latest.updatedAt >= request.updatedAt)) request = latest;
    if (request) {
      const signed = request.result?.signature !== undefined;
      if (request.state === 'signed' || request.state === 'broadcast' || (request.state === 'failed' && signed)) return request;
      if (request.state === 'rejected' || request.state === 'expired' || request.state === 'failed') {
        const code = request.state === 'rejected' ? 'CLI_REQUEST_REJECTED' : request.state === 'expired' ? 'CLI_REQUEST_EXPIRED' : 'CLI_REQUEST_FAILED';
        throw new CliError(code, `Request ${requestId} was ${request.state}${request.result?.error ? `: ${request.result.error}` : '.'} Nothing was signed.`);
      }
    }
    // Past its expiry the co-signer's sweep marks it expired within a second or so; allow for clocks.
    const until = Math.min(deadline ?? Infinity, request ? request.expiresAt + 60_000 : Infinity);
    const left = until - Date.now();
    if (left <= 0) return undefined;
    await updates.next(Math.min(WAIT_POLL_MS, left));
    if (!updates.latest(requestId) || updates.latest(requestId) === request) request = (await ask()) ?? request;
  }
}

/**
 * The signature of a signed request, checked before it is printed: the request is this wallet's,
 * over the digest of exactly what this command asked to sign, and the signature recovers to the
 * wallet address over that digest.
 */
async function checkedSignature(device: TandemDevice, request: RequestView, payload: import('../mpc/ethereum.js').SignablePayload): Promise<Hex> {
  const { recoverAddress, toHex } = await import('viem');
  const { payloadDigest } = await import('../mpc/ethereum.js');
  const { verifyRequestHashes } = await import('../channel/approval-protocol.js');
  verifyRequestHashes(request);
  if (request.walletId !== device.walletId) throw new CliError('CLI_BAD_RESULT', `Request ${request.requestId} is of wallet ${request.walletId}, not of this one.`);
  if (toHex(payloadDigest(payload)) !== request.digest) throw new CliError('CLI_BAD_RESULT', `Request ${request.requestId} is not over what this command asked to sign (its digest differs).`);
  const signature = request.result?.signature;
  if (!signature) throw new CliError('CLI_BAD_RESULT', `Request ${request.requestId} is ${request.state} but carries no signature.`);
  const signer = await recoverAddress({ hash: request.digest, signature });
  if (signer.toLowerCase() !== device.address.toLowerCase()) throw new CliError('CLI_BAD_RESULT', `The signature of request ${request.requestId} does not recover to this wallet's address.`);
  return signature;
}

/** The signed transaction of a signed request, checked as checkedSignature does (with `payload` when this command built it). */
async function checkedTransaction(device: TandemDevice, request: RequestView, payload?: import('../mpc/ethereum.js').SignablePayload): Promise<Hex> {
  const { recoverTransactionAddress, toHex, parseTransaction } = await import('viem');
  const { verifyRequestHashes } = await import('../channel/approval-protocol.js');
  const { payloadDigest } = await import('../mpc/ethereum.js');
  if (payload) await checkedSignature(device, request, payload);
  else verifyRequestHashes(request);
  const raw = request.result?.rawTransaction;
  if (!raw) throw new CliError('CLI_BAD_RESULT', `Request ${request.requestId} is ${request.state} but carries no signed transaction.`);
  if (request.walletId !== device.walletId) throw new CliError('CLI_BAD_RESULT', `Request ${request.requestId} is of wallet ${request.walletId}, not of this one.`);
  const signer = await recoverTransactionAddress({ serializedTransaction: raw as `0x02${string}` });
  if (signer.toLowerCase() !== device.address.toLowerCase()) throw new CliError('CLI_BAD_RESULT', `The signed transaction of request ${request.requestId} is not from this wallet.`);
  // Its unsigned part is the payload the request was held (and approved) for.
  const { r: _r, s: _s, v: _v, yParity: _y, ...unsigned } = parseTransaction(raw);
  if (toHex(payloadDigest({ kind: 'transaction', transaction: unsigned })) !== request.digest) {
    throw new CliError('CLI_BAD_RESULT', `The signed transaction of request ${request.requestId} is not the transaction it was approved for.`);
  }
  return raw;
}

const create: Command = {
  name: 'create',
  summary: 'enroll with a co-signer and create a 2-of-2 or 2-of-3 wallet',
  help: `Usage: tandem-client create --cosigner <https url> --wallet <file> [--kind 2of2|2of3] [--backup-out <file>]
                            [--ca <pem file>] [--enrollment-code <code>] [--timeout <seconds>]

Enrolls this machine as a device with the co-signer, runs keygen with it and prints the wallet address.
The wallet file (created 0600, must not exist) holds the device share: keep it private.

  --cosigner <url>         https://host:port of the co-signer
  --ca <pem file>          certificate to trust for the co-signer (its self-signed one on a local stack)
  --wallet <file>          where to write the wallet
  --kind 2of2|2of3         2of2: device + co-signer (default). 2of3: also an offline backup share
  --backup-out <file>      2of3 only, required there: where to write the backup share (0600, must not exist)
  --enrollment-code <code> if the co-signer asks for one
${TIMEOUT_HELP}`,
  options: {
    ...WALLET_OPTION,
    ...TIMEOUT_OPTION,
    cosigner: { type: 'string' },
    ca: { type: 'string' },
    kind: { type: 'string' },
    'backup-out': { type: 'string' },
    'enrollment-code': { type: 'string' },
  },
  positionals: 0,
  async run(args) {
    const cosignerUrl = args.required('cosigner');
    if (!/^https:\/\/[^/]+/.test(cosignerUrl)) throw args.usage(`--cosigner must be an https:// URL, got "${cosignerUrl}".`);
    const walletPath = resolve(args.required('wallet'));
    const kind = (args.string('kind') ?? '2of2') as WalletKind;
    if (kind !== '2of2' && kind !== '2of3') throw args.usage(`--kind is 2of2 or 2of3, got "${kind}".`);
    const backupOut = args.string('backup-out');
    if (kind === '2of3' && !backupOut) throw args.usage('A 2of3 wallet needs --backup-out <file> for its backup share.');
    if (kind === '2of2' && backupOut) throw args.usage('--backup-out is only for --kind 2of3: a 2of2 wallet has no backup share.');
    const caFile = args.string('ca');
    const caPem = caFile === undefined ? undefined : readCertificate(caFile);
    const enrollmentCode = args.string('enrollment-code');
    mkdirSync(dirname(walletPath), { recursive: true, mode: 0o700 });
    const unlock = await lockWallet(walletPath);
    let backup: SecretFile | undefined;
    let device: TandemDevice | undefined;
    try {
      // Checked here too (enroll checks it as well) so a taken path does not cost an enrollment on the co-signer.
      if (existsSync(walletPath)) throw new ClientError('CLIENT_FILE_EXISTS', `A wallet file already exists at ${walletPath}; choose another path.`);
      // Reserved before keygen: a backup share that cannot be written after keygen would be lost.
      backup = backupOut === undefined ? undefined : reserveSecretFile(resolve(backupOut));
      device = await (await loadDevice()).enroll(
        { cosignerUrl, file: walletPath, kind, ...(caPem ? { caPem } : {}), ...(enrollmentCode ? { enrollmentCode } : {}) },
        args.deviceOptions(),
      );
      const enrolled = device;
      const { address, backupShare } = await enrolled.createKey().catch((error: unknown) => {
        note(`The wallet file ${walletPath} is enrolled but has no key: delete it before running create again.`);
        throw error;
      });
      if (backup) {
        if (!backupShare) throw new ClientError('CLIENT_ENROLL_FAILED', 'Keygen returned no backup share for a 2of3 wallet.');
        backup.write((await import('./backup-file.js')).backupFileText(enrolled.walletId, address, backupShare));
      }
      out(address);
      note(`Created a ${kind === '2of3' ? '2-of-3' : '2-of-2'} wallet ${address}`);
      note(`  wallet id ${enrolled.walletId}, device id ${enrolled.deviceId}`);
      note(`  wallet file ${walletPath} (0600): holds this device's share; keep it private.`);
      if (backup) {
        note('');
        note('!!! BACKUP SHARE written to ' + backup.path);
        note('!!! Move it OFFLINE now (encrypted USB stick, paper, a safe) and delete it from this machine.');
        note('!!! With the co-signer it recovers this wallet if the wallet file is lost;');
        note('!!! with the wallet file it signs WITHOUT the co-signer. It is never stored anywhere else.');
      }
    } catch (error) {
      backup?.discard();
      throw error;
    } finally {
      await device?.close();
      unlock();
    }
  },
};

const address: Command = {
  name: 'address',
  summary: "print the wallet's address",
  help: `Usage: tandem-client address --wallet <file>`,
  options: { ...WALLET_OPTION },
  positionals: 0,
  async run(args) {
    const device = (await loadDevice()).open(resolve(args.required('wallet')));
    try {
      out(device.address);
    } finally {
      await device.close();
    }
  },
};

const presign: Command = {
  name: 'presign',
  summary: 'prepare presignatures, so later signatures need one round trip',
  help: `Usage: tandem-client presign --wallet <file> [--count N] [--timeout <seconds>]

Adds N presignatures (default 1) to the wallet's pool and prints how many the pool holds.

${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, count: { type: 'string' } },
  positionals: 0,
  async run(args) {
    const count = Number(args.integer('count', { min: 1n, max: 1000n }) ?? 1n);
    await withDevice(args, async (device) => {
      await device.presign(count);
      out(`${device.presignatureCount} presignatures in the pool`);
    });
  },
};

const signMessage: Command = {
  name: 'sign-message',
  summary: 'sign an EIP-191 personal message',
  help: `Usage: tandem-client sign-message --wallet <file> <text>
       tandem-client sign-message --wallet <file> --hex 0x<bytes>

Signs the text (UTF-8) or the raw bytes as an EIP-191 personal message and prints the
65-byte signature (r || s || v, v = 27 or 28). Put -- before a text that starts with a dash.

${WAIT_HELP}
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, ...WAIT_OPTIONS, hex: { type: 'string' } },
  positionals: 1,
  async run(args) {
    const message = args.message();
    await signHeldOrNot(
      args,
      async (device) => out(await device.signMessage(message)),
      async (device, request) => out(await checkedSignature(device, request, { kind: 'message', message })),
    );
  },
};

const signTypedData: Command = {
  name: 'sign-typed-data',
  summary: 'sign EIP-712 typed data from a JSON file or stdin',
  help: `Usage: tandem-client sign-typed-data --wallet <file> <json file | ->

Reads {"domain", "types", "primaryType", "message"} (the eth_signTypedData_v4 form; an
EIP712Domain entry in types is allowed) from the file, or from stdin for -, and prints the signature.
Integers may be JSON numbers or decimal strings.

${WAIT_HELP}
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, ...WAIT_OPTIONS },
  positionals: 1,
  async run(args) {
    const source = args.positionals[0];
    if (source === undefined) throw args.usage('Name the JSON file with the typed data, or - for stdin.');
    const typedData = parseTypedData(source === '-' ? await readStdin() : readInput(source), source);
    await signHeldOrNot(
      args,
      async (device) => out(await device.signTypedData(typedData)),
      async (device, request) => out(await checkedSignature(device, request, { kind: 'typedData', typedData })),
    );
  },
};

const TRANSACTION_OPTIONS = {
  'chain-id': { type: 'string' },
  to: { type: 'string' },
  'value-wei': { type: 'string' },
  'value-eth': { type: 'string' },
  data: { type: 'string' },
  nonce: { type: 'string' },
  gas: { type: 'string' },
  'max-fee-per-gas': { type: 'string' },
  'max-priority-fee-per-gas': { type: 'string' },
} as const satisfies Options;

/** The EIP-1559 transaction spelled out by TRANSACTION_OPTIONS. */
function transactionFromArgs(args: Arguments) {
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  const data = args.hex('data');
  const transaction = {
    type: 'eip1559' as const,
    chainId: Number(args.requiredInteger('chain-id', { min: 1n, max: safe })),
    to: args.address('to'),
    value: args.valueWei({ required: false }) ?? 0n,
    ...(data ? { data } : {}),
    nonce: Number(args.requiredInteger('nonce', { max: safe })),
    gas: args.requiredInteger('gas', { min: 21_000n }),
    maxFeePerGas: args.requiredInteger('max-fee-per-gas'),
    maxPriorityFeePerGas: args.requiredInteger('max-priority-fee-per-gas'),
  };
  if (transaction.maxPriorityFeePerGas > transaction.maxFeePerGas) throw args.usage('--max-priority-fee-per-gas cannot exceed --max-fee-per-gas.');
  return transaction;
}

const signTransaction: Command = {
  name: 'sign-transaction',
  summary: 'sign an EIP-1559 transaction without sending it',
  help: `Usage: tandem-client sign-transaction --wallet <file> --chain-id N --to 0x<address> [--value-wei N | --value-eth X]
                                      [--data 0x..] --nonce N --gas N --max-fee-per-gas N --max-priority-fee-per-gas N

Signs an EIP-1559 (type 2) transaction and prints it serialized, ready for eth_sendRawTransaction.
Amounts and fees are in wei unless the flag says eth. The value defaults to 0.

${WAIT_HELP}
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, ...WAIT_OPTIONS, ...TRANSACTION_OPTIONS },
  positionals: 0,
  async run(args) {
    const transaction = transactionFromArgs(args);
    await signHeldOrNot(
      args,
      async (device) => out(await device.signTransaction(transaction)),
      async (device, request) => out(await checkedTransaction(device, request, { kind: 'transaction', transaction })),
    );
  },
};

const send: Command = {
  name: 'send',
  summary: 'sign a transaction and send it through an RPC URL',
  help: `Usage: tandem-client send --wallet <file> --rpc <url> --to 0x<address> (--value-eth X | --value-wei N) [--data 0x..]

Fills in chain id, nonce, gas and EIP-1559 fees from the RPC node, signs with the co-signer,
sends, and prints the transaction hash; then waits for the receipt and prints
"block <number> status <success|reverted>". A reverted transaction exits 1.
With --wait, a transaction held for approvers is sent once signed (by the co-signer, when it has
an RPC for the chain, and through --rpc here as well: sending it twice is harmless).

  --rpc <url>              JSON-RPC endpoint (http:// or https://)
  --receipt-timeout <s>    how long to wait for the receipt (default 120)
${WAIT_HELP}
${TIMEOUT_HELP}`,
  options: {
    ...WALLET_OPTION,
    ...TIMEOUT_OPTION,
    ...WAIT_OPTIONS,
    rpc: { type: 'string' },
    to: { type: 'string' },
    'value-wei': { type: 'string' },
    'value-eth': { type: 'string' },
    data: { type: 'string' },
    'receipt-timeout': { type: 'string' },
  },
  positionals: 0,
  async run(args) {
    const rpc = args.required('rpc');
    if (!/^https?:\/\/./.test(rpc)) throw args.usage(`--rpc must be an http:// or https:// URL, got "${rpc}".`);
    const to = args.address('to');
    const value = args.valueWei({ required: true })!;
    const data = args.hex('data');
    const receiptTimeoutMs = Number(args.integer('receipt-timeout', { min: 1n, max: 86_400n }) ?? 120n) * 1000;
    const { createPublicClient, createWalletClient, http } = await import('viem');
    const transport = http(rpc, { timeout: 30_000 });
    const chain = createPublicClient({ transport, pollingInterval: 1_000 });
    const awaitReceipt = async (hash: Hex) => {
      out(hash);
      const receipt = await chain.waitForTransactionReceipt({ hash, timeout: receiptTimeoutMs });
      out(`block ${receipt.blockNumber} status ${receipt.status}`);
      if (receipt.status !== 'success') throw new CliError('CLI_TX_REVERTED', `Transaction ${hash} was mined in block ${receipt.blockNumber} but reverted.`);
    };
    await signHeldOrNot(
      args,
      async (device) => {
        const wallet = createWalletClient({ account: device.account(), transport });
        await awaitReceipt(await wallet.sendTransaction({ chain: null, to, value, ...(data ? { data } : {}) }));
      },
      async (device, request) => {
        const decoded = request.decoded;
        if (decoded.kind !== 'transaction' || decoded.to?.toLowerCase() !== to.toLowerCase() || BigInt(decoded.valueWei) !== value) {
          throw new CliError('CLI_BAD_RESULT', `Request ${request.requestId} is not the transfer asked for here (to ${to}, ${value} wei).`);
        }
        const raw = await checkedTransaction(device, request);
        const hash = await chain.sendRawTransaction({ serializedTransaction: raw }).catch(async (error: unknown) => {
          // Sent already (by the co-signer, or an earlier run): mined or in the node's pool, it is found by hash.
          const { keccak256 } = await import('viem');
          const known = keccak256(raw);
          if (await chain.getTransaction({ hash: known }).then(() => true, () => false)) return known;
          throw error;
        });
        await awaitReceipt(hash);
      },
    );
  },
};

const restore: Command = {
  name: 'restore',
  summary: 'restore a 2-of-3 wallet onto this machine from its backup share and the co-signer',
  help: `Usage: tandem-client restore --backup <file> --cosigner <https url> --wallet <new file> [--backup-out <new backup file>]
                             [--ca <pem file>] [--enrollment-code <code>] [--timeout <seconds>]

For a lost device: enrolls this machine into the wallet of the backup share, waits out the
co-signer's restore delay, and re-shares the key with the co-signer so that this machine, the
co-signer and a NEW backup share hold it. The address stays. Afterwards the old device is revoked
and the old backup share is dead: keep the new one. Prints the address.

  --backup <file>          the backup share file (the recovery kit) written by create or the last restore/refresh
  --wallet <file>          the new wallet file (0600, must not exist, unless resuming an interrupted restore)
  --backup-out <file>      where to write the new backup share (default: replace --backup, atomically)
  --cosigner, --ca, --enrollment-code  as for create
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, backup: { type: 'string' }, cosigner: { type: 'string' }, ca: { type: 'string' }, 'backup-out': { type: 'string' }, 'enrollment-code': { type: 'string' } },
  positionals: 0,
  async run(args) {
    const backupPath = resolve(args.required('backup'));
    const backupOut = resolve(args.string('backup-out') ?? backupPath);
    const walletPath = resolve(args.required('wallet'));
    const cosignerUrl = args.required('cosigner');
    if (!/^https:\/\/[^/]+/.test(cosignerUrl)) throw args.usage(`--cosigner must be an https:// URL, got "${cosignerUrl}".`);
    const caFile = args.string('ca');
    const caPem = caFile === undefined ? undefined : readCertificate(caFile);
    const enrollmentCode = args.string('enrollment-code');
    const { readBackupFile, writeNewBackupFile, dropPreviousBackup, backupFileText } = await import('./backup-file.js');
    const backup = readBackupFile(backupPath);
    mkdirSync(dirname(walletPath), { recursive: true, mode: 0o700 });
    const unlock = await lockWallet(walletPath);
    let device: TandemDevice | undefined;
    try {
      const Device = await loadDevice();
      if (existsSync(walletPath)) {
        device = Device.open(walletPath, args.deviceOptions());
        if (device.restoring?.toLowerCase() !== backup.address.toLowerCase()) {
          throw new ClientError('CLIENT_FILE_EXISTS', `A wallet file already exists at ${walletPath} and is not an interrupted restore of ${backup.address}; choose another path.`);
        }
        note(`Resuming the restore of ${backup.address} with ${walletPath}.`);
      } else {
        device = await Device.enrollForRestore(
          { cosignerUrl, file: walletPath, walletId: backup.walletId, address: backup.address, backupShare: backup.shareText, ...(caPem ? { caPem } : {}), ...(enrollmentCode ? { enrollmentCode } : {}) },
          args.deviceOptions(),
        );
        note(`Enrolled ${walletPath} to restore ${backup.address} (device id ${device.deviceId}).`);
      }
      const restoring = device;
      const saveBackup = async (share: string) => writeNewBackupFile(backupOut, backupFileText(backup.walletId, backup.address, share));
      let approvalNoted = false;
      const { address: restored } = await restoring.restore(backup.shareText, saveBackup, (readyAt, reason, code) => {
        // The approval is asked for every few seconds: say so once, not at every ask.
        if (code === 'RESTORE_NEEDS_APPROVAL') {
          if (!approvalNoted) note(`${reason} Waiting for the approval (up to 24 h); Ctrl-C stops waiting, and running this again resumes.`);
          approvalNoted = true;
          return;
        }
        note(`${reason} Waiting ${Math.ceil((readyAt - Date.now()) / 1000)} s; the operator can still revoke this restore meanwhile.`);
      });
      dropPreviousBackup(backupOut);
      out(restored);
      note(`Restored ${restored} onto ${walletPath}. The old device is revoked; the old backup share no longer works.`);
      note('!!! NEW BACKUP SHARE written to ' + backupOut + ': move it OFFLINE now, as you did the first one.');
    } finally {
      await device?.close();
      unlock();
    }
  },
};

const refresh: Command = {
  name: 'refresh',
  summary: 'refresh the key shares with the co-signer (same address, old shares and presignatures dead)',
  help: `Usage: tandem-client refresh --wallet <file> [--backup <file>] [--backup-out <file>] [--timeout <seconds>]

Re-shares the key between this device, the co-signer and (for a 2-of-3 wallet) the backup share:
the address stays, every old share and presignature stops working. A 2-of-3 wallet needs its
backup share for the duration (a degree-1 re-sharing cannot keep the old backup share valid),
and gets a NEW backup share, written before anything else changes.

  --backup <file>          2-of-3: the current backup share file
  --backup-out <file>      where to write the new backup share (default: replace --backup, atomically)
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, backup: { type: 'string' }, 'backup-out': { type: 'string' } },
  positionals: 0,
  async run(args) {
    const backupPath = args.string('backup');
    const { readBackupFile, writeNewBackupFile, dropPreviousBackup, backupFileText } = await import('./backup-file.js');
    const backup = backupPath === undefined ? undefined : readBackupFile(resolve(backupPath));
    await withDevice(args, async (device) => {
      if (device.isTwoOfThree && !backup) throw args.usage('This is a 2-of-3 wallet: refreshing it needs --backup <file> (the backup share).');
      if (!device.isTwoOfThree && backup) throw args.usage('This 2-of-2 wallet has no backup share: leave out --backup.');
      if (backup && backup.address.toLowerCase() !== device.address.toLowerCase()) throw new ClientError('CLIENT_FILE_CORRUPT', `The backup share is of ${backup.address}, not of this wallet ${device.address}.`);
      // The new backup share is on disk before the co-signer commits the refresh; the old one dies then.
      const backupOut = resolve(args.string('backup-out') ?? backupPath ?? '.');
      const saveBackup = async (share: string) => writeNewBackupFile(backupOut, backupFileText(backup!.walletId, backup!.address, share));
      await device.refresh(backup ? { backupShare: backup.shareText, saveBackup } : {});
      if (backup) dropPreviousBackup(backupOut);
      out(device.address);
      note(`Refreshed ${device.address}: old shares and presignatures no longer work.${backup ? ' Keep the NEW backup share offline.' : ''}`);
    });
  },
};

const newBackup: Command = {
  name: 'new-backup',
  summary: 'make a new backup share with the co-signer: upgrades a 2-of-2 wallet to 2-of-3, or replaces a lost backup',
  help: `Usage: tandem-client new-backup --wallet <file> --backup-out <new backup file> [--timeout <seconds>]

This device and the co-signer re-share the key to this device, the co-signer and a NEW backup
share, written to --backup-out (owner-only, atomically) before anything else changes. The address
stays; a 2-of-2 wallet becomes 2-of-3. Afterwards every older share, backup share and presignature
no longer works. Needs no backup share: use it when the backup is lost, or to add one.

  --backup-out <file>      where to write the new backup share
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, ...TIMEOUT_OPTION, 'backup-out': { type: 'string' } },
  positionals: 0,
  async run(args) {
    const backupOut = resolve(args.required('backup-out'));
    const { writeNewBackupFile, dropPreviousBackup, backupFileText } = await import('./backup-file.js');
    await withDevice(args, async (device) => {
      const wasTwoOfThree = device.isTwoOfThree;
      const { address } = await device.newBackup(async (share) => writeNewBackupFile(backupOut, backupFileText(device.walletId, device.address, share)));
      dropPreviousBackup(backupOut);
      out(address);
      note(`${wasTwoOfThree ? 'Made a new backup share for' : 'Upgraded to 2-of-3:'} ${address}. Older shares, backups and presignatures no longer work.`);
      note('!!! NEW BACKUP SHARE written to ' + backupOut + ': move it OFFLINE now.');
    });
  },
};

/** Device share and backup share, checked to belong together, for signing without the co-signer. */
async function localShares(args: Arguments) {
  const { readBackupFile } = await import('./backup-file.js');
  const backup = readBackupFile(resolve(args.required('backup')));
  const device = (await loadDevice()).open(resolve(args.required('wallet')));
  try {
    return { device: device.deviceShare(), backup: backup.share };
  } finally {
    await device.close();
  }
}

const EMERGENCY_WARNING = '!!! EMERGENCY MODE: signing with the device and backup shares on this machine, WITHOUT the co-signer (no policy, no audit there).';

const emergencySignMessage: Command = {
  name: 'emergency-sign-message',
  summary: 'sign a personal message with the device + backup shares, without the co-signer',
  help: `Usage: tandem-client emergency-sign-message --wallet <file> --backup <file> <text | --hex 0x<bytes>>

For when the co-signer is gone: both shares sign here, offline. Prints the signature as sign-message does.`,
  options: { ...WALLET_OPTION, backup: { type: 'string' }, hex: { type: 'string' } },
  positionals: 1,
  async run(args) {
    const message = args.message();
    const { device, backup } = await localShares(args);
    const { signWithLocalShares } = await import('../mpc/local-shares.js');
    const { toViemSignature } = await import('../mpc/ethereum.js');
    note(EMERGENCY_WARNING);
    const payload = { kind: 'message' as const, message };
    out(toViemSignature(payload, signWithLocalShares(device, backup, payload).signature));
  },
};

const emergencySignTransaction: Command = {
  name: 'emergency-sign-transaction',
  summary: 'sign an EIP-1559 transaction with the device + backup shares, without the co-signer',
  help: `Usage: tandem-client emergency-sign-transaction --wallet <file> --backup <file> --chain-id N --to 0x<address> [--value-wei N | --value-eth X]
                                                [--data 0x..] --nonce N --gas N --max-fee-per-gas N --max-priority-fee-per-gas N

For when the co-signer is gone: both shares sign here, offline. Prints the signed transaction,
ready for eth_sendRawTransaction, as sign-transaction does.`,
  options: { ...WALLET_OPTION, backup: { type: 'string' }, ...TRANSACTION_OPTIONS },
  positionals: 0,
  async run(args) {
    const transaction = transactionFromArgs(args);
    const { device, backup } = await localShares(args);
    const { signWithLocalShares } = await import('../mpc/local-shares.js');
    const { toViemSignature } = await import('../mpc/ethereum.js');
    note(EMERGENCY_WARNING);
    const payload = { kind: 'transaction' as const, transaction };
    out(toViemSignature(payload, signWithLocalShares(device, backup, payload).signature));
  },
};

const EXPORT_CONFIRMATION = 'export my private key';

const exportKey: Command = {
  name: 'export-key',
  summary: 'reconstruct the private key from the device + backup shares, to leave Tandem',
  help: `Usage: tandem-client export-key --wallet <file> --backup <file> --confirm "${EXPORT_CONFIRMATION}"

Combines the two shares into the wallet's ordinary private key and prints it (0x + 64 hex) once.
Anyone who sees it controls the wallet, with no co-signer and no policy: move the funds to a new
wallet or import it somewhere you trust, then destroy it. The co-signer is not contacted.`,
  options: { ...WALLET_OPTION, backup: { type: 'string' }, confirm: { type: 'string' } },
  positionals: 0,
  async run(args) {
    if (args.string('confirm') !== EXPORT_CONFIRMATION) throw args.usage(`Type --confirm "${EXPORT_CONFIRMATION}" to show the private key.`);
    const { device, backup } = await localShares(args);
    const { reconstructPrivateKey } = await import('../mpc/local-shares.js');
    const { bytesToHex } = await import('../mpc/bytes.js');
    const key = reconstructPrivateKey(device, backup);
    out(`0x${bytesToHex(key)}`);
    key.fill(0);
    note('!!! This is the private key of the whole wallet. Move the funds or import it where you trust, then destroy this output.');
  },
};

// ---- approvals: a device's held requests, and the second approver

const REQUEST_ID_PATTERN = /^[0-9a-f]{32}$/;
const LIMIT_OPTION = { limit: { type: 'string' } } as const satisfies Options;
const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies Options;

function requestIdArgument(args: Arguments): string {
  const requestId = args.positionals[0];
  if (requestId === undefined) throw args.usage('Name the request: its id (32 hex characters), as printed by a signing command or by "list".');
  if (!REQUEST_ID_PATTERN.test(requestId)) throw args.usage(`A request id is 32 lowercase hex characters, got "${requestId}".`);
  return requestId;
}

function limitOf(args: Arguments): number | undefined {
  const limit = args.integer('limit', { min: 1n, max: 200n });
  return limit === undefined ? undefined : Number(limit);
}

/** A table of requests, on stdout. `approverId`: mark the ones waiting for this approver. */
async function printRequests(requests: RequestView[], approverId?: string): Promise<void> {
  const { requestSummary, quorumProgress, waitsFor } = await import('./tandem-approver.js');
  const headers = ['REQUEST', 'STATE', ...(approverId ? ['YOU'] : []), 'APPROVALS', 'EXPIRES', 'WHAT'];
  const rows = requests.map((request) => {
    const mine = approverId ? request.decisions.find((decision) => decision.approverId === approverId) : undefined;
    const you = approverId ? [mine ? mine.verdict : waitsFor(request, approverId) ? 'to decide' : '-'] : [];
    return [request.requestId, request.state, ...you, quorumProgress(request), new Date(request.expiresAt).toISOString(), requestSummary(request.decoded)];
  });
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [headers, ...rows]) out(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}

const requestsList: Command = {
  name: 'requests list',
  summary: "this wallet's requests held for approvers, and what became of them",
  help: `Usage: tandem-client requests list --wallet <file> [--limit N] [--json] [--timeout <seconds>]

Asks the co-signer for the requests of this wallet that its policy held for approvers, newest
first: state, approvals so far, expiry and what each signs. --file <file> works as --wallet.

  --limit N                at most N (default 50, at most 200)
  --json                   print {"requests": [...], "pendingForYou": n} as the co-signer sent it
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, file: { type: 'string' }, ...TIMEOUT_OPTION, ...LIMIT_OPTION, ...JSON_OPTION },
  positionals: 0,
  async run(args) {
    const limit = limitOf(args);
    await withDevice(args, async (device) => {
      const listed = await device.requests(limit === undefined ? {} : { limit });
      if (args.values['json']) return out(JSON.stringify(listed, null, 2));
      if (listed.requests.length === 0) return note('No requests of this wallet were held for approval.');
      await printRequests(listed.requests);
      note(`${listed.pendingForYou} pending. Details: npm run client -- requests show <id> --wallet <file>`);
    });
  },
};

const requestsShow: Command = {
  name: 'requests show',
  summary: 'one held request: state, what it signs, quorums, decisions, result (signature, tx hash)',
  help: `Usage: tandem-client requests show <requestId> --wallet <file> [--json] [--timeout <seconds>]

Asks the co-signer for one request of this wallet, checks that its digest and payload hash are
those of its payload, and shows it. --file <file> works as --wallet.

  --json                   print the request as the co-signer sent it
${TIMEOUT_HELP}`,
  options: { ...WALLET_OPTION, file: { type: 'string' }, ...TIMEOUT_OPTION, ...JSON_OPTION },
  positionals: 1,
  async run(args) {
    const requestId = requestIdArgument(args);
    await withDevice(args, async (device) => {
      const request = await device.request(requestId);
      const { describeRequest } = await import('./tandem-approver.js');
      const text = describeRequest(request); // checks the hashes, for --json too
      out(args.values['json'] ? JSON.stringify(request, null, 2) : text);
    });
  },
};

const loadApprover = async () => (await import('./tandem-approver.js')).TandemApprover;

/** Opens the approver file (one process at a time, as for a wallet: one MQTT client id), runs `work`, closes. */
async function withApprover(args: Arguments, work: (approver: TandemApprover) => Promise<void>): Promise<void> {
  const path = resolve(args.required('file'));
  await withLockedFile(path, async () => (await loadApprover()).open(path), work);
}

const FILE_HELP = '  --file <file>            the approver file written by "approver enroll"';

const approverEnroll: Command = {
  name: 'approver enroll',
  summary: 'become a second approver with the one-time code from the operator',
  help: `Usage: tandem-client approver enroll --cosigner <https url> --code <code> --file <approver file> [--ca <pem file>]

Makes a new identity key, enrolls it with the co-signer as the approver the operator invited
("npm run cosigner -- approvers invite <name>"), and writes the approver file: created 0600, it
must not exist, and it holds the identity key that signs your decisions. Keep it private.
Prints the approver id.

  --cosigner <url>         https://host:port of the co-signer
  --code <code>            the one-time enrollment code (used up by this)
  --ca <pem file>          certificate to trust for the co-signer (its self-signed one on a local stack)
${FILE_HELP}`,
  options: { cosigner: { type: 'string' }, code: { type: 'string' }, ca: { type: 'string' }, file: { type: 'string' } },
  positionals: 0,
  async run(args) {
    const cosignerUrl = args.required('cosigner');
    if (!/^https:\/\/[^/]+/.test(cosignerUrl)) throw args.usage(`--cosigner must be an https:// URL, got "${cosignerUrl}".`);
    const typed = args.required('code').trim();
    // The codes are base32: accept them in lower case too.
    const enrollmentCode = /^[a-z2-7]{32}$/i.test(typed) ? typed.toUpperCase() : typed;
    const path = resolve(args.required('file'));
    const caFile = args.string('ca');
    const caPem = caFile === undefined ? undefined : readCertificate(caFile);
    const approver = await (await loadApprover()).enroll({ cosignerUrl, enrollmentCode, file: path, ...(caPem ? { caPem } : {}) });
    try {
      out(approver.approverId);
      note(`Enrolled as approver ${approver.name} (id ${approver.approverId}) with ${cosignerUrl}.`);
      note(`  approver file ${path} (0600): holds your identity key, which signs your decisions; keep it private.`);
      note(`Requests to decide: npm run client -- approver list --file ${path}`);
    } finally {
      await approver.close();
    }
  },
};

const approverList: Command = {
  name: 'approver list',
  summary: 'the requests you are an approver of: those waiting for you first',
  help: `Usage: tandem-client approver list --file <approver file> [--limit N] [--json]

Asks the co-signer (by mail: requests that arrived while you were away are there too) for the
requests you are an approver of: those waiting for your decision first, soonest to expire first,
then the others newest first. Requests whose digest or payload hash do not match their payload
are never shown.

${FILE_HELP}
  --limit N                at most N (default 50, at most 200)
  --json                   print {"requests": [...], "pendingForYou": n}`,
  options: { file: { type: 'string' }, ...LIMIT_OPTION, ...JSON_OPTION },
  positionals: 0,
  async run(args) {
    const limit = limitOf(args);
    await withApprover(args, async (approver) => {
      const listed = await approver.list(limit === undefined ? {} : { limit });
      if (args.values['json']) return out(JSON.stringify(listed, null, 2));
      if (listed.requests.length === 0) return note(`No requests for approver ${approver.name} (yet).`);
      await printRequests(listed.requests, approver.approverId);
      note(`${listed.pendingForYou} waiting for your decision. Details: npm run client -- approver show <id> --file <file>`);
    });
  },
};

const approverShow: Command = {
  name: 'approver show',
  summary: 'one request you are an approver of, decoded, with exactly what it signs',
  help: `Usage: tandem-client approver show <requestId> --file <approver file> [--json]

Shows the request as the co-signer decoded it, after checking that its digest and payload hash
are those of its payload; then exactly what would be signed (digest, payload hash, the payload),
the quorums, the decisions so far and the result.

${FILE_HELP}
  --json                   print the request as the co-signer sent it (checked all the same)`,
  options: { file: { type: 'string' }, ...JSON_OPTION },
  positionals: 1,
  async run(args) {
    const requestId = requestIdArgument(args);
    await withApprover(args, async (approver) => {
      const request = await approver.show(requestId);
      const { describeRequest } = await import('./tandem-approver.js');
      out(args.values['json'] ? JSON.stringify(request, null, 2) : describeRequest(request, { approverId: approver.approverId }));
    });
  },
};

function decisionCommand(verdict: DecisionVerdict): Command {
  const verb = verdict === 'approve' ? 'approve' : 'reject';
  return {
    name: `approver ${verb}`,
    summary: `${verb} a request: shows it, asks, signs your decision and sends it`,
    help: `Usage: tandem-client approver ${verb} <requestId> --file <approver file> [--yes]

Shows the request (as "approver show" does), asks you to confirm, then signs your decision over
exactly that request (its id, wallet, digest and payload hash) and sends it to the co-signer.
Prints the request's state afterwards (e.g. pending-approval, approved, rejected). A decision
cannot be changed once sent.

${FILE_HELP}
  --yes                    do not ask (for scripts)`,
    options: { file: { type: 'string' }, yes: { type: 'boolean' } },
    positionals: 1,
    async run(args) {
      const requestId = requestIdArgument(args);
      await withApprover(args, async (approver) => {
        const request = await approver.show(requestId);
        const { describeRequest } = await import('./tandem-approver.js');
        note(describeRequest(request, { approverId: approver.approverId }));
        note('');
        const mine = request.decisions.find((decision) => decision.approverId === approver.approverId);
        if (mine) throw new CliError('CLI_BAD_INPUT', `You already decided to ${mine.verdict} request ${requestId}; a decision cannot be changed.`);
        if (request.state !== 'pending-approval') throw new CliError('CLI_BAD_INPUT', `Request ${requestId} is ${request.state}; it takes no more decisions.`);
        if (args.values['yes'] !== true && !(await confirm(`${verb === 'approve' ? 'Approve' : 'Reject'} request ${requestId}? Type "yes": `))) {
          throw new CliError('CLI_NOT_CONFIRMED', `Not confirmed: request ${requestId} was not ${verb === 'approve' ? 'approved' : 'rejected'} by you.`);
        }
        const { request: after, counted } = await approver.decide(requestId, verdict, request);
        out(after.state);
        note(counted ? `Your decision (${verdict}) was counted: request ${requestId} is ${after.state}.` : `The co-signer had your decision already: request ${requestId} is ${after.state}.`);
      });
    },
  };
}

/** Asks on stderr, reads one line from stdin; anything but y/yes (or no answer at all) is no. */
async function confirm(question: string): Promise<boolean> {
  const reader = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) });
  try {
    const answer = await new Promise<string | undefined>((resolveAnswer) => {
      reader.once('close', () => resolveAnswer(undefined));
      reader.question(question, resolveAnswer);
    });
    // Typed at a terminal, the answer ended the line; piped in, it did not show.
    if (!process.stdin.isTTY) process.stderr.write('\n');
    return /^\s*y(es)?\s*$/i.test(answer ?? '');
  } finally {
    reader.close();
  }
}

const approverApprove = decisionCommand('approve');
const approverReject = decisionCommand('reject');

const COMMANDS: readonly Command[] = [
  create,
  address,
  presign,
  signMessage,
  signTypedData,
  signTransaction,
  send,
  refresh,
  newBackup,
  restore,
  emergencySignMessage,
  emergencySignTransaction,
  exportKey,
  requestsList,
  requestsShow,
  approverEnroll,
  approverList,
  approverShow,
  approverApprove,
  approverReject,
];

/** Commands of two words: "approver list", "requests show", ... */
const GROUPS = ['approver', 'requests'] as const;

const GENERAL_HELP = `Usage: tandem-client <command> [flags]      (npm run client -- <command> [flags])

A Tandem device without a browser: every signature is made jointly with the co-signer.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(18)} ${command.summary}`).join('\n')}

Run "tandem-client <command> --help" for a command's flags.
Results go to stdout, messages to stderr. Exit codes: 0 done, 1 failed, 2 bad command line,
${EXIT_HELD} held for approvers (the request id is on stdout; --wait waits for them instead).
Set TANDEM_DEBUG=1 to see the full error chain when something fails.`;

function readCertificate(file: string): string {
  const pem = readInput(file);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliError('CLI_BAD_INPUT', `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  return pem;
}

function readInput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new CliError('CLI_BAD_INPUT', `Cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseTypedData(text: string, source: string): TypedDataDefinition {
  const where = source === '-' ? 'stdin' : source;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CliError('CLI_BAD_INPUT', `The typed data in ${where} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const candidate = parsed as Partial<Record<'domain' | 'types' | 'primaryType' | 'message', unknown>> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.types !== 'object' ||
    candidate.types === null ||
    typeof candidate.primaryType !== 'string' ||
    typeof candidate.message !== 'object' ||
    candidate.message === null
  ) {
    throw new CliError('CLI_BAD_INPUT', `The typed data in ${where} needs "types" (object), "primaryType" (string) and "message" (object).`);
  }
  return candidate as TypedDataDefinition;
}

/** A new owner-only file, created now (so a taken path fails before any work) and filled or removed later. */
interface SecretFile {
  path: string;
  write(text: string): void;
  discard(): void;
}

function reserveSecretFile(path: string): SecretFile {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST';
    throw new CliError('CLI_BAD_INPUT', exists ? `${path} already exists; the backup share needs a new file.` : `Cannot create ${path}: ${(cause as Error).message}`, { cause });
  }
  fchmodSync(fd, 0o600);
  let written = false;
  return {
    path,
    write(text) {
      writeSync(fd!, text);
      fsyncSync(fd!);
      closeSync(fd!);
      written = true;
    },
    discard() {
      if (written) return;
      closeSync(fd!);
      unlinkSync(path);
    },
  };
}

function parseCommand(command: Command, argv: string[]): Arguments {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new CliError('CLI_USAGE', (cause as Error).message, { command, cause });
  }
  const args = new Arguments(command, parsed.values, parsed.positionals);
  if (!parsed.values['help'] && parsed.positionals.length > command.positionals) {
    throw args.usage(`Unexpected argument "${parsed.positionals[command.positionals]}".`);
  }
  return args;
}

interface Reportable {
  shortMessage?: unknown;
  code?: unknown;
  rule?: unknown;
  details?: unknown;
  cause?: unknown;
}

/** The error a person should read: the first in the cause chain that carries our own string code (viem wraps ours). */
function describeError(error: unknown): string[] {
  const chain: Reportable[] = [];
  for (let current: unknown = error; current instanceof Error && chain.length < 10; current = (current as Reportable).cause) chain.push(current as Reportable);
  const top = chain[0];
  if (!top) return [`error: ${String(error)}`];
  const coded = chain.find((entry) => typeof entry.code === 'string' && typeof entry.shortMessage === 'string');
  const chosen = coded ?? top;
  const lines = [`error: ${typeof chosen.shortMessage === 'string' ? chosen.shortMessage : (chosen as Error).message}`];
  if (chosen.code !== undefined) lines.push(`code: ${String(chosen.code)}`);
  if (typeof chosen.rule === 'string') lines.push(`rule: ${chosen.rule}`);
  if (!coded && typeof top.details === 'string' && top.details !== top.shortMessage) lines.push(`details: ${top.details}`);
  return lines;
}

async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? note : out)(GENERAL_HELP);
    return name === undefined ? 2 : 0;
  }
  if ((GROUPS as readonly string[]).includes(name)) {
    const sub = rest[0];
    if (sub === undefined || sub.startsWith('-')) {
      const help = [`Usage: tandem-client ${name} <command> [flags]`, '', 'Commands:', ...COMMANDS.filter((c) => c.name.startsWith(`${name} `)).map((c) => `  ${c.name.padEnd(18)} ${c.summary}`)].join('\n');
      const asked = sub === '--help' || sub === '-h';
      (asked ? out : note)(help);
      return asked ? 0 : 2;
    }
    name = `${name} ${sub}`;
    rest = rest.slice(1);
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  try {
    if (!command) throw new CliError('CLI_USAGE', `Unknown command "${name}".`);
    const args = parseCommand(command, rest);
    if (args.values['help']) {
      out(command.help);
      return 0;
    }
    await command.run(args);
    return 0;
  } catch (error) {
    // Held for approvers: what to do next is already printed.
    if (error instanceof CliError && error.code === 'CLI_HELD') return EXIT_HELD;
    for (const line of describeError(error)) note(line);
    if (process.env['TANDEM_DEBUG']) note(inspect(error, { depth: 8 }));
    if (error instanceof CliError && error.code === 'CLI_USAGE') {
      note('');
      note(error.command?.help ?? GENERAL_HELP);
      return 2;
    }
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
