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
