import { getAddress, isAddress, type Address } from 'viem';
import { InvalidPolicyError } from './errors.js';
import type { WalletPolicy } from './types.js';

const MAX_UINT256 = (1n << 256n) - 1n;
const POLICY_FIELDS = ['maxValuePerTxWei', 'dailyLimitWei', 'allowedRecipients', 'allowedContracts', 'allowedChainIds', 'refreshEveryDays', 'restoreDelayMinutes', 'restoreNeedsOperator'] as const;
const MAX_LIST_LENGTH = 256;
/** Ten years: anything longer is surely a typo (milliseconds, or a unit mixed up). */
const MAX_REFRESH_EVERY_DAYS = 3650;
/** Thirty days: a longer hold is better expressed as restoreNeedsOperator. */
const MAX_RESTORE_DELAY_MINUTES = 30 * 24 * 60;

/**
 * Checks a policy an operator supplied (parsed JSON) and returns it normalised: amounts as
 * canonical decimal strings, addresses checksummed and deduplicated. Unknown fields are refused,
 * because a misspelt limit would otherwise silently allow everything.
 */
export function validatePolicy(input: unknown): WalletPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidPolicyError('policy', 'A policy is a JSON object, e.g. {"maxValuePerTxWei": "1000000000000000000"}.');
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(POLICY_FIELDS as readonly string[]).includes(key)) {
      throw new InvalidPolicyError(key, `Unknown policy field "${key}". Known fields: ${POLICY_FIELDS.join(', ')}.`);
    }
  }
  const policy: WalletPolicy = {};
  if (record.maxValuePerTxWei !== undefined) policy.maxValuePerTxWei = weiAmount('maxValuePerTxWei', record.maxValuePerTxWei);
  if (record.dailyLimitWei !== undefined) policy.dailyLimitWei = weiAmount('dailyLimitWei', record.dailyLimitWei);
  if (record.allowedRecipients !== undefined) policy.allowedRecipients = addressList('allowedRecipients', record.allowedRecipients);
  if (record.allowedContracts !== undefined) policy.allowedContracts = addressList('allowedContracts', record.allowedContracts);
  if (record.allowedChainIds !== undefined) policy.allowedChainIds = chainIdList(record.allowedChainIds);
  if (record.refreshEveryDays !== undefined) policy.refreshEveryDays = refreshDays(record.refreshEveryDays);
  if (record.restoreDelayMinutes !== undefined) policy.restoreDelayMinutes = restoreDelayMinutes(record.restoreDelayMinutes);
  if (record.restoreNeedsOperator !== undefined) policy.restoreNeedsOperator = restoreNeedsOperator(record.restoreNeedsOperator);
  return policy;
}

function weiAmount(field: string, value: unknown): string {
  let amount: bigint;
  if (typeof value === 'bigint') amount = value;
  else if (typeof value === 'string' && /^[0-9]+$/.test(value)) amount = BigInt(value);
  else if (typeof value === 'string' && /^-[0-9]+$/.test(value)) {
    throw new InvalidPolicyError(field, `${field} is negative (${value}). Use 0 or a positive amount of wei.`);
  } else {
    throw new InvalidPolicyError(
      field,
      `${field} must be a decimal string of wei, e.g. "1000000000000000000" for 1 ether; got ${describe(value)}.`,
    );
  }
  if (amount < 0n) throw new InvalidPolicyError(field, `${field} is negative (${amount}). Use 0 or a positive amount of wei.`);
  if (amount > MAX_UINT256) throw new InvalidPolicyError(field, `${field} is larger than any uint256 amount.`);
  return amount.toString(10);
}

function addressList(field: string, value: unknown): Address[] {
  if (!Array.isArray(value)) throw new InvalidPolicyError(field, `${field} must be a list of addresses; got ${describe(value)}.`);
  if (value.length > MAX_LIST_LENGTH) throw new InvalidPolicyError(field, `${field} has ${value.length} entries; at most ${MAX_LIST_LENGTH} are allowed.`);
  const seen = new Set<string>();
  const addresses: Address[] = [];
  for (const [index, entry] of value.entries()) {
    // strict: false accepts all-lowercase or all-uppercase input; a mixed-case one must carry a valid checksum.
    if (typeof entry !== 'string' || !isAddress(entry, { strict: false }) || (hasMixedCase(entry) && !isAddress(entry, { strict: true }))) {
      throw new InvalidPolicyError(
        `${field}[${index}]`,
        `${field}[${index}] is not a valid address (${describe(entry)}). Use a 0x-prefixed 20-byte address; mixed case must match its EIP-55 checksum.`,
      );
    }
    const address = getAddress(entry);
    if (seen.has(address)) continue;
    seen.add(address);
    addresses.push(address);
  }
  return addresses;
}

function chainIdList(value: unknown): number[] {
  const field = 'allowedChainIds';
  if (!Array.isArray(value)) throw new InvalidPolicyError(field, `${field} must be a list of chain ids; got ${describe(value)}.`);
  if (value.length > MAX_LIST_LENGTH) throw new InvalidPolicyError(field, `${field} has ${value.length} entries; at most ${MAX_LIST_LENGTH} are allowed.`);
  const ids: number[] = [];
  for (const [index, entry] of value.entries()) {
    if (typeof entry !== 'number' || !Number.isSafeInteger(entry) || entry <= 0) {
      throw new InvalidPolicyError(`${field}[${index}]`, `${field}[${index}] must be a positive integer chain id, e.g. 1 or 8453; got ${describe(entry)}.`);
    }
    if (!ids.includes(entry)) ids.push(entry);
  }
  return ids;
}

function refreshDays(value: unknown): number {
  const field = 'refreshEveryDays';
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_REFRESH_EVERY_DAYS) {
    throw new InvalidPolicyError(field, `${field} must be a whole number of days from 1 to ${MAX_REFRESH_EVERY_DAYS}, e.g. 30; got ${describe(value)}.`);
  }
  return value;
}

function restoreDelayMinutes(value: unknown): number {
  const field = 'restoreDelayMinutes';
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_RESTORE_DELAY_MINUTES) {
    throw new InvalidPolicyError(
      field,
      `${field} must be a whole number of minutes from 0 to ${MAX_RESTORE_DELAY_MINUTES} (30 days), e.g. 1440 for a day; got ${describe(value)}.`,
    );
  }
  return value;
}

function restoreNeedsOperator(value: unknown): boolean {
  const field = 'restoreNeedsOperator';
  if (typeof value !== 'boolean') throw new InvalidPolicyError(field, `${field} must be true or false; got ${describe(value)}.`);
  return value;
}

function hasMixedCase(address: string): boolean {
  const body = address.slice(2);
  return body !== body.toLowerCase() && body !== body.toUpperCase();
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}
