import { describe, expect, it } from 'vitest';
import { InvalidPolicyError } from './errors.js';
import { validatePolicy } from './validate.js';

const ALICE = '0x52908400098527886E0F7030069857D2E4169EE7';
const BOB = '0x8617E340B3D01FA5F11F306F4090FD50E238070D';

function fieldOf(input: unknown): string {
  try {
    validatePolicy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPolicyError);
    return (error as InvalidPolicyError).field;
  }
  throw new Error('expected the policy to be refused');
}

describe('validatePolicy', () => {
  it('accepts the empty policy', () => {
    expect(validatePolicy({})).toEqual({});
  });

  it('normalises amounts, checksums and deduplicates addresses, deduplicates chains', () => {
    expect(
      validatePolicy({
        maxValuePerTxWei: '0001000',
        dailyLimitWei: 5n,
        allowedRecipients: [ALICE.toLowerCase(), ALICE, `0x${BOB.slice(2).toUpperCase()}`],
        allowedContracts: [],
        allowedChainIds: [1, 8453, 1],
        refreshEveryDays: 30,
        restoreDelayMinutes: 1440,
        restoreNeedsOperator: true,
      }),
    ).toEqual({
      maxValuePerTxWei: '1000',
      dailyLimitWei: '5',
      allowedRecipients: [ALICE, '0x8617E340B3D01FA5F11F306F4090FD50E238070D'],
      allowedContracts: [],
      allowedChainIds: [1, 8453],
      refreshEveryDays: 30,
      restoreDelayMinutes: 1440,
      restoreNeedsOperator: true,
    });
  });

  it('accepts refreshEveryDays from 1 to 3650 days', () => {
    expect(validatePolicy({ refreshEveryDays: 1 })).toEqual({ refreshEveryDays: 1 });
    expect(validatePolicy({ refreshEveryDays: 3650 })).toEqual({ refreshEveryDays: 3650 });
  });

  it('says what refreshEveryDays must be', () => {
    expect(() => validatePolicy({ refreshEveryDays: '30' })).toThrow(/refreshEveryDays must be a whole number of days from 1 to 3650, e\.g\. 30; got "30"\./);
  });

  it('accepts restoreDelayMinutes from 0 to 43200 (30 days), and restoreNeedsOperator true or false', () => {
    expect(validatePolicy({ restoreDelayMinutes: 0 })).toEqual({ restoreDelayMinutes: 0 });
    expect(validatePolicy({ restoreDelayMinutes: 43200 })).toEqual({ restoreDelayMinutes: 43200 });
    expect(validatePolicy({ restoreNeedsOperator: false })).toEqual({ restoreNeedsOperator: false });
  });

  it('says what restoreDelayMinutes and restoreNeedsOperator must be', () => {
    expect(() => validatePolicy({ restoreDelayMinutes: 60.5 })).toThrow(
      /restoreDelayMinutes must be a whole number of minutes from 0 to 43200 \(30 days\), e\.g\. 1440 for a day; got 60\.5\./,
    );
    expect(() => validatePolicy({ restoreNeedsOperator: 'yes' })).toThrow(/restoreNeedsOperator must be true or false; got "yes"\./);
  });

  it.each([
    ['not an object', 'x', 'policy'],
    ['an array', [], 'policy'],
    ['an unknown field (typo)', { maxValuePerTx: '1' }, 'maxValuePerTx'],
    ['a negative limit', { maxValuePerTxWei: '-1' }, 'maxValuePerTxWei'],
    ['a number instead of a string', { dailyLimitWei: 1000 }, 'dailyLimitWei'],
    ['a decimal amount', { dailyLimitWei: '1.5' }, 'dailyLimitWei'],
    ['an amount above uint256', { dailyLimitWei: (1n << 256n).toString() }, 'dailyLimitWei'],
    ['a negative bigint', { dailyLimitWei: -1n }, 'dailyLimitWei'],
    ['a bad address', { allowedRecipients: [ALICE, '0x1234'] }, 'allowedRecipients[1]'],
    ['a mixed-case address with a bad checksum', { allowedContracts: ['0x52908400098527886E0F7030069857D2E4169Ee7'] }, 'allowedContracts[0]'],
    ['addresses not in a list', { allowedRecipients: ALICE }, 'allowedRecipients'],
    ['a zero chain id', { allowedChainIds: [0] }, 'allowedChainIds[0]'],
    ['a fractional chain id', { allowedChainIds: [1.5] }, 'allowedChainIds[0]'],
    ['a string chain id', { allowedChainIds: ['1'] }, 'allowedChainIds[0]'],
    ['too many entries', { allowedRecipients: Array.from({ length: 257 }, () => ALICE) }, 'allowedRecipients'],
    ['a zero refresh interval', { refreshEveryDays: 0 }, 'refreshEveryDays'],
    ['a negative refresh interval', { refreshEveryDays: -30 }, 'refreshEveryDays'],
    ['a fractional refresh interval', { refreshEveryDays: 1.5 }, 'refreshEveryDays'],
    ['a refresh interval as a string', { refreshEveryDays: '30' }, 'refreshEveryDays'],
    ['a refresh interval above ten years', { refreshEveryDays: 3651 }, 'refreshEveryDays'],
    ['a refresh interval that is not a number', { refreshEveryDays: null }, 'refreshEveryDays'],
    ['a negative restore delay', { restoreDelayMinutes: -1 }, 'restoreDelayMinutes'],
    ['a fractional restore delay', { restoreDelayMinutes: 1.5 }, 'restoreDelayMinutes'],
    ['a restore delay as a string', { restoreDelayMinutes: '60' }, 'restoreDelayMinutes'],
    ['a restore delay above 30 days', { restoreDelayMinutes: 43201 }, 'restoreDelayMinutes'],
    ['a restore delay in milliseconds', { restoreDelayMinutes: 3_600_000 }, 'restoreDelayMinutes'],
    ['restoreNeedsOperator as a string', { restoreNeedsOperator: 'true' }, 'restoreNeedsOperator'],
    ['restoreNeedsOperator as a number', { restoreNeedsOperator: 1 }, 'restoreNeedsOperator'],
    ['restoreNeedsOperator null', { restoreNeedsOperator: null }, 'restoreNeedsOperator'],
  ])('refuses %s, naming the field', (_name, input, field) => {
    expect(fieldOf(input)).toBe(field);
  });
});

