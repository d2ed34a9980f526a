/**
 * A throwaway Mosquitto for tests: a temporary directory with a fresh CA, server certificate,
 * co-signer client certificate and dynamic-security state, the configuration of
 * mosquitto-config.ts on free ports, and a started broker. `stop()` ends it and removes the directory.
 *
 * As root, Mosquitto drops to the `mosquitto` account before it reads its key and before the
 * plugin writes its state, so the directory is handed to that account (as a real install must
 * do with /etc/mosquitto/tandem and /var/lib/mosquitto). Without that account it stays root.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificateAuthority, issueCertificate, type KeyAndCertificate } from '../tls.js';
import { COSIGNER_CLIENT_ID, DEFAULT_MAX_PAYLOAD_BYTES } from './access-rules.js';
import { MosquittoError } from './errors.js';
import { initialDynsecConfig, renderMosquittoConf } from './mosquitto-config.js';

export interface MosquittoHarnessOptions {
  maxPayloadBytes?: number;
  /** Path of the mosquitto binary; else $MOSQUITTO_BIN, /usr/sbin/mosquitto, or PATH. */
  binary?: string;
  /** Path of mosquitto_dynamic_security.so; else $MOSQUITTO_DYNSEC_PLUGIN or the usual library folders. */
  dynsecPlugin?: string;
  startTimeoutMs?: number;
}

export interface MosquittoClientIdentity extends KeyAndCertificate {
  /** The certificate's CN, which Mosquitto uses as the username. */
  username: string;
}

