import { describe, expect, it } from 'vitest';
import type { RequestView } from '../../channel/approval-protocol.js';
import { mergeUpdate, type HeldList } from './held-list.js';

function request(requestId: string, state: RequestView['state'], updatedAt: number): RequestView {
  return {
    requestId,
    walletId: 'w',
    address: null,
    deviceId: 'd',
    state,
    createdAt: 1,
    expiresAt: 2,
    updatedAt,
    payloadJson: '{}',
    digest: '0x00',
    payloadHash: '0x00',
    decoded: { kind: 'message', text: 'hi', bytes: 2 },
    quorums: [],
    decisions: [],
  };
}

const pending = (view: RequestView) => view.state === 'pending-approval';

describe('a held list kept current by mail', () => {
  it('adds a new request first and counts it when it waits', () => {
    const list: HeldList = { requests: [request('a', 'broadcast', 5)], pendingForYou: 0, listedAt: 1 };
    const next = mergeUpdate(list, request('b', 'pending-approval', 6), pending);
    expect(next.requests.map((view) => view.requestId)).toEqual(['b', 'a']);
    expect(next.pendingForYou).toBe(1);
  });

  it('replaces a known request in place and uncounts it once decided', () => {
    const list: HeldList = { requests: [request('b', 'pending-approval', 6), request('a', 'broadcast', 5)], pendingForYou: 1, listedAt: 1 };
    const next = mergeUpdate(list, request('b', 'signed', 7), pending);
    expect(next.requests.map((view) => [view.requestId, view.state])).toEqual([
      ['b', 'signed'],
      ['a', 'broadcast'],
    ]);
    expect(next.pendingForYou).toBe(0);
  });

  it('ignores an update older than what it knows (mail out of order)', () => {
    const list: HeldList = { requests: [request('b', 'broadcast', 9)], pendingForYou: 0, listedAt: 1 };
    expect(mergeUpdate(list, request('b', 'signed', 8), pending)).toBe(list);
  });

  it('never counts below zero', () => {
    const list: HeldList = { requests: [request('c', 'pending-approval', 2)], pendingForYou: 0, listedAt: 1 };
    expect(mergeUpdate(list, request('c', 'rejected', 3), pending).pendingForYou).toBe(0);
  });
});
