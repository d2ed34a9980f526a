import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import type { ApprovalMatch, ApprovalRule, PolicyRequest, WalletPolicy } from '../policy/types.js';
import { approvalExpiry, DEFAULT_APPROVAL_MINUTES, matchingApprovalRules, tallyDecisions, type Quorum } from './quorum.js';

const ALICE = 'a'.repeat(32);
const BOB = 'b'.repeat(32);
const CAROL = 'c'.repeat(32);
const MALLORY = 'd'.repeat(32);

const LISTED = '0x52908400098527886E0F7030069857D2E4169EE7' as Address;
const UNLISTED = '0x8617E340B3D01FA5F11F306F4090FD50E238070D' as Address;
const CALLDATA = '0xa9059cbb0000000000000000000000008617e340b3d01fa5f11f306f4090fd50e238070d0000000000000000000000000000000000000000000000000000000000000001';

const transfer = (overrides: Partial<Extract<PolicyRequest, { kind: 'transaction' }>> = {}): PolicyRequest => ({ kind: 'transaction', chainId: 1, to: UNLISTED, value: 0n, ...overrides });
const typedData = (chainId?: number | bigint): PolicyRequest => ({ kind: 'typedData', domain: chainId === undefined ? {} : { chainId } });
const message: PolicyRequest = { kind: 'message' };

function rule(id: string, when: ApprovalMatch[], extra: Partial<ApprovalRule> = {}): ApprovalRule {
  return { id, when, approvers: [ALICE, BOB], quorum: 1, ...extra };
}

/** Whether a policy with this one match holds the request. */
function holds(match: ApprovalMatch, request: PolicyRequest): boolean {
  const policy: WalletPolicy = { approvals: [rule('r', [match])] };
  return matchingApprovalRules(policy, request).length === 1;
}

