import { describe, expect, it } from 'vitest';
import { bundleStatus, CALLS_STATUS, type CallProgress } from './status.js';

const sent = (receipt?: 'success' | 'reverted'): CallProgress => ({ state: 'sent', ...(receipt ? { receipt } : {}) });

describe('EIP-5792 status of a sequential bundle', () => {
  it('is 100 while any call is queued, signing, signed, not yet mined, or held for approvers', () => {
    expect(bundleStatus([sent('success'), { state: 'queued' }])).toBe(CALLS_STATUS.pending);
    expect(bundleStatus([{ state: 'signing' }, { state: 'queued' }])).toBe(100);
    expect(bundleStatus([{ state: 'signed' }])).toBe(100);
    expect(bundleStatus([sent('success'), sent()])).toBe(100);
    expect(bundleStatus([sent('success'), { state: 'held', held: 'waiting' }, { state: 'skipped' }])).toBe(100);
    // A held call whose fate is unknown (locked, co-signer away) is still pending, not a failure.
    expect(bundleStatus([{ state: 'held' }, { state: 'skipped' }])).toBe(100);
  });

  it('is 200 when every call landed and succeeded', () => {
    expect(bundleStatus([sent('success'), sent('success')])).toBe(CALLS_STATUS.confirmed);
  });

  it('is 400 when nothing landed', () => {
    expect(bundleStatus([{ state: 'failed' }, { state: 'skipped' }])).toBe(CALLS_STATUS.offchainFailure);
    expect(bundleStatus([{ state: 'held', held: 'gone' }, { state: 'skipped' }])).toBe(400);
    expect(bundleStatus([])).toBe(400);
  });

  it('is 500 when all that landed reverted', () => {
    expect(bundleStatus([sent('reverted'), sent('reverted')])).toBe(CALLS_STATUS.reverted);
    expect(bundleStatus([sent('reverted'), { state: 'failed' }, { state: 'skipped' }])).toBe(500);
  });

  it('is 600 when some changes landed and not all', () => {
    expect(bundleStatus([sent('success'), sent('reverted')])).toBe(CALLS_STATUS.partiallyReverted);
    expect(bundleStatus([sent('success'), { state: 'failed' }, { state: 'skipped' }])).toBe(600);
    expect(bundleStatus([sent('success'), { state: 'held', held: 'gone' }, { state: 'skipped' }])).toBe(600);
  });
});
