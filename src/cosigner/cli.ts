/**
 * The co-signer's command line (`npm run cosigner -- <command>`).
 *
 * `start` (the default) runs the service; `wallets`, `policy` and `audit` are the operator's tools.
 * They open the same SQLite file as a running co-signer (WAL lets both work at once). `audit`
 * opens it read-only and needs no master key, so whoever checks the log never holds the key.
 *
 * Heavy modules (the service, the store, viem) are imported inside the commands that use them:
 * viem alone takes about a second to load here, which `audit verify` has no reason to pay.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEVICE_ID_PATTERN, WALLET_ID_PATTERN } from '../channel/topics.js';
import { SqliteAuditLog } from './audit/audit-log.js';
import { canonicalJson, type JsonValue } from './audit/canonical-json.js';
import { AUDIT_KINDS, type AuditEntry, type AuditHead, type AuditKind, type AuditQuery } from './audit/types.js';
import type { WalletPolicy } from './policy/types.js';
import type { CosignerConfig, ExternalBrokerConfig, RunningCosigner } from './service.js';
import type { SqliteCosignerStore } from './store/database.js';
import { loadMasterKey, MASTER_KEY_ENV, type MasterKey } from './store/master-key.js';
import { databasePath } from './store/paths.js';
import type { WalletRecord, WalletStatus } from './store/types.js';
import { DEFAULT_SERVER_HOSTS } from './tls.js';

const PROGRAM = 'npm run cosigner --';
const DEFAULT_DATA_DIR = './.tandem/cosigner';
const DEFAULT_PORT = 8884;
const DATA_DIR_ENV = 'TANDEM_DATA_DIR';
const ENROLLMENT_CODE_ENV = 'TANDEM_ENROLLMENT_CODE';
/** The file ensureServerCertificate (tls.ts) writes into `<dataDir>/tls`. */
const SERVER_CERT_FILE = join('tls', 'server-cert.pem');
const POLICY_ACTOR = 'cli';
const WALLET_STATUSES: readonly WalletStatus[] = ['active', 'pending', 'locked'];
const MAX_AUDIT_LIMIT = 10_000;
/** A stop that takes longer than this is stuck; the process exits anyway, with an error. */
const STOP_TIMEOUT_MS = 15_000;

// ---- errors

/** Something the operator has to fix. `exitCode` 1 for a failed command, 2 for a wrong command line. */
export class CosignerCliError extends Error {
  override name = 'CosignerCliError';
  readonly code: string;
  readonly shortMessage: string;
  readonly exitCode: number;

  constructor(code: string, shortMessage: string, options: { details?: string; cause?: unknown; exitCode?: number } = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line itself is wrong: unknown command or flag, missing or malformed argument. Exit code 2. */
export class CliUsageError extends CosignerCliError {
  override name = 'CliUsageError';
  /** The command whose --help explains the fix. */
  readonly command: string | undefined;
  constructor(shortMessage: string, command?: string) {
    super('CLI_USAGE', shortMessage, { exitCode: 2 });
    this.command = command;
  }
}

// ---- input and output

export interface CliIo {
  /** One line (or block) of normal output; a newline is added. */
  stdout(text: string): void;
  /** Errors and progress; a newline is added. */
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(`${text}\n`),
    stderr: (text) => void process.stderr.write(`${text}\n`),
    env: process.env,
  };
}

// ---- commands

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  /** As typed: 'start', 'policy set', ... */
  name: string;
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Each line of the help's option list: [flag, what it does]. */
  help: [string, string][];
  positionals: string[];
  run(values: Values, positionals: string[], io: CliIo): Promise<number>;
}

const DATA_DIR_HELP: [string, string] = ['--data-dir <dir>', `Data directory (default $${DATA_DIR_ENV} or ${DEFAULT_DATA_DIR}).`];
const MASTER_KEY_HELP: [string, string] = [
  '--master-key-file <file>',
  `File holding the 32-byte master key (0600). Otherwise $${MASTER_KEY_ENV}, else <data-dir>/master.key.`,
];
const STORE_OPTIONS: Record<string, OptionSpec> = { 'data-dir': { type: 'string' }, 'master-key-file': { type: 'string' } };

