/**
 * What the co-signer reads out of a payload it hashed itself: the policy's view of it, the audit
 * log's summary, and the decoded request approvers and devices are shown. No secrets.
 */
import { getAddress, keccak256, serializeSignature, toHex, type Hex } from 'viem';
import type { DecodedRequest, RequestResult } from '../channel/approval-protocol.js';
import type { RecoverableSignature } from '../mpc/ecdsa.js';
import { toViemSignature } from '../mpc/ethereum.js';
import { bytesToHex } from '../mpc/bytes.js';
import type { SignablePayload } from '../mpc/ethereum.js';
import type { AuditSummaryInput } from './audit/types.js';
import { decodeTokenCall } from './policy/token-calls.js';
import { DAILY_LIMIT_WINDOW_MS, type PolicyRequest, type WalletPolicy } from './policy/types.js';
import type { SigningRecord } from './store/types.js';

/**
 * What the store records with a signing: the audit summary and, for a transaction, its spend. With the
 * wallet's policy, the daily limit is checked again inside the transaction that records the spend:
 * the check before it (evaluatePolicy) cannot see what another co-signer process records meanwhile.
 */
export function signingRecord(summary: AuditSummaryInput, policyRequest: PolicyRequest, digest: Uint8Array, daily?: { policy: WalletPolicy; now: number }): SigningRecord {
  if (policyRequest.kind !== 'transaction') return { summary };
  const limit = daily?.policy.dailyLimitWei === undefined ? undefined : { limitWei: BigInt(daily.policy.dailyLimitWei), sinceMs: daily.now - DAILY_LIMIT_WINDOW_MS };
  return { summary, spend: { chainId: policyRequest.chainId, valueWei: policyRequest.value, digest: `0x${bytesToHex(digest)}`, ...(limit ? { limit } : {}) } };
}

export function toPolicyRequest(payload: SignablePayload): PolicyRequest {
  if (payload.kind === 'message') return { kind: 'message' };
  if (payload.kind === 'typedData') {
    const { domain, primaryType, message } = payload.typedData as { domain?: PolicyRequestDomain; primaryType?: string; message?: Record<string, unknown> };
    return { kind: 'typedData', domain: domain ?? {}, ...(primaryType ? { primaryType } : {}), ...(message ? { message } : {}) };
  }
  const tx = payload.transaction;
  return { kind: 'transaction', chainId: tx.chainId!, to: tx.to ?? null, value: tx.value ?? 0n, ...(tx.data ? { data: tx.data } : {}) };
}

type PolicyRequestDomain = Extract<PolicyRequest, { kind: 'typedData' }>['domain'];

/** What the audit log keeps of a payload: enough to say what was signed, nothing secret. */
export function describePayload(payload: SignablePayload, digest: Uint8Array): AuditSummaryInput {
  const digestHex = `0x${bytesToHex(digest)}`;
  if (payload.kind === 'message') {
    const message = payload.message;
    const text = typeof message === 'string' ? message : undefined;
    return { kind: 'message', digest: digestHex, ...(text !== undefined ? { preview: text.slice(0, 120), length: text.length } : { raw: true }) };
  }
  if (payload.kind === 'typedData') {
    const typed = payload.typedData as { domain?: Record<string, unknown>; primaryType?: string };
    const domain = typed.domain ?? {};
    return {
      kind: 'typedData',
      digest: digestHex,
      primaryType: typed.primaryType ?? null,
      domainName: typeof domain.name === 'string' ? domain.name : null,
      chainId: domain.chainId === undefined ? null : String(domain.chainId),
      verifyingContract: typeof domain.verifyingContract === 'string' ? domain.verifyingContract : null,
    };
  }
  const tx = payload.transaction;
  return {
    kind: 'transaction',
    digest: digestHex,
    chainId: tx.chainId ?? null,
    to: tx.to ?? null,
    valueWei: (tx.value ?? 0n).toString(),
    nonce: tx.nonce ?? null,
    selector: tx.data && tx.data.length >= 10 ? tx.data.slice(0, 10) : null,
  };
}

/** The decoded request approvers and the device are shown: the co-signer's own reading of what it will sign. */
export function decodeForApproval(payload: SignablePayload): DecodedRequest {
  if (payload.kind === 'message') {
    const message = payload.message;
    if (typeof message === 'string') return { kind: 'message', text: message.slice(0, 2000), bytes: new TextEncoder().encode(message).length };
    const raw = typeof message.raw === 'string' ? message.raw : `0x${bytesToHex(message.raw)}`;
    return { kind: 'message', text: null, bytes: (raw.length - 2) / 2 };
  }
  if (payload.kind === 'typedData') {
    const typed = payload.typedData as { domain?: Record<string, unknown>; primaryType?: string };
    const domain = typed.domain ?? {};
    const text = (value: unknown) => (value === undefined || value === null ? null : String(value));
    return { kind: 'typedData', primaryType: typed.primaryType ?? null, domain: { name: text(domain.name), version: text(domain.version), chainId: text(domain.chainId), verifyingContract: text(domain.verifyingContract) } };
  }
  const tx = payload.transaction;
  const data = tx.data && tx.data.length > 2 ? tx.data : undefined;
  const token = data ? decodeTokenCall(data) : undefined;
  return {
    kind: 'transaction',
    chainId: tx.chainId!,
    to: tx.to ? getAddress(tx.to) : null,
    valueWei: (tx.value ?? 0n).toString(),
    nonce: tx.nonce ?? null,
    selector: data ? (data.slice(0, 10) as Hex) : null,
    dataBytes: data ? (data.length - 2) / 2 : 0,
    ...(token && token !== 'malformed' ? { token: { functionName: token.functionName, counterparty: token.counterparty, role: token.role, amount: token.amount.toString() } } : {}),
  };
}

/** What a finished signature leaves in its request: r || s || v, and for a transaction the signed transaction and its hash. */
export function signatureResult(payload: SignablePayload, signature: RecoverableSignature): RequestResult {
  const compact = serializeSignature({ r: toHex(signature.r, { size: 32 }), s: toHex(signature.s, { size: 32 }), v: BigInt(27 + signature.recid) });
  if (payload.kind !== 'transaction') return { signature: compact };
  const rawTransaction = toViemSignature(payload, signature);
  return { signature: compact, rawTransaction, transactionHash: keccak256(rawTransaction) };
}
