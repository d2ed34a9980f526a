import { describe, expect, it } from 'vitest';
import { PendingRequests } from './pending-requests.js';

const request = (id: string) => ({ kind: 'rpc' as const, id, method: 'eth_chainId' });

describe('PendingRequests', () => {
  it('refuses a second request under an id that is already waiting', () => {
    const pending = new PendingRequests();
    expect(pending.add(request('a'))).toBe(true);
    expect(pending.add(request('a'))).toBe(false);
    expect(pending.size).toBe(1);
  });

  it('settles an id once and reports ids that were not waiting', () => {
    const pending = new PendingRequests();
    pending.add(request('a'));
    expect(pending.settle('a')).toBe(true);
    expect(pending.settle('a')).toBe(false);
    expect(pending.has('a')).toBe(false);
  });

  it('plans a reconnect: resume what was delivered, send again what never left', () => {
    const pending = new PendingRequests();
    pending.add(request('a'));
    pending.add(request('b'));
    pending.add(request('c'));
    pending.markDelivered('a');
    pending.markDelivered('c');
    expect(pending.replayPlan()).toEqual({ resume: ['a', 'c'], resend: [request('b')] });
  });

  it('drains every id in arrival order and is empty afterwards', () => {
    const pending = new PendingRequests();
    pending.add(request('a'));
    pending.add(request('b'));
    expect(pending.drain()).toEqual(['a', 'b']);
    expect(pending.size).toBe(0);
    expect(pending.replayPlan()).toEqual({ resume: [], resend: [] });
  });
});