const startCommand: Command = {
  name: 'start',
  usage: 'start [options]',
  summary: 'Run the co-signer: HTTPS enrollment API and (embedded) MQTT broker on one port. The default command.',
  positionals: [],
  options: {
    ...STORE_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-host': { type: 'string', multiple: true },
    'enrollment-code': { type: 'string' },
    'max-presignatures': { type: 'string' },
    'broker-url': { type: 'string' },
    'broker-ca': { type: 'string' },
    'broker-cert': { type: 'string' },
    'broker-key': { type: 'string' },
    'device-broker-url': { type: 'string' },
  },
  help: [
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
    ['--host <address>', 'Interface to listen on (default 127.0.0.1).'],
    ['--port <n>', `Port of the HTTPS API and the embedded broker (default ${DEFAULT_PORT}; 0 picks a free one).`],
    ['--tls-host <name>', `Host name or IP the generated certificate covers; repeatable (default ${DEFAULT_SERVER_HOSTS.join(', ')}, plus --host).`],
    ['--enrollment-code <code>', `Devices must present this code to enroll (or $${ENROLLMENT_CODE_ENV}). Default: no code.`],
    ['--max-presignatures <n>', 'Unused presignatures one wallet may hold here (default 64).'],
    ['', 'External broker (Mosquitto, EMQX) instead of the embedded one; all five together:'],
    ['--broker-url <mqtts://host:port>', 'Where the co-signer connects, with mutual TLS.'],
    ['--broker-ca <file>', 'PEM of the CA that signed the broker certificate.'],
    ['--broker-cert <file>', "PEM of the co-signer's client certificate."],
    ['--broker-key <file>', "PEM of the co-signer's client key."],
    ['--device-broker-url <wss://host:port>', 'What devices are told to connect to.'],
  ],
  run: runStart,
};

const walletsCommand: Command = {
  name: 'wallets',
  usage: 'wallets [--status active|pending|locked] [--json]',
  summary: 'List wallets: id, parties, status, address, why a wallet is locked.',
  positionals: [],
  options: { ...STORE_OPTIONS, status: { type: 'string' }, json: { type: 'boolean' } },
  help: [
    ['--status <status>', 'Only wallets in this state: active, pending (keygen not finished) or locked.'],
    ['--json', 'Print a JSON array instead of a table.'],
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
  ],
  run: runWallets,
};

const policyShowCommand: Command = {
  name: 'policy show',
  usage: 'policy show <walletId> [--json]',
  summary: "Print a wallet's signing policy.",
  positionals: ['walletId'],
  options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
  help: [['--json', 'Print the stored policy as JSON.'], DATA_DIR_HELP, MASTER_KEY_HELP],
  run: runPolicyShow,
};

const UNSET_FIELDS = {
  'max-value-per-tx': 'maxValuePerTxWei',
  'daily-limit': 'dailyLimitWei',
  recipients: 'allowedRecipients',
  contracts: 'allowedContracts',
  chains: 'allowedChainIds',
} as const satisfies Record<string, keyof WalletPolicy>;

