import { describe, expect, it } from 'vitest';
import { FINAL_STATES, REQUEST_STATES, type RequestState } from '../../channel/approval-protocol.js';
import { DecisionRefusedError } from '../store/errors.js';
import { assertMove, canMove } from './state.js';

const ALLOWED: [RequestState, RequestState][] = [
  ['pending-approval', 'approved'],
  ['pending-approval', 'rejected'],
  ['pending-approval', 'expired'],
  ['pending-approval', 'failed'],
  ['approved', 'signed'],
  ['approved', 'failed'],
  ['signed', 'broadcast'],
  ['signed', 'failed'],
];

const isAllowed = (from: RequestState, to: RequestState) => ALLOWED.some(([f, t]) => f === from && t === to);

describe('request state moves', () => {
  it.each(ALLOWED)('allows %s -> %s', (from, to) => {
    expect(canMove(from, to)).toBe(true);
    expect(() => assertMove('0'.repeat(32), from, to)).not.toThrow();
  });

  it.each<[RequestState, RequestState]>([
    ['pending-approval', 'pending-approval'],
    ['pending-approval', 'signed'],
    ['pending-approval', 'broadcast'],
    ['approved', 'approved'],
    ['approved', 'pending-approval'],
    ['approved', 'rejected'],
    ['approved', 'expired'],
    ['approved', 'broadcast'],
    ['signed', 'approved'],
    ['signed', 'signed'],
    ['signed', 'expired'],
  ])('refuses %s -> %s', (from, to) => {
    expect(canMove(from, to)).toBe(false);
  });

  it.each([...FINAL_STATES])('final state %s goes nowhere, not even to itself', (from) => {
    for (const to of REQUEST_STATES) expect(canMove(from, to), `${from} -> ${to}`).toBe(false);
  });

  it('the final states are rejected, expired, broadcast and failed', () => {
    expect([...FINAL_STATES].sort()).toEqual(['broadcast', 'expired', 'failed', 'rejected']);
  });

  it('allows exactly the moves of the life cycle, no others', () => {
    for (const from of REQUEST_STATES) {
      for (const to of REQUEST_STATES) expect(canMove(from, to), `${from} -> ${to}`).toBe(isAllowed(from, to));
    }
  });

  it('assertMove throws DecisionRefusedError NOT_PENDING naming the request and both states', () => {
    const requestId = '0123456789abcdef0123456789abcdef';
    for (const [from, to] of [['rejected', 'approved'], ['expired', 'approved'], ['approved', 'rejected'], ['broadcast', 'failed']] as [RequestState, RequestState][]) {
      let caught: unknown;
      try {
        assertMove(requestId, from, to);
      } catch (error) {
        caught = error;
      }
      expect(caught, `${from} -> ${to}`).toBeInstanceOf(DecisionRefusedError);
      expect((caught as DecisionRefusedError).code).toBe('NOT_PENDING');
      expect((caught as DecisionRefusedError).shortMessage).toContain(requestId);
      expect((caught as DecisionRefusedError).shortMessage).toContain(from);
      expect((caught as DecisionRefusedError).shortMessage).toContain(to);
    }
  });
});
