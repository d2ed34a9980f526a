import { formatGwei } from 'viem';
import type { ApprovalStage, DecodedCall, OnboardingStage, RpcErrorBody } from '../background/api.js';

/** `0x1234…abcd`: enough to recognise an address at a glance; the full one is always shown nearby. */
export function shortenAddress(address: string, lead = 6, tail = 4): string {
  if (address.length <= lead + tail + 1) return address;
  return `${address.slice(0, lead)}…${address.slice(-tail)}`;
}

/** A decimal wei amount as gwei, e.g. `1500000000` -> `1.5 gwei`. Anything that is not a wei amount is shown as it came. */
export function weiToGwei(wei: string): string {
  if (!/^\d+$/.test(wei)) return wei;
  return `${formatGwei(BigInt(wei))} gwei`;
}

/** Appends the currency symbol unless the amount already carries it. */
export function withSymbol(amount: string, symbol: string | undefined): string {
  if (!symbol) return amount;
  const trimmed = amount.trim();
  return trimmed.endsWith(` ${symbol}`) ? trimmed : `${trimmed} ${symbol}`;
}

export function hexByteLength(hex: string): number {
  const digits = hex.startsWith('0x') ? hex.length - 2 : hex.length;
  return Math.ceil(digits / 2);
}

/** The first `bytes` bytes of a hex string and how many bytes were left out. */
export function truncateHex(hex: string, bytes: number): { shown: string; hiddenBytes: number } {
  const total = hexByteLength(hex);
  if (total <= bytes) return { shown: hex, hiddenBytes: 0 };
  const prefix = hex.startsWith('0x') ? '0x' : '';
  return { shown: `${prefix}${hex.slice(prefix.length, prefix.length + bytes * 2)}…`, hiddenBytes: total - bytes };
}

/** A leaf of typed data or a chain setting as text; objects and arrays are shown by the tree, not here. */
export function leafToString(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Request 2 of 3`, or nothing when this is the only request waiting. */
export function queueLabel(queue: { position: number; total: number }): string | undefined {
  return queue.total > 1 ? `Request ${queue.position} of ${queue.total}` : undefined;
}

const approvalStageText: Record<ApprovalStage, string> = {
  pending: 'Waiting for your decision',
  'waiting-cosigner': 'Waiting for the co-signer — it is offline; the request will complete when it returns',
  signing: 'Signing with the co-signer…',
  broadcasting: 'Sending the transaction to the network…',
  done: 'Done',
  rejected: 'Rejected',
  failed: 'Failed',
  held: 'Waiting for the wallet’s approvers',
};

export function approvalStageLabel(stage: ApprovalStage): string {
  return approvalStageText[stage];
}

const onboardingStageText: Record<OnboardingStage, string> = {
  'opening-kit': 'Opening your recovery kit…',
  enrolling: 'Enrolling with the co-signer…',
  'restore-delay': 'Waiting for the co-signer’s safety delay before it restores…',
  restoring: 'Restoring your key with the co-signer…',
  resharing: 'Making new key shares and a new recovery kit with the co-signer…',
  'generating-key': 'Generating your key with the co-signer…',
  'sealing-vault': 'Encrypting your key share with your password…',
  'recovery-kit': 'Preparing your recovery kit',
  done: 'Done',
  failed: 'Setup failed',
};

export function onboardingStageLabel(stage: OnboardingStage): string {
  return onboardingStageText[stage];
}

/** The reason a co-signer refusal carries in `error.data.reason`, when there is one. */
export function errorReason(error: RpcErrorBody & { reason?: string }): string | undefined {
  if (typeof error.reason === 'string' && error.reason) return error.reason;
  const data = error.data;
  if (isRecord(data) && typeof data.reason === 'string' && data.reason) return data.reason;
  return undefined;
}

function argText(arg: DecodedCall['args'][number]): string {
  return arg.type === 'address' ? shortenAddress(arg.value) : (arg.formatted ?? arg.value);
}

/**
 * One line a person can check at a glance: `Token transfer: 12.5 TKN to 0xabc…`.
 * Token calls are found by their standard signatures; anything else is shown as `name(args)`.
 */
export function decodedCallSummary(call: DecodedCall): string {
  const symbol = call.token?.symbol;
  const address = call.args.find((arg) => arg.type === 'address');
  const amount = call.args.find((arg) => arg.type.startsWith('uint'));
  if (call.token && address && amount && call.args.length === 2) {
    const value = withSymbol(amount.formatted ?? amount.value, symbol);
    if (call.name === 'transfer') return `Token transfer: ${value} to ${shortenAddress(address.value)}`;
    if (call.name === 'approve') return `Token approval: ${shortenAddress(address.value)} may spend ${value}`;
  }
  return `${call.name}(${call.args.map(argText).join(', ')})`;
}
