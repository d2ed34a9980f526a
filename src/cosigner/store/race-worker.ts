/**
 * Worker for presignature-race.test.ts: opens its own connection to the same database file,
 * says it is ready, waits for the start signal, then tries to consume the given presignatures.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from './database.js';
import { StoreError } from './errors.js';
import { masterKeyFromBytes } from './master-key.js';

interface RaceInput {
  path: string;
  masterKeyHex: string;
  walletId: string;
  presignatureIds: string[];
  /** Int32 [go, started]: the test sets go to 1 once every racer is ready; each worker bumps started as it begins. */
  startSignal: SharedArrayBuffer;
}

const input = workerData as RaceInput;
const store = openSqliteStore({ path: input.path, masterKey: masterKeyFromBytes(Buffer.from(input.masterKeyHex, 'hex'), 'env') });
const go = new Int32Array(input.startSignal);
parentPort!.postMessage({ ready: true });
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 50);
Atomics.add(go, 1, 1);
Atomics.notify(go, 1);

const startedAt = Date.now();
const wins: { id: string; state: string }[] = [];
const refusals: string[] = [];
const failures: string[] = [];
for (const id of input.presignatureIds) {
  try {
    wins.push({ id, state: store.consumePresignature(input.walletId, id) });
  } catch (error) {
    if (error instanceof StoreError && error.code === 'PRESIGNATURE_UNAVAILABLE') refusals.push(id);
    else failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  }
}
const endedAt = Date.now();
store.close();
parentPort!.postMessage({ wins, refusals, failures, startedAt, endedAt });
