/**
 * The EIP-5792 status of a bundle Tandem runs as sequential transactions (no atomicity), from the
 * state of each call and, for the ones sent, their receipts. Pure: the chain is read by the caller.
 */
import type { BundleCallState } from '../api.js';

export const CALLS_STATUS = { pending: 100, confirmed: 200, offchainFailure: 400, reverted: 500, partiallyReverted: 600 } as const;

export interface CallProgress {
  state: BundleCallState;
  /** For a sent call: its receipt's outcome, or undefined while it is not mined. */
  receipt?: 'success' | 'reverted';
  /** For a held call: whether the co-signer still may sign it ('waiting'), or it will never be sent ('gone'). */
  held?: 'waiting' | 'gone';
}

/**
 * 100 while anything may still land (a call being signed or sent, one not mined, one held for approvers);
 * then 200 when every call landed and succeeded, 400 when none landed, 500 when all that landed
 * reverted (only gas was spent), 600 otherwise (some changes landed, not all).
 */
export function bundleStatus(calls: readonly CallProgress[]): number {
  if (calls.length === 0) return CALLS_STATUS.offchainFailure;
  for (const call of calls) {
    if (call.state === 'queued' || call.state === 'signing' || call.state === 'signed') return CALLS_STATUS.pending;
    if (call.state === 'sent' && call.receipt === undefined) return CALLS_STATUS.pending;
    if (call.state === 'held' && call.held !== 'gone') return CALLS_STATUS.pending;
  }
  const landed = calls.filter((call) => call.receipt !== undefined);
  const succeeded = landed.filter((call) => call.receipt === 'success');
  if (landed.length === 0) return CALLS_STATUS.offchainFailure;
  if (succeeded.length === calls.length) return CALLS_STATUS.confirmed;
  if (succeeded.length === 0) return CALLS_STATUS.reverted;
  return CALLS_STATUS.partiallyReverted;
}

export const isFinalStatus = (status: number) => status !== CALLS_STATUS.pending;