describe('matchingApprovalRules', () => {
  it('matches nothing without approval rules', () => {
    expect(matchingApprovalRules({}, transfer())).toEqual([]);
    expect(matchingApprovalRules({ approvals: [] }, message)).toEqual([]);
  });

  it('an empty match matches every kind of request', () => {
    for (const request of [transfer(), transfer({ to: null }), typedData(1), typedData(), message]) expect(holds({}, request)).toBe(true);
  });

  it('kind matches only requests of that kind', () => {
    expect(holds({ kind: 'transaction' }, transfer())).toBe(true);
    expect(holds({ kind: 'transaction' }, typedData(1))).toBe(false);
    expect(holds({ kind: 'transaction' }, message)).toBe(false);
    expect(holds({ kind: 'typedData' }, typedData(1))).toBe(true);
    expect(holds({ kind: 'typedData' }, transfer())).toBe(false);
    expect(holds({ kind: 'message' }, message)).toBe(true);
    expect(holds({ kind: 'message' }, typedData())).toBe(false);
  });

  it("chainIds matches a transaction's chain", () => {
    expect(holds({ chainIds: [1, 8453] }, transfer({ chainId: 8453 }))).toBe(true);
    expect(holds({ chainIds: [1, 8453] }, transfer({ chainId: 10 }))).toBe(false);
  });

  it("chainIds matches typed data by its domain's chain, as a number or a bigint", () => {
    expect(holds({ chainIds: [1] }, typedData(1))).toBe(true);
    expect(holds({ chainIds: [1] }, typedData(1n))).toBe(true);
    expect(holds({ chainIds: [1] }, typedData(137n))).toBe(false);
    expect(holds({ chainIds: [137] }, typedData(137n))).toBe(true);
  });

  it('chainIds matches typed data without a domain chain (it is valid on every chain), never a message', () => {
    expect(holds({ chainIds: [1] }, typedData())).toBe(true);
    expect(holds({ chainIds: [1] }, message)).toBe(false);
  });

  it('valueAboveWei matches transactions sending strictly more', () => {
    const match = { valueAboveWei: '1000' };
    expect(holds(match, transfer({ value: 1001n }))).toBe(true);
    expect(holds(match, transfer({ value: 1000n }))).toBe(false);
    expect(holds(match, transfer({ value: 0n }))).toBe(false);
    expect(holds({ valueAboveWei: '0' }, transfer({ value: 1n }))).toBe(true);
    expect(holds({ valueAboveWei: '0' }, transfer({ value: 0n }))).toBe(false);
    // Above any uint64: compared as bigints.
    expect(holds({ valueAboveWei: '18446744073709551616' }, transfer({ value: 18446744073709551617n }))).toBe(true);
    expect(holds({ valueAboveWei: '18446744073709551616' }, transfer({ value: 18446744073709551616n }))).toBe(false);
  });

  it('valueAboveWei never matches typed data or messages', () => {
    expect(holds({ valueAboveWei: '0' }, typedData(1))).toBe(false);
    expect(holds({ valueAboveWei: '0' }, message)).toBe(false);
  });

  it('contractNotIn matches calls to unlisted contracts, not to listed ones (any case)', () => {
    const match = { contractNotIn: [LISTED] };
    expect(holds(match, transfer({ to: UNLISTED, data: CALLDATA }))).toBe(true);
    expect(holds(match, transfer({ to: LISTED, data: CALLDATA }))).toBe(false);
    expect(holds(match, transfer({ to: LISTED.toLowerCase() as Address, data: CALLDATA }))).toBe(false);
    expect(holds({ contractNotIn: [LISTED.toLowerCase() as Address] }, transfer({ to: LISTED, data: CALLDATA }))).toBe(false);
    expect(holds({ contractNotIn: [] }, transfer({ to: LISTED, data: CALLDATA }))).toBe(true);
  });

  it('contractNotIn does not match a plain transfer without calldata', () => {
    const match = { contractNotIn: [LISTED] };
    expect(holds(match, transfer({ to: UNLISTED }))).toBe(false);
    expect(holds(match, transfer({ to: UNLISTED, data: '0x' }))).toBe(false);
    expect(holds(match, transfer({ to: UNLISTED, value: 10n ** 18n }))).toBe(false);
  });

  it('contractNotIn matches a deployment, whatever the list', () => {
    expect(holds({ contractNotIn: [LISTED] }, transfer({ to: null, data: CALLDATA }))).toBe(true);
    expect(holds({ contractNotIn: [LISTED] }, transfer({ to: undefined, data: CALLDATA }))).toBe(true);
    expect(holds({ contractNotIn: [] }, transfer({ to: null }))).toBe(true);
  });

  it('contractNotIn never matches typed data or messages', () => {
    expect(holds({ contractNotIn: [LISTED] }, typedData(1))).toBe(false);
    expect(holds({ contractNotIn: [LISTED] }, message)).toBe(false);
  });

  it('every condition of one match must hold', () => {
    const match: ApprovalMatch = { kind: 'transaction', chainIds: [1], valueAboveWei: '100', contractNotIn: [LISTED] };
    expect(holds(match, transfer({ chainId: 1, value: 101n, data: CALLDATA }))).toBe(true);
    expect(holds(match, transfer({ chainId: 2, value: 101n, data: CALLDATA }))).toBe(false);
    expect(holds(match, transfer({ chainId: 1, value: 100n, data: CALLDATA }))).toBe(false);
    expect(holds(match, transfer({ chainId: 1, value: 101n }))).toBe(false);
    expect(holds(match, transfer({ chainId: 1, value: 101n, to: LISTED, data: CALLDATA }))).toBe(false);
  });

  it('`when` is any-of: one matching entry is enough', () => {
    const when: ApprovalMatch[] = [{ kind: 'message' }, { valueAboveWei: '1000' }];
    const policy: WalletPolicy = { approvals: [rule('any', when)] };
    expect(matchingApprovalRules(policy, message)).toHaveLength(1);
    expect(matchingApprovalRules(policy, transfer({ value: 1001n }))).toHaveLength(1);
    expect(matchingApprovalRules(policy, transfer({ value: 1000n }))).toHaveLength(0);
    expect(matchingApprovalRules(policy, typedData(1))).toHaveLength(0);
  });

  it('returns every matching rule, in policy order, and only those', () => {
    const big = rule('big', [{ valueAboveWei: '1000' }]);
    const mainnet = rule('mainnet', [{ chainIds: [1] }]);
    const messages = rule('messages', [{ kind: 'message' }]);
    const policy: WalletPolicy = { approvals: [big, mainnet, messages] };
    expect(matchingApprovalRules(policy, transfer({ chainId: 1, value: 5000n })).map((r) => r.id)).toEqual(['big', 'mainnet']);
    expect(matchingApprovalRules(policy, transfer({ chainId: 10, value: 5000n })).map((r) => r.id)).toEqual(['big']);
    expect(matchingApprovalRules(policy, typedData(1n)).map((r) => r.id)).toEqual(['mainnet']);
    expect(matchingApprovalRules(policy, message).map((r) => r.id)).toEqual(['messages']);
    expect(matchingApprovalRules(policy, typedData(5))).toEqual([]);
    expect(matchingApprovalRules(policy, message)[0]).toBe(messages);
  });
});

