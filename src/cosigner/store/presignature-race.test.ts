import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PresignatureUnavailableError } from './errors.js';
import type { MasterKey } from './master-key.js';
import { race, type RaceInput, type RaceResult } from './race-worker.js';
import { GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, storeBackends, thrown, WALLET_ADDRESS, type BackendDatabase } from './test-helpers.js';
import type { CosignerStore } from './types.js';

let db: BackendDatabase;
let masterKey: MasterKey;
let store: CosignerStore;
let walletId: string;

/** A worker in a separate Node process (tsx loads the TypeScript), on its own connection. */
function startWorker(input: RaceInput): { ready: Promise<void>; go: () => void; finished: Promise<RaceResult> } {
  const child: ChildProcess = fork(fileURLToPath(new URL('./race-worker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const finished = new Promise<RaceResult>((resolve, reject) => {
    child.on('message', (message: RaceResult | { ready: true }) => ('wins' in message ? resolve(message) : onReady()));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`race worker exited with ${code}`)));
  });
  child.send(input);
  return { ready, go: () => child.send('go'), finished };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Two worker processes and this one, each on its own connection, take the same ids in different orders. */
async function raceThree(ids: string[], spend?: RaceInput['spend']): Promise<RaceResult[]> {
  const masterKeyHex = Buffer.from(masterKey.bytes).toString('hex');
  const workers = [ids, [...ids].reverse()].map((order) => startWorker({ location: db.location, masterKeyHex, walletId, presignatureIds: order, ...(spend ? { spend } : {}) }));
  await Promise.all(workers.map((worker) => worker.ready));
  const mine = await db.open({ masterKey });
  try {
    for (const worker of workers) worker.go();
    const local = race(mine, { walletId, presignatureIds: shuffled(ids), ...(spend ? { spend } : {}) });
    return await Promise.all([local, ...workers.map((worker) => worker.finished)]);
  } finally {
    await mine.close();
  }
}

describe.each(storeBackends())('$name', (backend) => {
  beforeEach(async () => {
    db = await backend.create();
    masterKey = newMasterKey();
    store = await db.open({ masterKey });
    walletId = newId();
    await store.enroll({ walletId, deviceId: newId(), identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2] });
    await store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: 'share', generation: 0 });
  });
  afterEach(async () => {
    await store.close();
    await db.remove();
  });

  describe('presignature consumption across connections', () => {
    it('lets only the first of two connections to the same database consume a presignature', async () => {
      const other = await db.open({ masterKey });
      try {
        await store.putPresignature({ walletId, presignatureId: 'p', state: 'the-state' });
        expect(await other.consumePresignature(walletId, 'p')).toBe('the-state');
        expect(await thrown(() => store.consumePresignature(walletId, 'p'))).toBeInstanceOf(PresignatureUnavailableError);
        expect(await thrown(() => other.consumePresignature(walletId, 'p'))).toBeInstanceOf(PresignatureUnavailableError);
      } finally {
        await other.close();
      }
    });

    it('hands each presignature to exactly one of three processes racing on their own connections', async () => {
      const ids = Array.from({ length: 300 }, (_, i) => `race-${i}`);
      const states = new Map(ids.map((id) => [id, `state-${id}-${randomBytes(4).toString('hex')}`]));
      for (const id of ids) await store.putPresignature({ walletId, presignatureId: id, state: states.get(id)! });
      const results = await raceThree(ids);

      expect(results.flatMap((r) => r.failures)).toEqual([]);
      const wins = results.flatMap((r) => r.wins);
      // Every presignature was won exactly once, with its own state, and every other attempt was refused.
      expect(wins.map((w) => w.id).sort()).toEqual([...ids].sort());
      for (const win of wins) expect(win.state).toBe(states.get(win.id));
      expect(results.reduce((n, r) => n + r.refusals.length, 0)).toBe(ids.length * (results.length - 1));
      // The race was real: all racers were consuming at the same time.
      expect(Math.max(...results.map((r) => r.startedAt))).toBeLessThan(Math.min(...results.map((r) => r.endedAt)));
      expect(await store.countReadyPresignatures(walletId)).toBe(0);
    });

    it('cannot overspend the daily limit from three processes signing at once', async () => {
      // Each presignature is taken by one racer only; each signing sends 3 wei against a limit of 100:
      // at most 33 may go through, however the racers interleave.
      const ids = Array.from({ length: 60 }, (_, i) => `spend-${i}`);
      for (const id of ids) await store.putPresignature({ walletId, presignatureId: id, state: `state-${id}` });
      await store.recordSpend({ walletId, chainId: 1, valueWei: 1n, at: 1 }); // outside the window
      const results = await raceThree(ids, { chainId: 1, valueWei: '3', limitWei: '100', sinceMs: 1000 });

      expect(results.flatMap((r) => r.failures)).toEqual([]);
      const wins = results.flatMap((r) => r.wins);
      expect(wins).toHaveLength(33);
      expect(await store.spentSince(walletId, 1, 1000)).toBe(99n);
      expect(results.flatMap((r) => r.refusals).filter((refusal) => refusal.code === 'SPEND_LIMIT_EXCEEDED').length).toBeGreaterThan(0);
      // A refused signing took nothing: the presignatures not won are still there.
      expect(await store.countReadyPresignatures(walletId)).toBe(ids.length - 33);
      expect(Math.max(...results.map((r) => r.startedAt))).toBeLessThan(Math.min(...results.map((r) => r.endedAt)));
      expect((await store.audit.verify()).ok).toBe(true);
    });
  });
});
