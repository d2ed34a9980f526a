/**
 * What a dapp hears when the co-signer holds its request for the wallet's approvers
 * (APPROVAL_PENDING): -32002 with the request id, who must approve, and where to follow it.
 */
import type { RequestQuorum, RequestView } from '../../channel/approval-protocol.js';
import type { CosignerRefusedError } from '../../channel/protocol-conversation.js';
import { ApprovalPendingError, type ApprovalPendingData } from '../errors.js';

type Kind = 'transaction' | 'typedData' | 'message';

const WHAT: Record<Kind, string> = { transaction: 'This transaction', typedData: 'This typed-data signature', message: 'This message signature' };

/** `alice`, `one of alice or bob`, `2 of alice, bob and carol`; rules joined with `and`. */
export function approversPhrase(quorums: readonly Pick<RequestQuorum, 'quorum' | 'approvers'>[]): string {
  return quorums
    .map(({ quorum, approvers }) => {
      const names = approvers.map((approver) => approver.name);
      if (names.length === 0) return `${quorum} approver${quorum === 1 ? '' : 's'}`;
      if (names.length === 1) return names[0]!;
      const list = `${names.slice(0, -1).join(', ')}${quorum === 1 ? ' or ' : ' and '}${names.at(-1)!}`;
      return quorum === names.length ? `all of ${list}` : `${quorum === 1 ? 'one' : quorum} of ${list}`;
    })
    .join(', and by ');
}

/**
 * The error a dapp gets for a held request. `view` is the request as the co-signer describes it
 * (for the approvers' names and the expiry); without it, the co-signer's own sentence is used.
 */
export function approvalPendingError(refusal: CosignerRefusedError, kind: Kind, view?: Pick<RequestView, 'requestId' | 'quorums' | 'expiresAt'>): ApprovalPendingError {
  const requestId = view?.requestId ?? refusal.rule ?? 'unknown';
  const outcome = kind === 'transaction' ? 'it will be signed and sent once approved' : 'it will be signed once approved';
  const data: ApprovalPendingData = { reason: 'APPROVAL_PENDING', requestId, state: 'pending-approval' };
  if (!view) return new ApprovalPendingError(`${refusal.shortMessage} See Tandem's Activity page.`, data, { cause: refusal });
  const names = view.quorums.flatMap((quorum) => quorum.approvers.map((approver) => approver.name));
  const message = `${WHAT[kind]} is waiting for approval by ${approversPhrase(view.quorums)} (request ${requestId}); ${outcome}. See Tandem's Activity page.`;
  return new ApprovalPendingError(message, { ...data, approvers: names, expiresAt: view.expiresAt }, { cause: refusal });
}
