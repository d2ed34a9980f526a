/**
 * A throwaway PostgreSQL server for tests: Debian's binaries (/usr/lib/postgresql/<v>/bin), a
 * temporary directory, `initdb` and `pg_ctl start` on a free 127.0.0.1 port with its unix socket
 * inside that directory; `stop()` ends it and removes the directory. Trust authentication on
 * loopback only, fsync off: nothing here is meant to outlive the test.
 *
 * initdb and postgres refuse to run as root: as root they run as the `postgres` account (created
 * by the Debian package) through runuser, and the directory is handed to that account.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../client/testing/free-port.js';

const run = promisify(execFile);
const SUPERUSER = 'postgres';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:port/postgres */
  url: string;
  port: number;
  dir: string;
  /** Creates a fresh, empty database and answers its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** The server's log, for failure messages. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** The directory holding initdb and pg_ctl (newest version first), or a test failure that says how to install them. */
export function findPostgresBinaries(): string {
  const explicit = process.env.POSTGRES_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const candidates = explicit
    ? [explicit]
    : existsSync(root)
      ? readdirSync(root).sort((a, b) => Number(b) - Number(a)).map((version) => join(root, version, 'bin'))
      : [];
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  if (!found) {
    throw new Error(
      `PostgreSQL is not installed, and the PostgreSQL store tests need a real server: no initdb and pg_ctl in ${explicit ?? `${root}/*/bin`}. ` +
        'Install it (Debian/Ubuntu: apt-get install -y postgresql) or set POSTGRES_BIN_DIR to the folder holding initdb and pg_ctl.',
    );
  }
  return found;
}

export async function startPostgresServer(options: { startTimeoutMs?: number } = {}): Promise<PostgresServer> {
  const bin = findPostgresBinaries();
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'tandem-postgres-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  // As root, hand everything to the postgres account, which the Debian package creates.
  const exec = async (binary: string, args: string[]) => {
    const command = asRoot ? ['runuser', ['-u', SUPERUSER, '--', join(bin, binary), ...args]] as const : [join(bin, binary), args] as const;
    try {
      return await run(command[0], [...command[1]], { timeout: options.startTimeoutMs ?? 60_000 });
    } catch (error) {
      const detail = error as { stderr?: string; stdout?: string };
      throw new Error(`${binary} failed: ${(detail.stderr || detail.stdout || String(error)).trim()}`, { cause: error });
    }
  };
  try {
    if (asRoot) {
      const { uid, gid } = await accountIds(SUPERUSER);
      await chown(dir, uid, gid);
    }
    await exec('initdb', ['-D', data, '-U', SUPERUSER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=60`;
      try {
        await exec('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        // Another process took the port between the probe and the bind: try another one.
        if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
        throw error;
      }
      const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
      let stopping: Promise<void> | undefined;
      return {
        url,
        port,
        dir,
        async createDatabase(prefix = 'tandem') {
          const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(6).toString('hex')}`;
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            // An identifier cannot be a parameter: the name is built from [a-z0-9_] only.
            await client.query(`CREATE DATABASE ${name}`);
          } finally {
            await client.end();
          }
          return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`;
        },
        logs: () => readFile(logFile, 'utf8').catch(() => ''),
        stop() {
          stopping ??= exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
            .catch(() => undefined)
            .then(() => rm(dir, { recursive: true, force: true }));
          return stopping;
        },
      };
    }
  } catch (error) {
    await exec('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function accountIds(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]).catch((error: unknown) => {
    throw new Error(`Running as root, the PostgreSQL test server runs as the ${name} account, which does not exist. Install PostgreSQL from the distribution's package (it creates the account).`, { cause: error });
  });
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
