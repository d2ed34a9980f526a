/**
 * One signature per wallet at a time, in this process: the daily limit is read, then spent, with
 * nothing in between. Immediate signatures and held requests finished after approval share it.
 */
import type { PolicyRequest } from './policy/types.js';
import { DAILY_LIMIT_WINDOW_MS } from './policy/types.js';
import type { CosignerStore } from './store/types.js';

const walletQueues = new Map<string, Promise<unknown>>();

export function oneAtATime<T>(walletId: string, work: () => Promise<T>): Promise<T> {
  const previous = walletQueues.get(walletId) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.catch(() => undefined);
  walletQueues.set(walletId, settled);
  void settled.then(() => {
    if (walletQueues.get(walletId) === settled) walletQueues.delete(walletId);
  });
  return run;
}

/**
 * What the daily limit counts as spent on the request's chain: signed in the last 24 hours, plus
 * transactions held for approval that may still be signed (but not `except.requestId`, the one
 * being finished), so several held requests can never add up past the limit. A transaction signed
 * before (`except.digest`, a retry) is left out: it is counted once, as this request.
 */
export async function spentToday(store: CosignerStore, walletId: string, request: PolicyRequest, now: number, except: { requestId?: string; digest?: string } = {}): Promise<bigint> {
  if (request.kind !== 'transaction') return 0n;
  const signed = await store.spentSince(walletId, request.chainId, now - DAILY_LIMIT_WINDOW_MS, except.digest);
  return signed + (await store.heldValue(walletId, request.chainId, except.requestId));
}
