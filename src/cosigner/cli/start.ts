import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CosignerConfig, ExternalBrokerConfig, RunningCosigner } from '../service.js';
import type { CosignerStore } from '../store/types.js';
import { loadMasterKey, MASTER_KEY_ENV, type MasterKey } from '../store/master-key.js';
import { DEFAULT_RESTORE_DELAY_MS } from '../restore-policy.js';
import { DEFAULT_SERVER_HOSTS } from '../tls.js';
import { integerFlag, stringList, stringValue } from './args.js';
import { DATA_DIR_HELP, DATABASE_HELP, MASTER_KEY_HELP, STORE_OPTIONS, type Command, type Values } from './command.js';
import { databaseFrom, dataDirFrom } from './data.js';
import { CliUsageError, CosignerCliError } from './errors.js';
import { formatRows } from './format.js';
import type { CliIo } from './io.js';
import { createLog, LOG_FORMATS, type LogFormat } from '../ops/log.js';

const DEFAULT_PORT = 8884;
export const ENROLLMENT_CODE_ENV = 'TANDEM_ENROLLMENT_CODE';
/** The file ensureServerCertificate (tls.ts) writes into `<dataDir>/tls`. */
const SERVER_CERT_FILE = join('tls', 'server-cert.pem');
/** A stop that takes longer than this is stuck; the process exits anyway, with an error. */
const STOP_TIMEOUT_MS = 15_000;
/** How long a SIGTERM waits for requests in progress before stopping anyway. */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export const startCommand: Command = {
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
    'restore-delay': { type: 'string' },
    'broker-url': { type: 'string' },
    'broker-ca': { type: 'string' },
    'broker-cert': { type: 'string' },
    'broker-key': { type: 'string' },
    'device-broker-url': { type: 'string' },
    'device-broker-ca': { type: 'string' },
    'pool-member': { type: 'string' },
    'chain-rpc': { type: 'string', multiple: true },
    'log-format': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    'drain-timeout': { type: 'string' },
  },
  help: [
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
    DATABASE_HELP,
    ['--host <address>', 'Interface to listen on (default 127.0.0.1).'],
    ['--port <n>', `Port of the HTTPS API and the embedded broker (default ${DEFAULT_PORT}; 0 picks a free one).`],
    ['--tls-host <name>', `Host name or IP the generated certificate covers; repeatable (default ${DEFAULT_SERVER_HOSTS.join(', ')}, plus --host).`],
    ['--enrollment-code <code>', `Devices must present this code to enroll (or $${ENROLLMENT_CODE_ENV}). Default: no code.`],
    ['--max-presignatures <n>', 'Unused presignatures one wallet may hold here (default 64).'],
    ['--restore-delay <seconds>', `How long a restore from a recovery kit waits before it runs, so an unexpected one can be revoked (default ${DEFAULT_RESTORE_DELAY_MS / 1000}).`],
    ['--chain-rpc <chainId>=<url>', 'JSON-RPC endpoint (http:// or https://) through which transactions approvers approved on that chain are broadcast; repeatable, one per chain. Without one, the device sends them.'],
    ['--log-format <text|json>', 'Log lines on stderr: human text (default) or one JSON object per line ({ time, level, msg, ...fields }).'],
    ['--metrics-port <n>', 'Serve GET /metrics (Prometheus text) and GET /v1/health over plain HTTP on this port (default: off; 0 picks a free one).'],
    ['--metrics-host <address>', 'Interface of the metrics listener (default 127.0.0.1: keep it off the public network).'],
    ['--drain-timeout <duration>', `On SIGTERM or SIGINT, how long requests in progress may take to finish before the stop: 30s, 500ms, 2m (default ${DEFAULT_DRAIN_TIMEOUT_MS / 1000}s).`],
    ['', 'External broker (Mosquitto, EMQX) instead of the embedded one; all five together:'],
    ['--broker-url <mqtts://host:port>', 'Where the co-signer connects, with mutual TLS.'],
    ['--broker-ca <file>', 'PEM of the CA that signed the broker certificate.'],
    ['--broker-cert <file>', "PEM of the co-signer's client certificate."],
    ['--broker-key <file>', "PEM of the co-signer's client key."],
    ['--device-broker-url <wss://host:port>', 'What devices are told to connect to.'],
    ['--device-broker-ca <file>', "Optional: a CA devices are told to trust for that URL, when the broker's WSS certificate is not publicly trusted (a private CA)."],
    ['--pool-member <name>', 'Run as one member of a pool of co-signers on one --database and one external broker: new conversations and mail are shared among the members, each conversation stays with the member that took it. A name unique in the pool, kept across restarts (e.g. a, b).'],
  ],
  run: runStart,
};