const policySetCommand: Command = {
  name: 'policy set',
  usage: 'policy set <walletId> [rules...] [--clear] [--unset <rule>]...',
  summary: "Change a wallet's signing policy. Rules given replace those rules; the others are kept (unless --clear).",
  positionals: ['walletId'],
  options: {
    ...STORE_OPTIONS,
    'max-value-per-tx-wei': { type: 'string' },
    'max-value-per-tx-eth': { type: 'string' },
    'daily-limit-wei': { type: 'string' },
    'daily-limit-eth': { type: 'string' },
    'allow-recipient': { type: 'string', multiple: true },
    'allow-contract': { type: 'string', multiple: true },
    'allow-chain': { type: 'string', multiple: true },
    unset: { type: 'string', multiple: true },
    clear: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  help: [
    ['--max-value-per-tx-wei <n>', 'Largest native value one transaction may send, in wei.'],
    ['--max-value-per-tx-eth <x>', 'The same in ether (e.g. 0.5).'],
    ['--daily-limit-wei <n>', 'Largest native value per chain in any rolling 24 hours, in wei.'],
    ['--daily-limit-eth <x>', 'The same in ether.'],
    ['--allow-recipient <0x..>', 'Allowed recipient (transfers, token transfers, approvals); repeat for more. "none" allows none.'],
    ['--allow-contract <0x..>', 'Allowed contract to call (and typed-data verifyingContract); repeatable. "none" allows none.'],
    ['--allow-chain <id>', 'Allowed chain id; repeatable. "none" allows none.'],
    ['--unset <rule>', `Remove a rule: ${Object.keys(UNSET_FIELDS).join(', ')}; repeatable.`],
    ['--clear', 'Start from an empty policy (no restriction) instead of the current one.'],
    ['--json', 'Print the stored policy as JSON.'],
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
  ],
  run: runPolicySet,
};

const auditVerifyCommand: Command = {
  name: 'audit verify',
  usage: 'audit verify [--expected-head <seq>:<hash>]',
  summary: 'Check the audit hash chain. Opens the database read-only; needs no master key.',
  positionals: [],
  options: { 'data-dir': { type: 'string' }, 'expected-head': { type: 'string' } },
  help: [
    ['--expected-head <seq>:<hash>', 'A head printed by an earlier verify and kept elsewhere: also catches a cut-off or rewritten tail.'],
    DATA_DIR_HELP,
  ],
  run: runAuditVerify,
};

const auditListCommand: Command = {
  name: 'audit list',
  usage: 'audit list [--wallet <id>] [--device <id>] [--kind <kind>] [--limit <n>] [--json]',
  summary: 'Print the newest audit rows, oldest first. Opens the database read-only; needs no master key.',
  positionals: [],
  options: {
    'data-dir': { type: 'string' },
    wallet: { type: 'string' },
    device: { type: 'string' },
    kind: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: [
    ['--wallet <id>', 'Only rows about this wallet.'],
    ['--device <id>', 'Only rows about this device.'],
    ['--kind <kind>', `Only rows of this kind: ${AUDIT_KINDS.join(', ')}.`],
    ['--limit <n>', `How many of the newest rows (default 100, at most ${MAX_AUDIT_LIMIT}).`],
    ['--json', 'Print a JSON array of the rows, with their hashes.'],
    DATA_DIR_HELP,
  ],
  run: runAuditList,
};

const COMMANDS: readonly Command[] = [startCommand, walletsCommand, policyShowCommand, policySetCommand, auditVerifyCommand, auditListCommand];
const GROUPS = ['policy', 'audit'] as const;

// ---- dispatch

/** Runs one command line; resolves to the process exit code. `start` resolves only after a signal stopped it. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command: Command | undefined;
  try {
    const [first, second] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      if (first === undefined) return await runCommand((command = startCommand), [], io);
      io.stdout(mainHelp());
      return 0;
    }
    if (first.startsWith('-')) return await runCommand((command = startCommand), argv, io);
    if ((GROUPS as readonly string[]).includes(first)) {
      if (second === undefined) {
        io.stderr(groupHelp(first));
        return 2;
      }
      if (second === '--help' || second === '-h') {
        io.stdout(groupHelp(first));
        return 0;
      }
      command = COMMANDS.find((c) => c.name === `${first} ${second}`);
      if (!command) throw new CliUsageError(`Unknown command "${first} ${second}". The ${first} commands: ${groupCommands(first).map((c) => c.name).join(', ')}.`, first);
      return await runCommand(command, argv.slice(2), io);
    }
    command = COMMANDS.find((c) => c.name === first);
    if (!command) throw new CliUsageError(`Unknown command "${first}". Commands: ${[...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))].join(', ')}.`);
    return await runCommand(command, argv.slice(1), io);
  } catch (error) {
    return reportError(error, io, command);
  }
}

async function runCommand(command: Command, args: readonly string[], io: CliIo): Promise<number> {
  // Before parsing, so --help works even next to a flag that would not parse.
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(commandHelp(command));
    return 0;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (cause) {
    throw new CliUsageError((cause as Error).message, command.name);
  }
  const { values, positionals } = parsed;
  if (positionals.length < command.positionals.length) {
    throw new CliUsageError(`Missing <${command.positionals[positionals.length]}>. Usage: ${PROGRAM} ${command.usage}`, command.name);
  }
  if (positionals.length > command.positionals.length) {
    throw new CliUsageError(`Unexpected argument "${positionals[command.positionals.length]}". Usage: ${PROGRAM} ${command.usage}`, command.name);
  }
  return command.run(values, positionals, io);
}

function reportError(error: unknown, io: CliIo, command: Command | undefined): number {
  const typed = error as { shortMessage?: unknown; message?: unknown };
  const message = typeof typed.message === 'string' ? typed.message : String(error);
  const short = typeof typed.shortMessage === 'string' ? typed.shortMessage : message;
  io.stderr(`error: ${short}`);
  // Typed errors put what to do next after their short message ("Details: ..."): keep it.
  const rest = message.startsWith(short) ? message.slice(short.length).trim() : '';
  if (rest) io.stderr(rest);
  if (error instanceof CliUsageError) {
    const topic = error.command ?? command?.name;
    io.stderr(`Run \`${PROGRAM} ${topic ? `${topic} ` : ''}--help\` for usage.`);
    return error.exitCode;
  }
  if (io.env.TANDEM_DEBUG && error instanceof Error && error.stack) io.stderr(error.stack);
  return error instanceof CosignerCliError ? error.exitCode : 1;
}

// ---- help

function mainHelp(): string {
  const lines = [
    'Tandem co-signer: holds one key share of each wallet and signs together with its device.',
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...formatRows(COMMANDS.map((c) => [`  ${c.name}`, c.summary])),
    '',
    `Every command takes --help. With no command, ${PROGRAM} runs start.`,
    `Environment: ${DATA_DIR_ENV}, ${MASTER_KEY_ENV}, ${ENROLLMENT_CODE_ENV}, TANDEM_DEBUG (print stack traces).`,
  ];
  return lines.join('\n');
}

function groupCommands(group: string): Command[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}

function groupHelp(group: string): string {
  return [`Usage: ${PROGRAM} ${group} <command> [options]`, '', 'Commands:', ...formatRows(groupCommands(group).map((c) => [`  ${c.name}`, c.summary]))].join('\n');
}

function commandHelp(command: Command): string {
  return [
    `Usage: ${PROGRAM} ${command.usage}`,
    '',
    command.summary,
    '',
    'Options:',
    ...formatRows(command.help.map(([flag, text]) => (flag ? [`  ${flag}`, text] : [`\n${text}`, '']))),
  ].join('\n');
}

function formatRows(rows: [string, string][]): string[] {
  const width = Math.max(...rows.filter(([, text]) => text).map(([flag]) => flag.length));
  return rows.map(([flag, text]) => (text ? `${flag.padEnd(width)}  ${text}` : flag));
}

// ---- start

async function runStart(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const dataDir = dataDirFrom(values, io);
  const host = stringValue(values.host) ?? '127.0.0.1';
  const port = integerFlag('--port', stringValue(values.port) ?? String(DEFAULT_PORT), 0, 65_535);
  const tlsHosts = stringList(values['tls-host']) ?? defaultTlsHosts(host);
  const maxPresignatures = values['max-presignatures'] === undefined ? undefined : integerFlag('--max-presignatures', stringValue(values['max-presignatures'])!, 1, 100_000);
  const enrollmentCode = stringValue(values['enrollment-code']) || io.env[ENROLLMENT_CODE_ENV] || undefined;
  const external = externalBrokerFrom(values);
  const masterKeyFile = stringValue(values['master-key-file']);

  // Loaded here first so a bad or missing key fails before anything listens, and so the banner can
  // name the key. The service loads it again (a generated key is then found in its file).
  const masterKey = loadMasterKey({ dataDir, ...(masterKeyFile ? { keyFile: masterKeyFile } : {}), env: io.env });
  const keyDescription = describeMasterKey(masterKey);
  masterKey.bytes.fill(0);

  const config: CosignerConfig = {
    dataDir,
    host,
    port,
    tlsHosts,
    env: io.env,
    ...(masterKeyFile ? { masterKeyFile } : {}),
    ...(enrollmentCode ? { enrollmentCode } : {}),
    ...(maxPresignatures !== undefined ? { maxPresignatures } : {}),
    ...(external ? { external } : {}),
  };
  const [{ startCosigner }, { HEALTH_PATH }] = await Promise.all([import('./service.js'), import('../channel/enrollment.js')]);
  const signal = waitForSignal();
  let running: RunningCosigner;
  try {
    running = await startCosigner(config);
  } catch (error) {
    signal.cancel();
    const inUse = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
    if (inUse(error) || inUse((error as Error).cause)) {
      throw new CosignerCliError('CLI_PORT_IN_USE', `Port ${port} on ${host} is already in use: is another co-signer running? Stop it, or pick another port with --port.`, { cause: error });
    }
    throw error;
  }
  io.stdout(startBanner(running, { dataDir, keyDescription, enrollmentCode: Boolean(enrollmentCode), external, healthPath: HEALTH_PATH }));

  const received = await signal.promise;
  io.stderr(`${received}: stopping the co-signer...`);
  const timeout = new Promise<'timeout'>((resolveTimeout) => setTimeout(() => resolveTimeout('timeout'), STOP_TIMEOUT_MS).unref());
  const outcome = await Promise.race([running.stop().then(() => 'stopped' as const), timeout]);
  if (outcome === 'timeout') throw new CosignerCliError('CLI_STOP_TIMEOUT', `The co-signer did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting anyway.`);
  io.stderr('co-signer stopped.');
  return 0;
}

/** The first SIGINT or SIGTERM. A second one gets Node's default handling: the process ends at once. */
function waitForSignal(): { promise: Promise<NodeJS.Signals>; cancel(): void } {
  let handler: (signal: NodeJS.Signals) => void = () => undefined;
  const cancel = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  const promise = new Promise<NodeJS.Signals>((resolveSignal) => {
    handler = (signal) => {
      cancel();
      resolveSignal(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
  return { promise, cancel };
}

function defaultTlsHosts(host: string): string[] {
  const hosts = [...DEFAULT_SERVER_HOSTS];
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  if (!wildcard && !hosts.includes(host)) hosts.push(host);
  return hosts;
}

function externalBrokerFrom(values: Values): ExternalBrokerConfig | undefined {
  const flags = ['broker-url', 'broker-ca', 'broker-cert', 'broker-key', 'device-broker-url'] as const;
  const given = flags.filter((flag) => values[flag] !== undefined);
  if (given.length === 0) return undefined;
  const missing = flags.filter((flag) => values[flag] === undefined);
  if (missing.length > 0) {
    throw new CliUsageError(`An external broker needs all of --${flags.join(', --')}; missing --${missing.join(', --')}.`, 'start');
  }
  const url = checkedUrl('--broker-url', stringValue(values['broker-url'])!, ['mqtts:', 'wss:']);
  const deviceUrl = checkedUrl('--device-broker-url', stringValue(values['device-broker-url'])!, ['wss:']);
  return {
    url,
    deviceUrl,
    caPem: readPem('--broker-ca', stringValue(values['broker-ca'])!),
    certPem: readPem('--broker-cert', stringValue(values['broker-cert'])!),
    keyPem: readPem('--broker-key', stringValue(values['broker-key'])!),
  };
}

function checkedUrl(flag: string, text: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliUsageError(`${flag} is not a URL: ${JSON.stringify(text)}.`, 'start');
  }
  if (!protocols.includes(url.protocol)) {
    throw new CliUsageError(`${flag} must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL (TLS); got ${url.protocol}//.`, 'start');
  }
  return text;
}

function readPem(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CosignerCliError('CLI_FILE_UNREADABLE', `Cannot read ${flag} ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, { cause });
  }
  if (!text.includes('-----BEGIN ')) throw new CosignerCliError('CLI_NOT_PEM', `${flag} ${path} is not a PEM file.`);
  return text;
}

function describeMasterKey(key: MasterKey): string {
  const from = key.source === 'env' ? `$${MASTER_KEY_ENV}` : key.source === 'generated' ? `generated into ${key.path}: back it up` : `file ${key.path}`;
  return `id ${key.keyId} (${from})`;
}

function startBanner(
  running: RunningCosigner,
  facts: { dataDir: string; keyDescription: string; enrollmentCode: boolean; external: ExternalBrokerConfig | undefined; healthPath: string },
): string {
  const rows: [string, string][] = [
    ['HTTPS API', running.url],
    ['health check', `${running.url}${facts.healthPath}`],
    ['device broker URL', running.brokerUrl + (facts.external ? '' : '  (embedded Aedes)')],
    ...(facts.external ? ([['co-signer joins', `${facts.external.url}  (mutual TLS)`]] as [string, string][]) : []),
    ['co-signer identity', running.identityPublicKey],
    ['TLS certificate', join(facts.dataDir, SERVER_CERT_FILE)],
    ['SPKI sha256', running.spkiHash],
    ['Chromium flag', `--ignore-certificate-errors-spki-list=${running.spkiHash}`],
    ['data directory', facts.dataDir],
    ['master key', facts.keyDescription],
    ['enrollment code', facts.enrollmentCode ? 'required' : 'not required'],
  ];
  return ['Tandem co-signer is running.', '', ...formatRows(rows.map(([label, value]) => [`  ${label}`, value])), '', 'Stop it with Ctrl-C (SIGINT) or SIGTERM.'].join('\n');
}

// ---- wallets

async function runWallets(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const statusText = stringValue(values.status);
  if (statusText !== undefined && !(WALLET_STATUSES as readonly string[]).includes(statusText)) {
    throw new CliUsageError(`--status must be one of ${WALLET_STATUSES.join(', ')}; got ${JSON.stringify(statusText)}.`, 'wallets');
  }
  const status = statusText as WalletStatus | undefined;
  const wallets = await withStore(values, io, (store) => store.listWallets(status ? { status } : {}));
  if (values.json) {
    io.stdout(JSON.stringify(wallets.map(walletJson), null, 2));
    return 0;
  }
  if (wallets.length === 0) {
    io.stdout(status ? `No ${status} wallets.` : 'No wallets yet.');
    return 0;
  }
  io.stdout(
    table(
      ['WALLET', 'PARTIES', 'STATUS', 'ADDRESS', 'LOCKED REASON'],
      wallets.map((w) => [w.walletId, `2-of-${w.parties.length}`, w.status, w.address ?? '-', w.lockedReason ?? '']),
    ),
  );
  return 0;
}

function walletJson(wallet: WalletRecord): Record<string, unknown> {
  return {
    walletId: wallet.walletId,
    parties: [...wallet.parties],
    status: wallet.status,
    address: wallet.address ?? null,
    publicKey: wallet.publicKey ?? null,
    generation: wallet.generation ?? null,
    lockedReason: wallet.lockedReason ?? null,
    createdAt: new Date(wallet.createdAt).toISOString(),
  };
}

// ---- policy

async function runPolicyShow(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const walletId = walletIdArgument(positionals[0]!, 'policy show');
  const policy = await withStore(values, io, async (store) => {
    await requireWallet(store, walletId);
    return store.getPolicy(walletId);
  });
  io.stdout(values.json ? JSON.stringify(policy, null, 2) : await describePolicy(walletId, policy));
  return 0;
}

async function runPolicySet(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const walletId = walletIdArgument(positionals[0]!, 'policy set');
  const changes = await policyChanges(values);
  const unset = unsetFields(values, changes);
  if (Object.keys(changes).length === 0 && unset.length === 0 && !values.clear) {
    throw new CliUsageError('Nothing to change: give at least one rule, --unset or --clear.', 'policy set');
  }
  const { stored, seq } = await withStore(values, io, async (store) => {
    await requireWallet(store, walletId);
    const base: Record<string, unknown> = values.clear ? {} : { ...(await store.getPolicy(walletId)) };
    for (const field of unset) delete base[field];
    const saved = await store.setPolicy(walletId, { ...base, ...changes }, { actor: POLICY_ACTOR });
    const [row] = await store.audit.list({ walletId, kind: 'policy', limit: 1 });
    return { stored: saved, seq: row?.seq };
  });
  if (values.json) {
    io.stdout(JSON.stringify(stored, null, 2));
    return 0;
  }
  io.stdout(`Policy saved${seq === undefined ? '' : ` (audit row ${seq})`}.`);
  io.stdout(await describePolicy(walletId, stored));
  return 0;
}

/** The rules given on the command line, as policy fields. Values go to validatePolicy (in setPolicy) as typed, so its messages name the problem. */
async function policyChanges(values: Values): Promise<Record<string, unknown>> {
  const { parseEther } = await import('viem');
  const changes: Record<string, unknown> = {};
  const perTx = amountFlag(values, 'max-value-per-tx', parseEther);
  if (perTx !== undefined) changes.maxValuePerTxWei = perTx;
  const daily = amountFlag(values, 'daily-limit', parseEther);
  if (daily !== undefined) changes.dailyLimitWei = daily;
  const recipients = listFlag(values, 'allow-recipient');
  if (recipients) changes.allowedRecipients = recipients;
  const contracts = listFlag(values, 'allow-contract');
  if (contracts) changes.allowedContracts = contracts;
  const chains = listFlag(values, 'allow-chain');
  if (chains) changes.allowedChainIds = chains.map((id) => (/^[0-9]{1,15}$/.test(id) ? Number(id) : id));
  return changes;
}

function amountFlag(values: Values, name: 'max-value-per-tx' | 'daily-limit', parseEther: (ether: string) => bigint): string | undefined {
  const wei = stringValue(values[`${name}-wei`]);
  const eth = stringValue(values[`${name}-eth`]);
  if (wei !== undefined && eth !== undefined) throw new CliUsageError(`Give --${name}-wei or --${name}-eth, not both.`, 'policy set');
  if (wei !== undefined) return wei.trim();
  if (eth === undefined) return undefined;
  const text = eth.trim();
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (!match || (match[2]?.length ?? 0) > 18) {
    throw new CosignerCliError('POLICY_INVALID', `--${name}-eth must be an amount of ether with at most 18 decimals, e.g. 0.5; got ${JSON.stringify(eth)}.`);
  }
  return parseEther(text).toString(10);
}

function listFlag(values: Values, name: string): string[] | undefined {
  const list = stringList(values[name]);
  if (!list) return undefined;
  if (list.includes('none')) {
    if (list.length > 1) throw new CliUsageError(`--${name} none allows nothing; it cannot be combined with other --${name} values.`, 'policy set');
    return [];
  }
  return list;
}

function unsetFields(values: Values, changes: Record<string, unknown>): (keyof WalletPolicy)[] {
  return (stringList(values.unset) ?? []).map((name) => {
    if (!Object.hasOwn(UNSET_FIELDS, name)) {
      throw new CliUsageError(`--unset takes one of ${Object.keys(UNSET_FIELDS).join(', ')}; got ${JSON.stringify(name)}.`, 'policy set');
    }
    const field = UNSET_FIELDS[name as keyof typeof UNSET_FIELDS];
    if (field in changes) throw new CliUsageError(`--unset ${name} contradicts a new value for the same rule.`, 'policy set');
    return field;
  });
}

async function describePolicy(walletId: string, policy: WalletPolicy): Promise<string> {
  const { formatEther } = await import('viem');
  const amount = (wei: string | undefined) => (wei === undefined ? 'no limit' : `${wei} wei (${formatEther(BigInt(wei))} ETH)`);
  const list = (items: readonly (string | number)[] | undefined) => (items === undefined ? 'any' : items.length === 0 ? 'none allowed' : items.join(', '));
  const rows: [string, string][] = [
    ['max value per transaction', amount(policy.maxValuePerTxWei)],
    ['daily limit (rolling 24 h)', amount(policy.dailyLimitWei)],
    ['recipients', list(policy.allowedRecipients)],
    ['contracts', list(policy.allowedContracts)],
    ['chains', list(policy.allowedChainIds)],
  ];
  return [`Policy of wallet ${walletId}:`, ...formatRows(rows.map(([label, value]) => [`  ${label}`, value]))].join('\n');
}

async function requireWallet(store: SqliteCosignerStore, walletId: string): Promise<WalletRecord> {
  const wallet = await store.getWallet(walletId);
  if (!wallet) throw new CosignerCliError('CLI_UNKNOWN_WALLET', `No wallet ${walletId} here. List them with \`${PROGRAM} wallets\`.`);
  return wallet;
}

// ---- audit

async function runAuditVerify(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const expectedHead = headFlag(stringValue(values['expected-head']));
  const result = withReadOnlyAudit(values, io, (audit) => audit.verify(expectedHead ? { expectedHead } : {}));
  if (!result.ok) {
    io.stderr(`error: audit chain broken at seq ${result.brokenAt}: ${result.reason}`);
    return 1;
  }
  io.stdout(result.head ? `audit chain OK: ${result.rows} rows, head ${result.head.hash} (seq ${result.head.seq})` : 'audit chain OK: 0 rows (the log is empty)');
  return 0;
}

function headFlag(text: string | undefined): AuditHead | undefined {
  if (text === undefined) return undefined;
  const match = /^([0-9]{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new CliUsageError('--expected-head is <seq>:<hash>, e.g. 42:9f86d0...; as printed by an earlier verify.', 'audit verify');
  return { seq: Number(match[1]), hash: match[2]! };
}

async function runAuditList(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const query: AuditQuery = {};
  const wallet = stringValue(values.wallet);
  if (wallet !== undefined) query.walletId = walletIdArgument(wallet, 'audit list');
  const device = stringValue(values.device);
  if (device !== undefined) {
    if (!DEVICE_ID_PATTERN.test(device)) throw new CliUsageError(`--device is a device id (32 lowercase hex characters); got ${JSON.stringify(device)}.`, 'audit list');
    query.deviceId = device;
  }
  const kind = stringValue(values.kind);
  if (kind !== undefined) {
    if (!(AUDIT_KINDS as readonly string[]).includes(kind)) throw new CliUsageError(`--kind must be one of ${AUDIT_KINDS.join(', ')}; got ${JSON.stringify(kind)}.`, 'audit list');
    query.kind = kind as AuditKind;
  }
  const limit = stringValue(values.limit);
  if (limit !== undefined) query.limit = integerFlag('--limit', limit, 1, MAX_AUDIT_LIMIT);
  const rows = withReadOnlyAudit(values, io, (audit) => audit.list(query));
  if (values.json) {
    io.stdout(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    io.stdout('No audit rows match.');
    return 0;
  }
  io.stdout(table(['SEQ', 'AT', 'KIND', 'WALLET', 'SUMMARY'], rows.map(auditRow)));
  return 0;
}

function auditRow(entry: AuditEntry): string[] {
  return [String(entry.seq), entry.at, entry.kind, entry.walletId ?? '-', canonicalJson(entry.summary as JsonValue)];
}

// ---- data access

function dataDirFrom(values: Values, io: CliIo): string {
  return resolve(stringValue(values['data-dir']) || io.env[DATA_DIR_ENV] || DEFAULT_DATA_DIR);
}

/** The database must already exist: opening the store would create an empty one, and loading a key would generate one. */
function existingDatabase(dataDir: string): string {
  const path = databasePath(dataDir);
  if (!existsSync(path)) {
    throw new CosignerCliError(
      'CLI_NO_DATABASE',
      `No co-signer database in ${dataDir}. Start the co-signer there first (\`${PROGRAM} start\`), or pass --data-dir / $${DATA_DIR_ENV}.`,
    );
  }
  return path;
}

async function withStore<T>(values: Values, io: CliIo, work: (store: SqliteCosignerStore) => Promise<T> | T): Promise<T> {
  const dataDir = dataDirFrom(values, io);
  const path = existingDatabase(dataDir);
  const keyFile = stringValue(values['master-key-file']);
  const masterKey = loadMasterKey({ dataDir, ...(keyFile ? { keyFile } : {}), env: io.env });
  const { openSqliteStore } = await import('./store/database.js');
  const store = openSqliteStore({ path, masterKey });
  try {
    return await work(store);
  } finally {
    store.close();
  }
}

/**
 * Opened with better-sqlite3 itself rather than the store's openDatabase: the store module pulls in
 * viem (policy validation), and a read-only connection needs none of its settings but the timeout.
 */
function withReadOnlyAudit<T>(values: Values, io: CliIo, work: (audit: SqliteAuditLog) => T): T {
  const db = new Database(existingDatabase(dataDirFrom(values, io)), { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return work(new SqliteAuditLog(db));
  } finally {
    db.close();
  }
}

// ---- small helpers

function stringValue(value: Values[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function stringList(value: Values[string]): string[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function integerFlag(flag: string, text: string, min: number, max: number): number {
  if (!/^[0-9]{1,15}$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new CliUsageError(`${flag} must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}.`);
  }
  return Number(text);
}

function walletIdArgument(text: string, command: string): string {
  if (!WALLET_ID_PATTERN.test(text)) throw new CliUsageError(`A wallet id is 32 lowercase hex characters; got ${JSON.stringify(text)}.`, command);
  return text;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const code = await runCli(process.argv.slice(2));
  // Exit explicitly: a stopped service may leave a timer or socket behind that would keep the process up.
  process.exit(code);
}
