/**
 * Approvals: requests that a wallet's policy holds until enough approvers agreed, what the parties
 * say about them by mail (mail.ts), and the decision an approver signs.
 *
 * A decision is an identity signature (domain 'decision') over the request id, the wallet, the
 * exact digest the co-signer will sign and the hash of the exact payload the approver was shown,
 * so it can approve that request and nothing else. Whoever shows a request checks both hashes
 * against the payload itself (verifyRequestHashes) before showing it.
 */
import type { Hex } from 'viem';
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import { payloadDigest } from '../mpc/ethereum.js';
import { taggedHash } from '../mpc/hash.js';
import { payloadFromWire, type WirePayload } from './cosigner-protocol.js';
import { ChannelError } from './errors.js';
import { verifyIdentitySignature, type Identity } from './identity.js';
import type { RequestState } from './request-text.js';

// The states live in request-text.ts, which loads nothing at run time (the operator's CLI lists them in its help).
export { REQUEST_STATES, type RequestState } from './request-text.js';

/** States a request never leaves. */
export const FINAL_STATES: ReadonlySet<RequestState> = new Set(['rejected', 'expired', 'broadcast', 'failed']);

export const REQUEST_ID_PATTERN = /^[0-9a-f]{32}$/;

export type DecisionVerdict = 'approve' | 'reject';

/** What the co-signer decoded from the payload it hashed itself: what approvers and the device are shown. */
export type DecodedRequest =
  | {
      kind: 'transaction';
      chainId: number;
      /** null for a contract deployment. */
      to: Hex | null;
      valueWei: string;
      nonce: number | null;
      /** The first 4 bytes of calldata, when there is any. */
      selector: Hex | null;
      dataBytes: number;
      /** An ERC-20 transfer, transferFrom or approve, decoded. */
      token?: { functionName: string; counterparty: Hex; role: string; amount: string };
    }
  | {
      kind: 'typedData';
      primaryType: string | null;
      domain: { name: string | null; version: string | null; chainId: string | null; verifyingContract: string | null };
    }
  | { kind: 'message'; text: string | null; bytes: number };

export interface RequestDecision {
  approverId: string;
  name: string;
  verdict: DecisionVerdict;
  decidedAt: number;
  /** Identity signature (hex) over decisionMessage(). */
  signature: Hex;
}

/** One rule of the wallet's policy that this request must satisfy: `quorum` of `approvers`. */
export interface RequestQuorum {
  rule: string;
  quorum: number;
  approvers: { approverId: string; name: string }[];
}

export interface RequestResult {
  /** r || s || v (65 bytes hex), once signed. */
  signature?: Hex;
  /** The signed transaction, serialised, for a transaction. */
  rawTransaction?: Hex;
  transactionHash?: Hex;
  /** Why it failed, for a failed request. */
  error?: string;
}

/** A request as every party sees it. */
export interface RequestView {
  requestId: string;
  walletId: string;
  address: Hex | null;
  deviceId: string;
  state: RequestState;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
  /** JSON of the WirePayload, exactly as hashed into payloadHash. */
  payloadJson: string;
  digest: Hex;
  payloadHash: Hex;
  decoded: DecodedRequest;
  quorums: RequestQuorum[];
  decisions: RequestDecision[];
  result?: RequestResult;
}

/** The hash of the exact payload text an approver is shown. */
export function payloadHash(payloadJson: string): Hex {
  return `0x${bytesToHex(taggedHash('tandem/approval/payload/v1', payloadJson))}`;
}

/**
 * Checks a request's digest and payload hash against its payload, as the party showing it must:
 * a co-signer (or a broker) cannot get an approval for one payload while showing another.
 * Returns the parsed payload.
 */
export function verifyRequestHashes(view: Pick<RequestView, 'payloadJson' | 'digest' | 'payloadHash'>): WirePayload {
  if (payloadHash(view.payloadJson) !== view.payloadHash) throw mismatch('its payload does not match its payload hash');
  let wire: WirePayload;
  try {
    wire = JSON.parse(view.payloadJson) as WirePayload;
  } catch {
    throw mismatch('its payload is not JSON');
  }
  let digest: string;
  try {
    digest = `0x${bytesToHex(payloadDigest(payloadFromWire(wire)))}`;
  } catch {
    throw mismatch('its payload is not a payload that can be signed');
  }
  if (digest !== view.digest) throw mismatch('its digest is not the digest of its payload');
  return wire;
}

function mismatch(details: string): ChannelError {
  return new ChannelError('CHANNEL_TAMPERED', 'This request does not hash to what it claims; it was not shown and cannot be approved.', { details });
}

export interface DecisionFields {
  requestId: string;
  walletId: string;
  digest: Hex;
  payloadHash: Hex;
  verdict: DecisionVerdict;
  decidedAt: number;
}

export function decisionMessage(fields: DecisionFields): Uint8Array {
  return taggedHash(
    'tandem/approval/decision/v1',
    fields.requestId,
    fields.walletId,
    hexToBytes(fields.digest.slice(2)),
    hexToBytes(fields.payloadHash.slice(2)),
    fields.verdict,
    String(fields.decidedAt),
  );
}

/** A decision as an approver sends it. */
export interface SignedDecision extends DecisionFields {
  signature: Hex;
}

export function signDecision(identity: Identity, fields: DecisionFields): SignedDecision {
  return { ...fields, signature: `0x${bytesToHex(identity.sign('decision', decisionMessage(fields)))}` };
}

export function verifyDecision(identityPublicKey: Uint8Array, decision: SignedDecision): boolean {
  if (typeof decision.signature !== 'string' || !/^0x[0-9a-f]{128}$/i.test(decision.signature)) return false;
  try {
    return verifyIdentitySignature(identityPublicKey, 'decision', decisionMessage(decision), hexToBytes(decision.signature.slice(2)));
  } catch {
    return false;
  }
}

/** What a device or an approver mails the co-signer. `mailId` names the question, and the answer repeats it. */
export type MailToCosigner =
  /** Without requestId: the sender's requests (an approver's to decide, a device's own), newest first. */
  | { type: 'inquire'; mailId: string; requestId?: string; limit?: number }
  | { type: 'decide'; mailId: string; decision: SignedDecision };

/** What the co-signer mails a device or an approver. */
export type MailFromCosigner =
  | { type: 'requests'; replyTo: string; requests: RequestView[]; pendingForYou: number }
  | { type: 'decided'; replyTo: string; request: RequestView; counted: boolean }
  | { type: 'refused'; replyTo: string; code: MailRefusalCode; message: string }
  /** Unasked: a request changed (new for an approver, finished for its device). */
  | { type: 'update'; request: RequestView };

export type MailRefusalCode = 'BAD_REQUEST' | 'UNKNOWN_REQUEST' | 'NOT_AN_APPROVER' | 'BAD_DECISION' | 'NOT_PENDING' | 'EXPIRED' | 'CONFLICTING_DECISION';