async function runStart(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const dataDir = dataDirFrom(values, io);
  const database = databaseFrom(values);
  const host = stringValue(values.host) ?? '127.0.0.1';
  const port = integerFlag('--port', stringValue(values.port) ?? String(DEFAULT_PORT), 0, 65_535);
  const tlsHosts = stringList(values['tls-host']) ?? defaultTlsHosts(host);
  const maxPresignatures = values['max-presignatures'] === undefined ? undefined : integerFlag('--max-presignatures', stringValue(values['max-presignatures'])!, 1, 100_000);
  const enrollmentCode = stringValue(values['enrollment-code']) || io.env[ENROLLMENT_CODE_ENV] || undefined;
  const restoreDelay = values['restore-delay'] === undefined ? undefined : integerFlag('--restore-delay', stringValue(values['restore-delay'])!, 0, 30 * 86_400);
  const external = externalBrokerFrom(values);
  const poolMember = stringValue(values['pool-member']);
  if (poolMember !== undefined && (!external || !database)) {
    throw new CliUsageError('--pool-member needs an external broker (--broker-url and the rest) and a shared --database postgres://...: the members share both.', 'start');
  }
  const chainRpcUrls = chainRpcUrlsFrom(stringList(values['chain-rpc']));
  const masterKeyFile = stringValue(values['master-key-file']);
  const logFormat = logFormatFrom(stringValue(values['log-format']));
  const metricsPort = values['metrics-port'] === undefined ? undefined : integerFlag('--metrics-port', stringValue(values['metrics-port'])!, 0, 65_535);
  const metricsHost = stringValue(values['metrics-host']);
  const drainTimeoutMs = values['drain-timeout'] === undefined ? DEFAULT_DRAIN_TIMEOUT_MS : durationFlag('--drain-timeout', stringValue(values['drain-timeout'])!);
  // In JSON mode the CLI's own progress lines are log lines too; the banner (stdout) stays text.
  const log = createLog({ format: logFormat, write: (line) => io.stderr(line), prefix: 'tandem-cosigner: ' });
  const say = (text: string, fields?: Parameters<typeof log>[1]) => (logFormat === 'json' ? log(text, fields) : io.stderr(text));

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
    ...(restoreDelay !== undefined ? { restoreDelayMs: restoreDelay * 1000 } : {}),
    ...(external ? { external } : {}),
    ...(poolMember !== undefined ? { pool: { member: poolMember } } : {}),
    ...(chainRpcUrls ? { chainRpcUrls } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ...(metricsHost ? { metricsHost } : {}),
    log,
  };
  const [{ startCosigner }, { HEALTH_PATH }] = await Promise.all([import('../service.js'), import('../../channel/enrollment.js')]);
  const signal = waitForSignal();
  let running: RunningCosigner<CosignerStore>;
  try {
    running = database ? await startCosigner({ ...config, database }) : await startCosigner(config);
  } catch (error) {
    signal.cancel();
    const inUse = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
    if (inUse(error) || inUse((error as Error).cause)) {
      throw new CosignerCliError('CLI_PORT_IN_USE', `Port ${port} on ${host} is already in use: is another co-signer running? Stop it, or pick another port with --port.`, { cause: error });
    }
    throw error;
  }
  io.stdout(startBanner(running, { dataDir, keyDescription, enrollmentCode: Boolean(enrollmentCode), external, healthPath: HEALTH_PATH, chainRpcUrls }));

  const received = await signal.promise;
  // Drain first: no new requests, those in progress finish (bounded); a second signal ends the process at once.
  say(`${received}: draining the co-signer (up to ${drainTimeoutMs / 1000} s; a second signal stops at once)...`, { signal: received, drainTimeoutMs });
  const drained = await running.drain(drainTimeoutMs);
  if (!drained.drained) say(`${drained.inFlight} requests did not finish within ${drainTimeoutMs / 1000} s; stopping anyway.`, { level: 'warn', inFlight: drained.inFlight });
  say(`${received}: stopping the co-signer...`, { signal: received });
  const timeout = new Promise<'timeout'>((resolveTimeout) => setTimeout(() => resolveTimeout('timeout'), STOP_TIMEOUT_MS).unref());
  const outcome = await Promise.race([running.stop().then(() => 'stopped' as const), timeout]);
  if (outcome === 'timeout') throw new CosignerCliError('CLI_STOP_TIMEOUT', `The co-signer did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting anyway.`);
  say('co-signer stopped.');
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

function logFormatFrom(text: string | undefined): LogFormat {
  if (text === undefined) return 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(text)) throw new CliUsageError(`--log-format is ${LOG_FORMATS.join(' or ')}; got ${JSON.stringify(text)}.`, 'start');
  return text as LogFormat;
}

