import { describe, expect, it } from 'vitest';
import type { HeldDetails } from '../../background/api.js';
import { decisionText, heldStateLabel, heldSummary, quorumText } from './held-format.js';

describe('held request words', () => {
  it('names every state', () => {
    expect(heldStateLabel('pending-approval')).toBe('Waiting for approvers');
    expect(heldStateLabel('broadcast')).toBe('Sent');
  });

  it('says who must agree and who decided', () => {
    expect(quorumText({ rule: 'large', quorum: 1, approvers: [{ approverId: 'a', name: 'alice' }] })).toBe('1 of alice (rule large)');
    expect(decisionText({ approverId: 'a', name: 'alice', verdict: 'reject', decidedAt: 1 })).toBe('alice rejected');
  });

  it('sums a transaction up in one line', () => {
    const details: HeldDetails = {
      kind: 'transaction',
      from: '0x0000000000000000000000000000000000000001',
      chain: { id: 31337, name: 'Hardhat', symbol: 'ETH' },
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      toIsContract: false,
      value: '2000000000000000000',
      valueFormatted: '2 ETH',
      data: '0x',
      nonce: 0,
      gas: '21000',
      maxFeePerGas: '1',
      maxPriorityFeePerGas: '1',
      maxFeeFormatted: '0.000000000000021 ETH',
    };
    expect(heldSummary(details)).toBe('2 ETH to 0x7099…79C8 on Hardhat');
    expect(heldSummary(undefined)).toMatch(/does not match/);
  });
});
