/** Row shapes and pure logic of approvers and held requests, shared by both store backends. */
import type { Hex } from 'viem';
import type { DecodedRequest, RequestDecision, RequestQuorum, RequestResult, RequestState, RequestView } from '../../channel/approval-protocol.js';
import { tallyDecisions } from '../approvals/quorum.js';
import type { AuditEntryInput } from '../audit/types.js';
import type { ApproverRecord } from './types.js';

export interface RequestRow {
  request_id: string;
  wallet_id: string;
  device_id: string;
  state: RequestState;
  payload_json: string;
  digest: string;
  payload_hash: string;
  decoded: string;
  quorums: string;
  generation: number;
  sealed: Uint8Array | null;
  result: string | null;
  created_at: number;
  expires_at: number;
  updated_at: number;
  address: string | null;
}

/** Named columns, never `*`: a prepared statement whose result columns change with a migration fails (PostgreSQL). */
export const APPROVER_SELECT = 'SELECT approver_id, name, identity_public_key, status, created_at, removed_at FROM approvers';

export interface ApproverRow {
  approver_id: string;
  name: string;
  identity_public_key: string;
  status: 'active' | 'removed';
  created_at: number;
  removed_at: number | null;
}

export interface DecisionRow {
  approver_id: string;
  name: string | null;
  verdict: 'approve' | 'reject';
  decided_at: number;
  signature: string;
}

export const REQUEST_SELECT = `
  SELECT r.request_id, r.wallet_id, r.device_id, r.state, r.payload_json, r.digest, r.payload_hash, r.decoded, r.quorums,
         r.generation, r.sealed, r.result, r.created_at, r.expires_at, r.updated_at, w.address
  FROM approval_requests r JOIN wallets w ON w.wallet_id = r.wallet_id`;

export const DECISIONS_SELECT =
  'SELECT d.approver_id, a.name, d.verdict, d.decided_at, d.signature FROM approval_decisions d LEFT JOIN approvers a ON a.approver_id = d.approver_id WHERE d.request_id = ? ORDER BY d.received_at';

/** What is kept sealed with a held request: enough to finish the signature, nothing more. */
export interface HeldSigningState {
  /** SignParty.exportState() of the co-signer's presignature. */
  presignature: string;
  /** The device's online message(s) for this digest, as encoded ProtocolMessages in hex. */
  deviceMessages: string[];
}

export const EXPIRED_ERROR = (expiresAt: number) => `Not approved before ${new Date(expiresAt).toISOString()}; its presignature was destroyed unused.`;
export const INTERRUPTED_ERROR = 'The co-signer stopped while signing this request; send it again.';
export const HELD_DROPPED_ERROR = "The wallet's key shares were refreshed, restored or locked before this request was signed; its presignature went with them. Send it again.";
export const DEVICE_REVOKED_ERROR = 'The device that sent this request was revoked before it was signed.';
export const BAD_CODE_MESSAGE = 'This approver enrollment code is unknown, used or expired; ask the operator for a new one (npm run cosigner -- approvers invite <name>).';

export function heldContext(requestId: string, walletId: string, generation: number): ['approval-requests', string, string, number] {
  return ['approval-requests', requestId, walletId, generation];
}

export function toApprover(row: ApproverRow): ApproverRecord {
  return {
    approverId: row.approver_id,
    name: row.name,
    identityPublicKey: row.identity_public_key,
    status: row.status,
    createdAt: row.created_at,
    ...(row.removed_at === null ? {} : { removedAt: row.removed_at }),
  };
}

export function toDecision(row: DecisionRow): RequestDecision {
  return { approverId: row.approver_id, name: row.name ?? row.approver_id, verdict: row.verdict, decidedAt: row.decided_at, signature: row.signature as Hex };
}

export function toView(row: RequestRow, decisions: RequestDecision[]): RequestView {
  return {
    requestId: row.request_id,
    walletId: row.wallet_id,
    address: (row.address ?? null) as Hex | null,
    deviceId: row.device_id,
    state: row.state,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    updatedAt: row.updated_at,
    payloadJson: row.payload_json,
    digest: row.digest as Hex,
    payloadHash: row.payload_hash as Hex,
    decoded: JSON.parse(row.decoded) as DecodedRequest,
    quorums: JSON.parse(row.quorums) as RequestQuorum[],
    decisions,
    ...(row.result ? { result: JSON.parse(row.result) as RequestResult } : {}),
  };
}

/** Where the decisions leave a request, counting only approvers that are still enrolled (`active`). */
export function tally(row: RequestRow, decisions: RequestDecision[], active: ReadonlySet<string>): ReturnType<typeof tallyDecisions> {
  const quorums = JSON.parse(row.quorums) as RequestQuorum[];
  return tallyDecisions(
    quorums.map((quorum) => ({ rule: quorum.rule, quorum: quorum.quorum, approvers: quorum.approvers.map((approver) => approver.approverId).filter((id) => active.has(id)) })),
    decisions.map((decision) => ({ approverId: decision.approverId, verdict: decision.verdict })),
  );
}

/** Every approver id a request's quorums name. */
export function namedApprovers(row: RequestRow): string[] {
  return [...new Set((JSON.parse(row.quorums) as RequestQuorum[]).flatMap((quorum) => quorum.approvers.map((approver) => approver.approverId)))];
}

/** Native value (wei) on `chainId` of held transactions (rows of requests still pending or approved), except one. */
export function heldValueOf(rows: readonly { request_id: string; decoded: string }[], chainId: number, exceptRequestId?: string): bigint {
  let total = 0n;
  for (const row of rows) {
    if (row.request_id === exceptRequestId) continue;
    const decoded = JSON.parse(row.decoded) as DecodedRequest;
    if (decoded.kind === 'transaction' && decoded.chainId === chainId) total += BigInt(decoded.valueWei);
  }
  return total;
}

/** The audit row of a request moving on, or undefined for approved (audited as its decision). */
export function moveAuditEntry(row: RequestRow, to: RequestState, now: number, result?: RequestResult): AuditEntryInput | undefined {
  if (to === 'approved') return undefined;
  // Not `state`: the audit log refuses that key as a secret (presignature states).
  return {
    kind: to === 'signed' || to === 'broadcast' ? 'sign' : 'refuse',
    walletId: row.wallet_id,
    at: now,
    summary: { requestId: row.request_id, requestState: to, digest: row.digest, ...(result?.transactionHash ? { transactionHash: result.transactionHash } : {}), ...(result?.error ? { reason: result.error } : {}) },
  };
}

export function holdAuditEntry(input: { requestId: string; walletId: string; deviceId: string; digest: Hex; payloadHash: Hex; quorums: RequestQuorum[]; expiresAt: number }, now: number): AuditEntryInput {
  return {
    kind: 'hold',
    walletId: input.walletId,
    deviceId: input.deviceId,
    at: now,
    summary: { requestId: input.requestId, digest: input.digest, payloadHash: input.payloadHash, rules: input.quorums.map((quorum) => quorum.rule), expiresAt: new Date(input.expiresAt).toISOString() },
  };
}
