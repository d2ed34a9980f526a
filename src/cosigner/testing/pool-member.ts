/**
 * One member of a co-signer pool as the operator runs it: the CLI's `start` in its own process, on a
 * shared data directory, PostgreSQL database and Mosquitto, with metrics on a free port. For tests
 * that kill members (SIGKILL) and start them again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MosquittoHarness } from '../broker/mosquitto-harness.js';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const REPO = resolve(dirname(CLI), '../..');

export interface PoolMemberOptions {
  name: string;
  dataDir: string;
  database: string;
  harness: MosquittoHarness;
  masterKeyHex: string;
  /** Where the broker PEM files are written for the CLI. */
  workDir: string;
  /** What devices are told to connect to. Default the harness's WSS URL. */
  deviceBrokerUrl?: string;
}

export interface PoolMember {
  name: string;
  child: ChildProcess;
  url: string;
  metricsUrl: string;
  output(): string;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** Signatures this member made, from its own /metrics. */
  signatures(): Promise<number>;
}

export async function startPoolMember(options: PoolMemberOptions): Promise<PoolMember> {
  const pem = (kind: string, text: string) => {
    const path = join(options.workDir, `pool-${kind}.pem`);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const { harness } = options;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TANDEM_')));
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', CLI, 'start',
      '--data-dir', options.dataDir,
      '--database', options.database,
      '--port', '0',
      '--metrics-port', '0',
      '--broker-url', harness.mtlsUrl,
      '--broker-ca', pem('ca', harness.caPem),
      '--broker-cert', pem('cert', harness.cosigner.certPem),
      '--broker-key', pem('key', harness.cosigner.keyPem),
      '--device-broker-url', options.deviceBrokerUrl ?? harness.wssUrl,
      '--device-broker-ca', pem('ca', harness.caPem),
      '--pool-member', options.name,
    ],
    { cwd: REPO, env: { ...inherited, TANDEM_MASTER_KEY: options.masterKeyHex }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out = (out + chunk.toString('utf8')).slice(-20_000)));
  child.stderr!.on('data', (chunk: Buffer) => (out = (out + chunk.toString('utf8')).slice(-20_000)));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /HTTPS API\s+(https:\/\/\S+)/.exec(out)?.[1];
    const metricsUrl = /metrics\s+(http:\/\/\S+)\/metrics/.exec(out)?.[1];
    if (url && metricsUrl) {
      return {
        name: options.name,
        child,
        url,
        metricsUrl,
        output: () => out,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        async signatures() {
          const text = await (await fetch(`${metricsUrl}/metrics`)).text();
          return [...text.matchAll(/^tandem_cosigner_signatures_total\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pool member ${options.name} did not start:\n${out}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
