import { randomBytes, randomInt } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePath, openSqliteStore, type SqliteCosignerStore } from './database.js';
import { PresignatureUnavailableError } from './errors.js';
import { GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, tempDir, WALLET_ADDRESS } from './test-helpers.js';
import type { MasterKey } from './master-key.js';

interface RaceResult {
  wins: { id: string; state: string }[];
  refusals: string[];
  failures: string[];
  startedAt: number;
  endedAt: number;
}

let dir: ReturnType<typeof tempDir>;
let masterKey: MasterKey;
let store: SqliteCosignerStore;
let walletId: string;

beforeEach(() => {
  dir = tempDir();
  masterKey = newMasterKey();
  store = openSqliteStore({ path: databasePath(dir.path), masterKey });
  walletId = newId();
  store.enroll({ walletId, deviceId: newId(), identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] });
  store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: 'share', generation: 0 });
});
afterEach(() => {
  store.close();
  dir.remove();
});

/**
 * Worker threads do not inherit vitest's TypeScript loader: the worker registers tsx (resolved from
 * the project root, where vitest runs), then loads the .ts worker.
 */
function startWorker(workerData: unknown): Worker {
  const target = new URL('./race-worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(target)}); })`;
  return new Worker(code, { eval: true, workerData });
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

describe('presignature consumption across connections', () => {
  it('lets only the first of two connections to the same file consume a presignature', () => {
    const other = openSqliteStore({ path: databasePath(dir.path), masterKey });
    try {
      store.putPresignature({ walletId, presignatureId: 'p', state: 'the-state' });
      expect(other.consumePresignature(walletId, 'p')).toBe('the-state');
      expect(() => store.consumePresignature(walletId, 'p')).toThrow(PresignatureUnavailableError);
      expect(() => other.consumePresignature(walletId, 'p')).toThrow(PresignatureUnavailableError);
    } finally {
      other.close();
    }
  });

  it('hands each presignature to exactly one of several threads racing on their own connections', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `race-${i}`);
    const states = new Map(ids.map((id) => [id, `state-${id}-${randomBytes(4).toString('hex')}`]));
    for (const id of ids) store.putPresignature({ walletId, presignatureId: id, state: states.get(id)! });

    // Two worker threads and this thread, each on its own connection, take the same ids in
    // different orders (forward, backward, shuffled), so they collide all along.
    const startSignal = new SharedArrayBuffer(8);
    const go = new Int32Array(startSignal);
    const path = databasePath(dir.path);
    const masterKeyHex = Buffer.from(masterKey.bytes).toString('hex');
    const workers = [ids, [...ids].reverse()].map((order) => startWorker({ path, masterKeyHex, walletId, presignatureIds: order, startSignal }));
    const ready = workers.map((worker) => new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    }));
    const finished = workers.map((worker) => new Promise<RaceResult>((resolve, reject) => {
      worker.on('message', (message: RaceResult | { ready: true }) => 'wins' in message && resolve(message));
      worker.once('error', reject);
      worker.once('exit', (code) => code !== 0 && reject(new Error(`race worker exited with ${code}`)));
    }));
    await Promise.all(ready);

    const mine = openSqliteStore({ path, masterKey });
    const local: RaceResult = { wins: [], refusals: [], failures: [], startedAt: 0, endedAt: 0 };
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    // Start once both workers are running, so a slow thread wake-up cannot turn the race into a relay.
    for (let started = Atomics.load(go, 1); started < workers.length; started = Atomics.load(go, 1)) Atomics.wait(go, 1, started, 50);
    local.startedAt = Date.now();
    for (const id of shuffled(ids)) {
      try {
        local.wins.push({ id, state: mine.consumePresignature(walletId, id) });
      } catch (error) {
        if (error instanceof PresignatureUnavailableError) local.refusals.push(id);
        else local.failures.push(String(error));
      }
    }
    local.endedAt = Date.now();
    mine.close();
    const results = [local, ...(await Promise.all(finished))];

    expect(results.flatMap((r) => r.failures)).toEqual([]);
    const wins = results.flatMap((r) => r.wins);
    // Every presignature was won exactly once, with its own state, and every other attempt was refused.
    expect(wins.map((w) => w.id).sort()).toEqual([...ids].sort());
    for (const win of wins) expect(win.state).toBe(states.get(win.id));
    expect(results.reduce((n, r) => n + r.refusals.length, 0)).toBe(ids.length * (results.length - 1));
    // The race was real: all racers were consuming at the same time.
    expect(Math.max(...results.map((r) => r.startedAt))).toBeLessThan(Math.min(...results.map((r) => r.endedAt)));
    expect(store.countReadyPresignatures(walletId)).toBe(0);
  });
});
