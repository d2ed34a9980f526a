/**
 * Worker process for presignature-race.test.ts: opens its own store on the same database (a
 * SQLite file or a PostgreSQL URL), says it is ready, waits for the start message, then tries to
 * consume the given presignatures, each with a signing record (spend against a daily limit) when
 * `spend` is given.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from './database.js';
import { StoreError } from './errors.js';
import { masterKeyFromBytes } from './master-key.js';
import { openPostgresStore } from './postgres/pg-store.js';
import type { CosignerStore } from './types.js';

export interface RaceInput {
  location: string;
  masterKeyHex: string;
  walletId: string;
  presignatureIds: string[];
  spend?: { chainId: number; valueWei: string; limitWei: string; sinceMs: number };
}

export interface RaceResult {
  wins: { id: string; state: string }[];
  /** Refused: taken by someone else (PRESIGNATURE_UNAVAILABLE), or over the limit (SPEND_LIMIT_EXCEEDED). */
  refusals: { id: string; code: string }[];
  failures: string[];
  startedAt: number;
  endedAt: number;
}

export async function race(store: CosignerStore, input: Omit<RaceInput, 'location' | 'masterKeyHex'>): Promise<RaceResult> {
  const result: RaceResult = { wins: [], refusals: [], failures: [], startedAt: Date.now(), endedAt: 0 };
  const spend = input.spend;
  for (const id of input.presignatureIds) {
    try {
      const signing = spend && { spend: { chainId: spend.chainId, valueWei: BigInt(spend.valueWei), limit: { limitWei: BigInt(spend.limitWei), sinceMs: spend.sinceMs } } };
      result.wins.push({ id, state: await store.consumePresignature(input.walletId, id, signing) });
    } catch (error) {
      if (error instanceof StoreError && (error.code === 'PRESIGNATURE_UNAVAILABLE' || error.code === 'SPEND_LIMIT_EXCEEDED')) result.refusals.push({ id, code: error.code });
      else result.failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }
  result.endedAt = Date.now();
  return result;
}

async function main(): Promise<void> {
  const input = await new Promise<RaceInput>((resolve) => process.once('message', (message) => resolve(message as RaceInput)));
  const masterKey = masterKeyFromBytes(Buffer.from(input.masterKeyHex, 'hex'), 'env');
  const store: CosignerStore = /^postgres(ql)?:\/\//.test(input.location) ? await openPostgresStore({ url: input.location, masterKey }) : openSqliteStore({ path: input.location, masterKey });
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send!({ ready: true });
  await go;
  const result = await race(store, input);
  await store.close();
  process.send!(result, () => process.disconnect());
}

// Only when forked as the worker, not when the test imports race() from here.
if (process.send && process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) void main().catch((error: unknown) => {
  process.stderr.write(`race worker: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
