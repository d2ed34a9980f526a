import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { startPostgresServer, type PostgresServer } from '../testing/postgres-server.js';
import { databasePath, openSqliteStore } from './database.js';
import { masterKeyFromBytes, type MasterKey } from './master-key.js';
import { openPostgresStore } from './postgres/pg-store.js';
import { createPool, numbered } from './postgres/pg-sql.js';
import type { CosignerStore } from './types.js';

/** Shared by this folder's tests only. */

export const newId = (): string => randomBytes(16).toString('hex');

/** Format-valid compressed key; the store checks the format, enrollment checks possession. */
export const newIdentityKey = (): string => `02${randomBytes(32).toString('hex')}`;

export const newMasterKey = (): MasterKey => masterKeyFromBytes(randomBytes(32), 'env');

export const GROUP_PUBLIC_KEY = `0x03${'11'.repeat(32)}`;
export const WALLET_ADDRESS = '0x52908400098527886e0f7030069857d2e4169ee7';

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'tandem-store-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A fake clock tests can move. */
export function clock(start = Date.UTC(2026, 10, 1, 12, 0, 0)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms), set: (ms) => void (time = ms) };
}

/** A 2-of-3 wallet with its key (a placeholder share of generation 0) and its one active device. */
export async function enrollActiveWallet(store: CosignerStore, parties: readonly number[] = [1, 2, 3]): Promise<{ walletId: string; deviceId: string }> {
  const walletId = newId();
  const deviceId = newId();
  await store.enroll({ walletId, deviceId, identityPublicKey: newIdentityKey(), threshold: 2, parties });
  await store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: `share-g0-${walletId}`, generation: 0 });
  return { walletId, deviceId };
}

/** A device enrolled beside the wallet's own, to restore it. */
export async function enrollRestoringDevice(store: CosignerStore, walletId: string) {
  return store.createRestoringDevice({ deviceId: newId(), identityPublicKey: newIdentityKey(), walletId });
}

/** What a call threw (synchronously, as SQLite does, or as a rejection); fails when it did not. */
export async function thrown(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** For `await expect(attempt(() => store.x())).rejects.toThrow(...)`, whether the store throws or rejects. */
export function attempt(run: () => unknown): Promise<unknown> {
  return Promise.resolve().then(run);
}

// ---- the two backends every store test runs on

export type BackendName = 'sqlite' | 'postgres';

/** One test's database, empty when created. */
export interface BackendDatabase {
  /** A file path (SQLite) or a postgres:// URL: what another process opens. */
  location: string;
  /** A store on this database; again after a close, with the same data. */
  open(options: { masterKey: MasterKey; now?: () => number }): Promise<CosignerStore>;
  /** SQL beside the store, with `?` placeholders: what someone with access to the database could do. */
  raw<T = Record<string, unknown>>(sql: string, ...params: (string | number | null | Uint8Array)[]): Promise<T[]>;
  remove(): Promise<void>;
}

export interface StoreBackend {
  name: BackendName;
  create(): Promise<BackendDatabase>;
}

const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  async create() {
    const dir = tempDir();
    const path = databasePath(dir.path);
    return {
      location: path,
      open: async ({ masterKey, now }) => openSqliteStore({ path, masterKey, ...(now ? { now } : {}) }),
      async raw<T>(sql: string, ...params: (string | number | null | Uint8Array)[]) {
        const db = new Database(path);
        try {
          const statement = db.prepare(sql);
          return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
        } finally {
          db.close();
        }
      },
      remove: async () => dir.remove(),
    };
  },
};

/**
 * Both backends. The PostgreSQL server starts on first use, once per test file (stopped after it);
 * each test gets a database of its own. Without PostgreSQL installed its tests fail, saying so.
 */
export function storeBackends(): StoreBackend[] {
  let server: Promise<PostgresServer> | undefined;
  afterAll(async () => {
    if (server) await (await server.catch(() => undefined))?.stop();
  });
  const postgresBackend: StoreBackend = {
    name: 'postgres',
    async create() {
      server ??= startPostgresServer();
      const url = await (await server).createDatabase('store_test');
      const rawPool = createPool(url, { max: 2 });
      return {
        location: url,
        open: ({ masterKey, now }) => openPostgresStore({ url, masterKey, ...(now ? { now } : {}) }),
        async raw<T>(sql: string, ...params: (string | number | null | Uint8Array)[]) {
          return (await rawPool.query(numbered(sql), params)).rows as T[];
        },
        remove: () => rawPool.end(),
      };
    },
  };
  return [sqliteBackend, postgresBackend];
}