/** `30s`, `500ms`, `2m`, or a bare number of seconds, as milliseconds (at most an hour). */
export function durationFlag(flag: string, text: string): number {
  const match = /^([0-9]{1,7})(ms|s|m)?$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1000) : NaN;
  if (!match || ms > 3_600_000) throw new CliUsageError(`${flag} is a duration such as 30s, 500ms or 2m (at most 1 h); got ${JSON.stringify(text)}.`, 'start');
  return ms;
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
    ...(values['device-broker-ca'] !== undefined ? { deviceCaPem: readPem('--device-broker-ca', stringValue(values['device-broker-ca'])!) } : {}),
  };
}

/** `--chain-rpc 1=https://...` (repeatable) as chain id -> URL. */
export function chainRpcUrlsFrom(entries: string[] | undefined): Record<number, string> | undefined {
  if (!entries || entries.length === 0) return undefined;
  const urls: Record<number, string> = {};
  for (const entry of entries) {
    const match = /^([0-9]{1,15})=(.+)$/.exec(entry.trim());
    if (!match) throw new CliUsageError(`--chain-rpc is <chainId>=<url>, e.g. 1=https://rpc.example.org; got ${JSON.stringify(entry)}.`, 'start');
    const chainId = Number(match[1]);
    if (chainId < 1 || !Number.isSafeInteger(chainId)) throw new CliUsageError(`--chain-rpc needs a positive chain id; got ${match[1]}.`, 'start');
    if (urls[chainId] !== undefined) throw new CliUsageError(`--chain-rpc names chain ${chainId} twice.`, 'start');
    urls[chainId] = checkedUrl('--chain-rpc', match[2]!, ['http:', 'https:']);
  }
  return urls;
}

function checkedUrl(flag: string, text: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliUsageError(`${flag} is not a URL: ${JSON.stringify(text)}.`, 'start');
  }
  if (!protocols.includes(url.protocol)) {
    throw new CliUsageError(`${flag} must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL${protocols.includes('http:') ? '' : ' (TLS)'}; got ${url.protocol}//.`, 'start');
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
  running: RunningCosigner<CosignerStore>,
  facts: { dataDir: string; keyDescription: string; enrollmentCode: boolean; external: ExternalBrokerConfig | undefined; healthPath: string; chainRpcUrls: Record<number, string> | undefined },
): string {
  const rows: [string, string][] = [
    ['HTTPS API', running.url],
    ['health check', `${running.url}${facts.healthPath}`],
    ['metrics', running.metricsUrl ? `${running.metricsUrl}/metrics  (plain HTTP)` : 'off (--metrics-port)'],
    ['device broker URL', running.brokerUrl + (facts.external ? '' : '  (embedded Aedes)')],
    ...(facts.external ? ([['co-signer joins', `${facts.external.url}  (mutual TLS)`]] as [string, string][]) : []),
    ['co-signer identity', running.identityPublicKey],
    ['TLS certificate', join(facts.dataDir, SERVER_CERT_FILE)],
    ['SPKI sha256', running.spkiHash],
    ['Chromium flag', `--ignore-certificate-errors-spki-list=${running.spkiHash}`],
    ['data directory', facts.dataDir],
    ['master key', facts.keyDescription],
    ['enrollment code', facts.enrollmentCode ? 'required' : 'not required'],
    // Chain ids and hosts only: an RPC URL's path or query often carries an API key.
    ['approved txs sent', facts.chainRpcUrls ? Object.entries(facts.chainRpcUrls).map(([chainId, url]) => `chain ${chainId} via ${new URL(url).host}`).join(', ') : 'by the device (no --chain-rpc)'],
  ];
  return ['Tandem co-signer is running.', '', ...formatRows(rows.map(([label, value]) => [`  ${label}`, value])), '', 'Stop it with Ctrl-C (SIGINT) or SIGTERM.'].join('\n');
}