describe('approvalExpiry', () => {
  const now = Date.UTC(2026, 0, 1);

  it('defaults to a day (1440 minutes)', () => {
    expect(DEFAULT_APPROVAL_MINUTES).toBe(1440);
    expect(approvalExpiry([rule('r', [{}])], now)).toBe(now + 1440 * 60_000);
  });

  it("uses a rule's own window", () => {
    expect(approvalExpiry([rule('r', [{}], { expiresAfterMinutes: 90 })], now)).toBe(now + 90 * 60_000);
  });

  it('picks the shortest window among the rules, the default counting as 1440', () => {
    const rules = [rule('a', [{}], { expiresAfterMinutes: 600 }), rule('b', [{}], { expiresAfterMinutes: 30 }), rule('c', [{}])];
    expect(approvalExpiry(rules, now)).toBe(now + 30 * 60_000);
    expect(approvalExpiry([rule('a', [{}], { expiresAfterMinutes: 2000 }), rule('c', [{}])], now)).toBe(now + 1440 * 60_000);
    expect(approvalExpiry([rule('a', [{}], { expiresAfterMinutes: 2000 }), rule('b', [{}], { expiresAfterMinutes: 3000 })], now)).toBe(now + 2000 * 60_000);
  });
});

describe('tallyDecisions', () => {
  const q = (rule: string, quorum: number, approvers: string[]): Quorum => ({ rule, quorum, approvers });

  it('is pending with no decisions', () => {
    expect(tallyDecisions([q('r', 1, [ALICE, BOB])], [])).toEqual({ outcome: 'pending' });
  });

  it('1 of 2: approved by either approver alone', () => {
    expect(tallyDecisions([q('r', 1, [ALICE, BOB])], [{ approverId: ALICE, verdict: 'approve' }])).toEqual({ outcome: 'approved' });
    expect(tallyDecisions([q('r', 1, [ALICE, BOB])], [{ approverId: BOB, verdict: 'approve' }])).toEqual({ outcome: 'approved' });
  });

  it('1 of 2: one rejection leaves it pending, both reject it', () => {
    expect(tallyDecisions([q('r', 1, [ALICE, BOB])], [{ approverId: ALICE, verdict: 'reject' }])).toEqual({ outcome: 'pending' });
    expect(
      tallyDecisions([q('r', 1, [ALICE, BOB])], [
        { approverId: ALICE, verdict: 'reject' },
        { approverId: BOB, verdict: 'reject' },
      ]),
    ).toEqual({ outcome: 'rejected', rule: 'r' });
  });

  it('2 of 3: pending after one approval, approved after two', () => {
    const quorums = [q('two', 2, [ALICE, BOB, CAROL])];
    expect(tallyDecisions(quorums, [{ approverId: ALICE, verdict: 'approve' }])).toEqual({ outcome: 'pending' });
    expect(
      tallyDecisions(quorums, [
        { approverId: ALICE, verdict: 'approve' },
        { approverId: CAROL, verdict: 'approve' },
      ]),
    ).toEqual({ outcome: 'approved' });
  });

  it('2 of 3: one rejection still leaves it reachable, two reject it', () => {
    const quorums = [q('two', 2, [ALICE, BOB, CAROL])];
    expect(tallyDecisions(quorums, [{ approverId: ALICE, verdict: 'reject' }])).toEqual({ outcome: 'pending' });
    expect(
      tallyDecisions(quorums, [
        { approverId: ALICE, verdict: 'reject' },
        { approverId: BOB, verdict: 'approve' },
      ]),
    ).toEqual({ outcome: 'pending' });
    expect(
      tallyDecisions(quorums, [
        { approverId: ALICE, verdict: 'reject' },
        { approverId: BOB, verdict: 'reject' },
      ]),
    ).toEqual({ outcome: 'rejected', rule: 'two' });
    // Rejected even when the third approver had approved.
    expect(
      tallyDecisions(quorums, [
        { approverId: CAROL, verdict: 'approve' },
        { approverId: ALICE, verdict: 'reject' },
        { approverId: BOB, verdict: 'reject' },
      ]),
    ).toEqual({ outcome: 'rejected', rule: 'two' });
  });

  it('1 of 1: one rejection rejects', () => {
    expect(tallyDecisions([q('solo', 1, [ALICE])], [{ approverId: ALICE, verdict: 'reject' }])).toEqual({ outcome: 'rejected', rule: 'solo' });
  });

  it("a non-approver's decision counts nowhere", () => {
    expect(tallyDecisions([q('r', 1, [ALICE, BOB])], [{ approverId: MALLORY, verdict: 'approve' }])).toEqual({ outcome: 'pending' });
    expect(tallyDecisions([q('solo', 1, [ALICE])], [{ approverId: MALLORY, verdict: 'reject' }])).toEqual({ outcome: 'pending' });
    expect(
      tallyDecisions([q('two', 2, [ALICE, BOB, CAROL])], [
        { approverId: ALICE, verdict: 'approve' },
        { approverId: MALLORY, verdict: 'approve' },
      ]),
    ).toEqual({ outcome: 'pending' });
  });

  it('an approver counts once, with its first decision', () => {
    expect(
      tallyDecisions([q('two', 2, [ALICE, BOB, CAROL])], [
        { approverId: ALICE, verdict: 'approve' },
        { approverId: ALICE, verdict: 'approve' },
      ]),
    ).toEqual({ outcome: 'pending' });
  });

  it('several rules must all be met', () => {
    const quorums = [q('finance', 1, [ALICE, BOB]), q('security', 1, [CAROL])];
    expect(tallyDecisions(quorums, [{ approverId: ALICE, verdict: 'approve' }])).toEqual({ outcome: 'pending' });
    expect(tallyDecisions(quorums, [{ approverId: CAROL, verdict: 'approve' }])).toEqual({ outcome: 'pending' });
    expect(
      tallyDecisions(quorums, [
        { approverId: ALICE, verdict: 'approve' },
        { approverId: CAROL, verdict: 'approve' },
      ]),
    ).toEqual({ outcome: 'approved' });
  });

  it('an approver on two rules counts toward both', () => {
    const quorums = [q('finance', 1, [ALICE, BOB]), q('security', 1, [ALICE, CAROL])];
    expect(tallyDecisions(quorums, [{ approverId: ALICE, verdict: 'approve' }])).toEqual({ outcome: 'approved' });
  });

  it('one unreachable rule rejects, even when another rule is met', () => {
    const quorums = [q('finance', 1, [ALICE, BOB]), q('security', 1, [CAROL])];
    expect(
      tallyDecisions(quorums, [
        { approverId: ALICE, verdict: 'approve' },
        { approverId: CAROL, verdict: 'reject' },
      ]),
    ).toEqual({ outcome: 'rejected', rule: 'security' });
    expect(tallyDecisions(quorums, [{ approverId: CAROL, verdict: 'reject' }])).toEqual({ outcome: 'rejected', rule: 'security' });
  });
});
