/**
 * Holding a sign request for approvers: the device has done its part (its online message for
 * this exact digest, over a presignature it has now spent), so the co-signer keeps both sealed
 * until the quorum is met and tells the approvers by mail.
 */
import type { CosignerLog } from '../ops/log.js';
import type { Hex } from 'viem';
import { payloadHash, type DecodedRequest, type RequestQuorum, type RequestView } from '../../channel/approval-protocol.js';
import type { WirePayload } from '../../channel/cosigner-protocol.js';
import { bytesToHex, randomBytes } from '../../mpc/bytes.js';
import { CodedError } from '../../mpc/errors.js';
import { payloadFromWire } from '../../channel/cosigner-protocol.js';
import { encodeMessage, type ProtocolMessage } from '../../mpc/message.js';
import { decodeForApproval } from '../payload-summary.js';
import type { ApprovalRule } from '../policy/types.js';
import type { CosignerStore, WalletRecord } from '../store/types.js';
import { approvalExpiry } from './quorum.js';

/** Where held requests are announced: the approvers' mailboxes. */
export interface ApprovalDesk {
  announce(request: RequestView): Promise<void>;
}

/** A rule whose quorum its enrolled approvers can no longer reach (some were removed): nothing is held. */
export class ApprovalUnmeetableError extends CodedError<'APPROVAL_UNMEETABLE'> {
  override name = 'ApprovalUnmeetableError';
  constructor(
    readonly rule: string,
    shortMessage: string,
  ) {
    super('APPROVAL_UNMEETABLE', shortMessage);
  }
}

export interface HoldInput {
  wallet: WalletRecord;
  deviceId: string;
  presignatureId: string;
  wire: WirePayload;
  digest: Uint8Array;
  rules: ApprovalRule[];
  deviceMessages: ProtocolMessage[];
  /**
   * Checks the device's online message against the presignature (in the same transaction that
   * takes it), so a bad one aborts now, as it would for an immediate signature, and never waits for
   * approvers. Throws ProtocolAbortError when it does not combine into a valid signature.
   */
  verify?: (presignatureState: string) => void;
}

/** What every recorded request carries about its payload: the exact text, its hashes, the co-signer's decoding. */
export function requestFields(wire: WirePayload, digest: Uint8Array): { payloadJson: string; digest: Hex; payloadHash: Hex; decoded: DecodedRequest } {
  const payloadJson = JSON.stringify(wire);
  return { payloadJson, digest: `0x${bytesToHex(digest)}` as Hex, payloadHash: payloadHash(payloadJson), decoded: decodeForApproval(payloadFromWire(wire)) };
}

export async function holdForApproval(
  context: { store: CosignerStore; now: () => number; log: CosignerLog; desk?: ApprovalDesk },
  input: HoldInput,
): Promise<{ requestId: string; reason: string; request: RequestView }> {
  const quorums: RequestQuorum[] = [];
  for (const rule of input.rules) {
    const approvers: RequestQuorum['approvers'] = [];
    for (const approverId of rule.approvers) {
      const approver = await context.store.approvals.getApprover(approverId);
      if (approver?.status === 'active') approvers.push({ approverId, name: approver.name });
    }
    if (approvers.length < rule.quorum) {
      throw new ApprovalUnmeetableError(rule.id, `This request needs ${rule.quorum} approval(s) under rule ${rule.id}, but only ${approvers.length} of its approvers are enrolled. Ask the operator to fix the wallet's policy.`);
    }
    quorums.push({ rule: rule.id, quorum: rule.quorum, approvers });
  }
  if (!context.desk) throw new ApprovalUnmeetableError(input.rules[0]!.id, 'This co-signer cannot reach approvers (it runs without mail); requests that need approval are refused.');
  const requestId = newRequestId();
  const expiresAt = approvalExpiry(input.rules, context.now());
  const request = await context.store.holdSignRequest(
    {
      requestId,
      walletId: input.wallet.walletId,
      deviceId: input.deviceId,
      presignatureId: input.presignatureId,
      ...requestFields(input.wire, input.digest),
      quorums,
      expiresAt,
    },
    input.deviceMessages.map((message) => bytesToHex(encodeMessage(message))),
    input.verify,
  );
  context.log(`wallet ${input.wallet.walletId}: request ${requestId} held for approval (${quorums.map((quorum) => `${quorum.rule}: ${quorum.quorum} of ${quorum.approvers.length}`).join('; ')})`, { walletId: input.wallet.walletId, requestId });
  await context.desk.announce(request).catch((error: Error) => context.log(`request ${requestId}: announcing failed: ${error.message}`));
  const who = quorums.map((quorum) => `${quorum.quorum} of ${quorum.approvers.map((approver) => approver.name).join(', ')} (rule ${quorum.rule})`).join(' and ');
  const reason = `This request waits for approval by ${who}; request id ${requestId}, until ${new Date(expiresAt).toISOString()}. It will be signed${request.decoded.kind === 'transaction' ? ' and sent' : ''} once approved.`;
  return { requestId, reason, request };
}

export function newRequestId(): string {
  return bytesToHex(randomBytes(16));
}
