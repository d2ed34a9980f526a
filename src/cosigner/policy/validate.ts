import { getAddress, isAddress, type Address } from 'viem';
import { InvalidPolicyError } from './errors.js';
import type { ApprovalMatch, ApprovalRule, WalletPolicy } from './types.js';

const MAX_UINT256 = (1n << 256n) - 1n;
const POLICY_FIELDS = ['maxValuePerTxWei', 'dailyLimitWei', 'allowedRecipients', 'allowedContracts', 'allowedChainIds', 'refreshEveryDays', 'restoreDelayMinutes', 'restoreNeedsOperator', 'approvals'] as const;
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
  if (record.approvals !== undefined) policy.approvals = approvalRules(record.approvals);
  return policy;
}

const MAX_APPROVAL_RULES = 32;
const MAX_APPROVERS_PER_RULE = 32;
/** Thirty days: requests hold a presignature and the device's online message that long at most. */
export const MAX_APPROVAL_MINUTES = 30 * 24 * 60;
const RULE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,47}$/;
const APPROVER_ID_PATTERN = /^[0-9a-f]{32}$/;

function approvalRules(value: unknown): ApprovalRule[] {
  const field = 'approvals';
  if (!Array.isArray(value)) throw new InvalidPolicyError(field, `${field} must be a list of rules like {"id": "large", "when": [{"valueAboveWei": "1000000000000000000"}], "approvers": ["<approver id>"], "quorum": 1}; got ${describe(value)}.`);
  if (value.length > MAX_APPROVAL_RULES) throw new InvalidPolicyError(field, `${field} has ${value.length} rules; at most ${MAX_APPROVAL_RULES} are allowed.`);
  const ids = new Set<string>();
  return value.map((entry, index) => {
    const at = `${field}[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new InvalidPolicyError(at, `${at} must be an object; got ${describe(entry)}.`);
    const rule = entry as Record<string, unknown>;
    for (const key of Object.keys(rule)) {
      if (!['id', 'when', 'approvers', 'quorum', 'expiresAfterMinutes'].includes(key)) throw new InvalidPolicyError(`${at}.${key}`, `Unknown field "${key}" in ${at}. Known fields: id, when, approvers, quorum, expiresAfterMinutes.`);
    }
    if (typeof rule.id !== 'string' || !RULE_ID_PATTERN.test(rule.id)) throw new InvalidPolicyError(`${at}.id`, `${at}.id must be a short lowercase name (letters, digits, dashes), e.g. "large-transfers"; got ${describe(rule.id)}.`);
    if (ids.has(rule.id)) throw new InvalidPolicyError(`${at}.id`, `Two approval rules are named "${rule.id}".`);
    ids.add(rule.id);
    if (!Array.isArray(rule.when) || rule.when.length === 0 || rule.when.length > MAX_LIST_LENGTH) {
      throw new InvalidPolicyError(`${at}.when`, `${at}.when must be a non-empty list of matches, e.g. [{"kind": "typedData", "chainIds": [1]}]; [{}] matches every request.`);
    }
    const when = rule.when.map((match, m) => approvalMatch(`${at}.when[${m}]`, match));
    if (!Array.isArray(rule.approvers) || rule.approvers.length === 0 || rule.approvers.length > MAX_APPROVERS_PER_RULE) {
      throw new InvalidPolicyError(`${at}.approvers`, `${at}.approvers must list 1 to ${MAX_APPROVERS_PER_RULE} approver ids.`);
    }
    const approvers: string[] = [];
    for (const [a, approver] of rule.approvers.entries()) {
      if (typeof approver !== 'string' || !APPROVER_ID_PATTERN.test(approver)) {
        throw new InvalidPolicyError(`${at}.approvers[${a}]`, `${at}.approvers[${a}] must be an approver id (32 hex characters, see: npm run cosigner -- approvers list); got ${describe(approver)}.`);
      }
      if (!approvers.includes(approver)) approvers.push(approver);
    }
    if (typeof rule.quorum !== 'number' || !Number.isSafeInteger(rule.quorum) || rule.quorum < 1 || rule.quorum > approvers.length) {
      throw new InvalidPolicyError(`${at}.quorum`, `${at}.quorum must be a whole number from 1 to ${approvers.length} (its approvers); got ${describe(rule.quorum)}.`);
    }
    const parsed: ApprovalRule = { id: rule.id, when, approvers, quorum: rule.quorum };
    if (rule.expiresAfterMinutes !== undefined) {
      const minutes = rule.expiresAfterMinutes;
      if (typeof minutes !== 'number' || !Number.isSafeInteger(minutes) || minutes < 1 || minutes > MAX_APPROVAL_MINUTES) {
        throw new InvalidPolicyError(`${at}.expiresAfterMinutes`, `${at}.expiresAfterMinutes must be a whole number of minutes from 1 to ${MAX_APPROVAL_MINUTES} (30 days); got ${describe(minutes)}.`);
      }
      parsed.expiresAfterMinutes = minutes;
    }
    return parsed;
  });
}

function approvalMatch(at: string, value: unknown): ApprovalMatch {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidPolicyError(at, `${at} must be an object; got ${describe(value)}.`);
  const record = value as Record<string, unknown>;
  const match: ApprovalMatch = {};
  for (const key of Object.keys(record)) {
    if (!['kind', 'chainIds', 'valueAboveWei', 'contractNotIn'].includes(key)) throw new InvalidPolicyError(`${at}.${key}`, `Unknown field "${key}" in ${at}. Known fields: kind, chainIds, valueAboveWei, contractNotIn.`);
  }
  if (record.kind !== undefined) {
    if (record.kind !== 'transaction' && record.kind !== 'typedData' && record.kind !== 'message') throw new InvalidPolicyError(`${at}.kind`, `${at}.kind must be "transaction", "typedData" or "message"; got ${describe(record.kind)}.`);
    match.kind = record.kind;
  }
  if (record.chainIds !== undefined) match.chainIds = chainIdList(record.chainIds, `${at}.chainIds`);
  if (record.valueAboveWei !== undefined) match.valueAboveWei = weiAmount(`${at}.valueAboveWei`, record.valueAboveWei);
  if (record.contractNotIn !== undefined) match.contractNotIn = addressList(`${at}.contractNotIn`, record.contractNotIn);
  return match;
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

function chainIdList(value: unknown, field = 'allowedChainIds'): number[] {
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