describe('validatePolicy: approvals', () => {
  const A1 = '0123456789abcdef0123456789abcdef';
  const A2 = 'fedcba9876543210fedcba9876543210';
  const A3 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const CHECKSUMMED = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
  const rule = (extra: Record<string, unknown> = {}) => ({ id: 'large', when: [{ valueAboveWei: '1' }], approvers: [A1, A2], quorum: 1, ...extra });
  const approvalsField = (approvals: unknown) => fieldOf({ approvals });

  it('accepts and normalises a rule: addresses checksummed and deduplicated, approvers and chains deduplicated, amounts canonical', () => {
    expect(
      validatePolicy({
        approvals: [
          {
            id: 'big-or-unknown-2',
            when: [
              { kind: 'transaction', chainIds: [1, 8453, 1], valueAboveWei: '0001000' },
              { contractNotIn: [CHECKSUMMED.toLowerCase(), CHECKSUMMED, `0x${CHECKSUMMED.slice(2).toUpperCase()}`, ALICE] },
              {},
            ],
            approvers: [A1, A2, A1, A3],
            quorum: 3,
            expiresAfterMinutes: 90,
          },
          { id: 'messages', when: [{ kind: 'message' }, { kind: 'typedData', chainIds: [10] }], approvers: [A3], quorum: 1 },
        ],
      }),
    ).toEqual({
      approvals: [
        {
          id: 'big-or-unknown-2',
          when: [{ kind: 'transaction', chainIds: [1, 8453], valueAboveWei: '1000' }, { contractNotIn: [CHECKSUMMED, ALICE] }, {}],
          approvers: [A1, A2, A3],
          quorum: 3,
          expiresAfterMinutes: 90,
        },
        { id: 'messages', when: [{ kind: 'message' }, { kind: 'typedData', chainIds: [10] }], approvers: [A3], quorum: 1 },
      ],
    });
  });

  it('accepts an empty list of rules and leaves expiresAfterMinutes out when not given', () => {
    expect(validatePolicy({ approvals: [] })).toEqual({ approvals: [] });
    expect(validatePolicy({ approvals: [rule()] }).approvals![0]).not.toHaveProperty('expiresAfterMinutes');
  });

  it('accepts expiresAfterMinutes from 1 to 43200 (30 days), and quorum up to the number of approvers', () => {
    expect(validatePolicy({ approvals: [rule({ expiresAfterMinutes: 1 })] }).approvals![0]!.expiresAfterMinutes).toBe(1);
    expect(validatePolicy({ approvals: [rule({ expiresAfterMinutes: 43200 })] }).approvals![0]!.expiresAfterMinutes).toBe(43200);
    expect(validatePolicy({ approvals: [rule({ quorum: 2 })] }).approvals![0]!.quorum).toBe(2);
  });

  it('survives a JSON round trip unchanged (what the store keeps)', () => {
    const policy = validatePolicy({ approvals: [rule({ when: [{ contractNotIn: [CHECKSUMMED.toLowerCase()] }], expiresAfterMinutes: 60 })] });
    expect(validatePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });

  it.each([
    ['approvals that are not a list', { id: 'x' }, 'approvals'],
    ['approvals as a string', 'large', 'approvals'],
    ['more than 32 rules', Array.from({ length: 33 }, (_, i) => rule({ id: `r${i}` })), 'approvals'],
    ['a rule that is not an object', ['large'], 'approvals[0]'],
    ['a rule that is a list', [[]], 'approvals[0]'],
    ['a rule that is null', [null], 'approvals[0]'],
    ['an uppercase id', [rule({ id: 'Large' })], 'approvals[0].id'],
    ['an empty id', [rule({ id: '' })], 'approvals[0].id'],
    ['an id starting with a dash', [rule({ id: '-large' })], 'approvals[0].id'],
    ['an id with a space', [rule({ id: 'large transfers' })], 'approvals[0].id'],
    ['an id longer than 48 characters', [rule({ id: 'a'.repeat(49) })], 'approvals[0].id'],
    ['a missing id', [{ when: [{}], approvers: [A1], quorum: 1 }], 'approvals[0].id'],
    ['a duplicate id', [rule(), rule({ approvers: [A3] })], 'approvals[1].id'],
    ['an unknown rule field', [rule({ approver: [A1] })], 'approvals[0].approver'],
    ['an unknown rule field (typo of expiresAfterMinutes)', [rule({ expiresAfterMinute: 60 })], 'approvals[0].expiresAfterMinute'],
    ['an empty when', [rule({ when: [] })], 'approvals[0].when'],
    ['a missing when', [{ id: 'large', approvers: [A1], quorum: 1 }], 'approvals[0].when'],
    ['when as an object', [rule({ when: { kind: 'message' } })], 'approvals[0].when'],
    ['a match that is not an object', [rule({ when: [{}, 'message'] })], 'approvals[0].when[1]'],
    ['an unknown match field', [rule({ when: [{ valueAbove: '1' }] })], 'approvals[0].when[0].valueAbove'],
    ['a bad match kind', [rule({ when: [{ kind: 'transfer' }] })], 'approvals[0].when[0].kind'],
    ['a match kind in the wrong case', [rule({ when: [{ kind: 'typeddata' }] })], 'approvals[0].when[0].kind'],
    ['a bad match chain id', [rule({ when: [{ chainIds: [1, 0] }] })], 'approvals[0].when[0].chainIds[1]'],
    ['a negative valueAboveWei', [rule({ when: [{ valueAboveWei: '-1' }] })], 'approvals[0].when[0].valueAboveWei'],
    ['valueAboveWei as a number', [rule({ when: [{ valueAboveWei: 1000 }] })], 'approvals[0].when[0].valueAboveWei'],
    ['a bad contractNotIn address', [rule({ when: [{ contractNotIn: [ALICE, '0x1234'] }] })], 'approvals[0].when[0].contractNotIn[1]'],
    ['no approvers', [rule({ approvers: [] })], 'approvals[0].approvers'],
    ['approvers that are not a list', [rule({ approvers: A1 })], 'approvals[0].approvers'],
    ['more than 32 approvers', [rule({ approvers: Array.from({ length: 33 }, (_, i) => i.toString(16).padStart(32, '0')) })], 'approvals[0].approvers'],
    ['an uppercase approver id', [rule({ approvers: [A1, A2.toUpperCase()] })], 'approvals[0].approvers[1]'],
    ['a short approver id', [rule({ approvers: [A1.slice(1)] })], 'approvals[0].approvers[0]'],
    ['an approver id that is not a string', [rule({ approvers: [A1, 7] })], 'approvals[0].approvers[1]'],
    ['a quorum of 0', [rule({ quorum: 0 })], 'approvals[0].quorum'],
    ['a negative quorum', [rule({ quorum: -1 })], 'approvals[0].quorum'],
    ['a quorum above the approvers', [rule({ quorum: 3 })], 'approvals[0].quorum'],
    ['a quorum above the approvers once duplicates are removed', [rule({ approvers: [A1, A1], quorum: 2 })], 'approvals[0].quorum'],
    ['a fractional quorum', [rule({ quorum: 1.5 })], 'approvals[0].quorum'],
    ['a quorum as a string', [rule({ quorum: '1' })], 'approvals[0].quorum'],
    ['a missing quorum', [{ id: 'large', when: [{}], approvers: [A1] }], 'approvals[0].quorum'],
    ['expiresAfterMinutes of 0', [rule({ expiresAfterMinutes: 0 })], 'approvals[0].expiresAfterMinutes'],
    ['expiresAfterMinutes above 30 days', [rule({ expiresAfterMinutes: 43201 })], 'approvals[0].expiresAfterMinutes'],
    ['fractional expiresAfterMinutes', [rule({ expiresAfterMinutes: 1.5 })], 'approvals[0].expiresAfterMinutes'],
    ['expiresAfterMinutes as a string', [rule({ expiresAfterMinutes: '60' })], 'approvals[0].expiresAfterMinutes'],
    ['expiresAfterMinutes null', [rule({ expiresAfterMinutes: null })], 'approvals[0].expiresAfterMinutes'],
  ])('refuses %s, naming the field', (_name, approvals, field) => {
    expect(approvalsField(approvals)).toBe(field);
  });

  it('names the second rule when only the second is wrong', () => {
    expect(approvalsField([rule(), rule({ id: 'other', quorum: 5 })])).toBe('approvals[1].quorum');
  });
});