export interface MosquittoHarness {
  /** For devices: wss://127.0.0.1:port/mqtt. */
  wssUrl: string;
  /** For co-signers: mqtts://127.0.0.1:port, client certificate required. */
  mtlsUrl: string;
  loopbackPort: number;
  /** Trust anchor for both TLS listeners. */
  caPem: string;
  cosigner: MosquittoClientIdentity;
  /** May read every topic and nothing else: for tests of what a broker insider sees. */
  tap: MosquittoClientIdentity;
  maxPayloadBytes: number;
  dir: string;
  /** The broker's recent log lines, for failure messages. */
  logs(): string;
  /** Stops Mosquitto (it writes its persistence file on the way out) and starts it again on the same ports. */
  restart(): Promise<void>;
  /**
   * Kills Mosquitto (SIGKILL, as a crash or a lost host would) and starts it again on the same ports:
   * what it held since its last autosave (sessions, subscriptions, queued and retained messages) is gone.
   */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

const TAP_USERNAME = 'tandem-tap';

export async function startMosquittoHarness(options: MosquittoHarnessOptions = {}): Promise<MosquittoHarness> {
  const binary = findMosquitto(options.binary);
  const plugin = findDynsecPlugin(options.dynsecPlugin);
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const dir = await mkdtemp(join(tmpdir(), 'tandem-mosquitto-'));
  try {
    const ca = await ensureCertificateAuthority(join(dir, 'ca'));
    const server = await issueCertificate(ca, { commonName: 'tandem-mosquitto', hosts: ['127.0.0.1', 'localhost'], usage: 'server' });
    const cosigner = { username: COSIGNER_CLIENT_ID, ...(await issueCertificate(ca, { commonName: COSIGNER_CLIENT_ID, usage: 'client' })) };
    const tap = { username: TAP_USERNAME, ...(await issueCertificate(ca, { commonName: TAP_USERNAME, usage: 'client' })) };
    await writeFile(join(dir, 'ca-cert.pem'), ca.certPem, { mode: 0o600 });
    await writeFile(join(dir, 'server-cert.pem'), server.certPem, { mode: 0o600 });
    await writeFile(join(dir, 'server-key.pem'), server.keyPem, { mode: 0o600 });
    await writeFile(
      join(dir, 'dynamic-security.json'),
      JSON.stringify(initialDynsecConfig({ cosignerUsernames: [COSIGNER_CLIENT_ID], tapUsernames: [TAP_USERNAME] }), null, 2),
      { mode: 0o600 },
    );
    const runAs = await handOverToBrokerAccount(dir);

    for (let attempt = 1; ; attempt++) {
      const [devicesPort, cosignersPort, loopbackPort] = await freePorts(3);
      await writeFile(
        join(dir, 'mosquitto.conf'),
        renderMosquittoConf({
          devices: { bind: '127.0.0.1', port: devicesPort! },
          cosigners: { bind: '127.0.0.1', port: cosignersPort! },
          loopbackPort: loopbackPort!,
          caCertFile: join(dir, 'ca-cert.pem'),
          serverCertFile: join(dir, 'server-cert.pem'),
          serverKeyFile: join(dir, 'server-key.pem'),
          dynsecPlugin: plugin,
          dynsecConfigFile: join(dir, 'dynamic-security.json'),
          persistenceDir: dir,
          maxPayloadBytes,
          user: runAs,
        }),
        { mode: 0o644 },
      );
      let broker = new BrokerProcess(binary, join(dir, 'mosquitto.conf'));
      try {
        await broker.ready(options.startTimeoutMs ?? 10_000);
      } catch (error) {
        await broker.stop();
        // another test grabbed a port between our probe and Mosquitto's bind: try new ports
        if (attempt < 3 && /Address already in use/i.test(broker.logs())) continue;
        throw error;
      }
      let stopping: Promise<void> | undefined;
      return {
        wssUrl: `wss://127.0.0.1:${devicesPort}/mqtt`,
        mtlsUrl: `mqtts://127.0.0.1:${cosignersPort}`,
        loopbackPort: loopbackPort!,
        caPem: ca.certPem,
        cosigner,
        tap,
        maxPayloadBytes,
        dir,
        logs: () => broker.logs(),
        async restart() {
          await broker.stop();
          broker = new BrokerProcess(binary, join(dir, 'mosquitto.conf'));
          await broker.ready(options.startTimeoutMs ?? 10_000);
        },
        async crash() {
          await broker.kill();
          broker = new BrokerProcess(binary, join(dir, 'mosquitto.conf'));
          await broker.ready(options.startTimeoutMs ?? 10_000);
        },
        stop() {
          stopping ??= broker.stop().then(() => rm(dir, { recursive: true, force: true }));
          return stopping;
        },
      };
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Finds the mosquitto binary (only `explicit` when given) or explains how to install it. */
export function findMosquitto(explicit?: string): string {
  const candidates = explicit ? [explicit] : [process.env.MOSQUITTO_BIN, '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', ...pathCandidates('mosquitto')];
  const found = candidates.find((candidate): candidate is string => !!candidate && existsSync(candidate));
  if (!found) {
    throw new MosquittoError('MOSQUITTO_NOT_INSTALLED', 'Mosquitto is not installed, and the Mosquitto tests need a real broker.', {
      details: `Looked for ${explicit ?? 'mosquitto in $MOSQUITTO_BIN, /usr/sbin, /usr/local/sbin and PATH'}. Install it (Debian/Ubuntu: apt-get install -y mosquitto) or set MOSQUITTO_BIN to the mosquitto binary.`,
    });
  }
  return found;
}

/** Finds mosquitto_dynamic_security.so (only `explicit` when given) in the usual library folders. */
export function findDynsecPlugin(explicit?: string): string {
  const name = 'mosquitto_dynamic_security.so';
  const folders = ['/usr/lib', '/usr/local/lib', '/usr/lib64'];
  const multiarch = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((entry) => entry.endsWith('-linux-gnu')).map((entry) => `/usr/lib/${entry}`) : [];
  const candidates = explicit ? [explicit] : [process.env.MOSQUITTO_DYNSEC_PLUGIN, ...[...multiarch, ...folders].map((folder) => join(folder, name))];
  const found = candidates.find((candidate): candidate is string => !!candidate && existsSync(candidate));
  if (!found) {
    throw new MosquittoError('MOSQUITTO_PLUGIN_MISSING', 'The Mosquitto dynamic-security plugin was not found.', {
      details: `Look for ${name} with "dpkg -L mosquitto" and set MOSQUITTO_DYNSEC_PLUGIN to its path.`,
    });
  }
  return found;
}

function pathCandidates(program: string): string[] {
  return (process.env.PATH ?? '').split(':').filter(Boolean).map((folder) => join(folder, program));
}

/** Gives the directory to the `mosquitto` account when we run as root; returns the `user` line's value. */
async function handOverToBrokerAccount(dir: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const account = lookUpAccount('mosquitto');
  if (!account) return 'root';
  const paths = [dir, ...(await readdir(dir, { recursive: true })).map((entry) => join(dir, entry))];
  for (const path of paths) await chown(path, account.uid, account.gid);
  await chmod(dir, 0o700);
  return 'mosquitto';
}

function lookUpAccount(name: string): { uid: number; gid: number } | undefined {
  try {
    const [, , uid, gid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
  } catch {
    return undefined;
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

class BrokerProcess {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #exited: Promise<void>;
  #exitCode: number | null | undefined;
  readonly #killOnExit = () => this.#child.kill('SIGKILL');

  constructor(binary: string, configFile: string) {
    this.#child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      this.#lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (this.#lines.length > 400) this.#lines.splice(0, this.#lines.length - 400);
    };
    this.#child.stdout!.on('data', collect);
    this.#child.stderr!.on('data', collect);
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code) => {
        this.#exitCode = code;
        process.off('exit', this.#killOnExit);
        resolve();
      });
      this.#child.once('error', (error) => {
        this.#lines.push(String(error));
        this.#exitCode = -1;
        resolve();
      });
    });
    // a test runner that dies must not leave brokers behind
    process.once('exit', this.#killOnExit);
  }

  logs(): string {
    return this.#lines.join('\n');
  }

  /** Resolves when Mosquitto reports that all listeners are open. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#lines.some((line) => / running$/.test(line))) return;
      if (this.#exitCode !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new MosquittoError(
      'MOSQUITTO_START_FAILED',
      this.#exitCode !== undefined ? `Mosquitto exited (code ${this.#exitCode}) before it was ready.` : `Mosquitto was not ready within ${timeoutMs} ms.`,
      { details: this.logs() || '(no log output)' },
    );
  }

  async kill(): Promise<void> {
    if (this.#exitCode === undefined) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
  }

  async stop(): Promise<void> {
    if (this.#exitCode === undefined) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}
