/** What the approval popup shows for eth_signTypedData_v4: the domain and the message, and a chain check. */
import type { Address, TypedDataDefinition } from 'viem';
import type { ApprovalDetails, Warning } from '../api.js';
import { HIDDEN_CHARACTERS } from './describe-message.js';

type TypedDataDetails = Extract<ApprovalDetails, { kind: 'typedData' }>;

export function describeTypedData(
  address: Address,
  typedData: TypedDataDefinition,
  currentChainId: number,
): { details: TypedDataDetails; warnings: Warning[] } {
  const domain = toDisplayRecord(typedData.domain ?? {});
  const details: TypedDataDetails = {
    kind: 'typedData',
    address,
    primaryType: String(typedData.primaryType),
    domain,
    message: toDisplayRecord(typedData.message),
    currentChainId,
  };
  const warnings: Warning[] = [];
  const signedChainId = chainIdOf(typedData.domain?.chainId);
  if (signedChainId !== undefined && signedChainId !== BigInt(currentChainId)) {
    warnings.push({ code: 'CHAIN_MISMATCH', message: `This signature is for chain ${signedChainId} but you are on chain ${currentChainId}.` });
  }
  if (hasHiddenCharacters(details.domain) || hasHiddenCharacters(details.message)) {
    warnings.push({ code: 'NOT_TEXT', message: 'Some text in this request contains control or direction-changing characters: it may not read as it will be signed.' });
  }
  return { details, warnings };
}

function hasHiddenCharacters(value: unknown): boolean {
  if (typeof value === 'string') return HIDDEN_CHARACTERS.test(value);
  if (Array.isArray(value)) return value.some(hasHiddenCharacters);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasHiddenCharacters);
  return false;
}

/** Numbers and bigints become decimal strings at any depth, so the popup gets plain JSON it can print exactly. */
function toDisplay(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString(10);
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value).toString(10) : String(value);
  if (Array.isArray(value)) return value.map(toDisplay);
  if (typeof value === 'object' && value !== null) return toDisplayRecord(value as Record<string, unknown>);
  return value;
}

function toDisplayRecord(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, toDisplay(value)]));
}

function chainIdOf(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^(?:\d+|0x[0-9a-fA-F]+)$/.test(value)) return BigInt(value);
  return undefined;
}
