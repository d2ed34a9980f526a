/**
 * Which approval rules a request falls under, and where its decisions leave it. Pure.
 * A request must satisfy every rule it matches: approved once each has its quorum, rejected as
 * soon as one can no longer reach it.
 */
import type { DecisionVerdict } from '../../channel/approval-protocol.js';
import type { ApprovalMatch, ApprovalRule, PolicyRequest, WalletPolicy } from '../policy/types.js';

/** Approvers get a day unless the rule says otherwise. */
export const DEFAULT_APPROVAL_MINUTES = 24 * 60;

export function matchingApprovalRules(policy: WalletPolicy, request: PolicyRequest): ApprovalRule[] {
  return (policy.approvals ?? []).filter((rule) => rule.when.some((match) => matches(match, request)));
}

function matches(match: ApprovalMatch, request: PolicyRequest): boolean {
  if (match.kind !== undefined && match.kind !== request.kind) return false;
  if (match.chainIds !== undefined) {
    if (request.kind === 'message') return false;
    // Typed data whose domain names no chain is valid on every chain, so on the rule's too.
    const chainId = request.kind === 'transaction' ? BigInt(request.chainId) : request.domain.chainId !== undefined ? BigInt(request.domain.chainId) : undefined;
    if (chainId !== undefined && !match.chainIds.some((id) => BigInt(id) === chainId)) return false;
  }
  if (match.valueAboveWei !== undefined) {
    if (request.kind !== 'transaction' || request.value <= BigInt(match.valueAboveWei)) return false;
  }
  if (match.contractNotIn !== undefined) {
    if (request.kind !== 'transaction') return false;
    const deploys = request.to === undefined || request.to === null;
    const callsContract = request.data !== undefined && request.data.length > 2;
    if (!deploys && !callsContract) return false;
    if (!deploys && match.contractNotIn.some((address) => address.toLowerCase() === request.to!.toLowerCase())) return false;
  }
  return true;
}

/** When a request held under these rules expires: the shortest window among them. */
export function approvalExpiry(rules: readonly ApprovalRule[], now: number): number {
  const minutes = Math.min(...rules.map((rule) => rule.expiresAfterMinutes ?? DEFAULT_APPROVAL_MINUTES));
  return now + minutes * 60_000;
}

export interface Quorum {
  rule: string;
  quorum: number;
  approvers: readonly string[];
}

export type Tally = { outcome: 'pending' | 'approved' } | { outcome: 'rejected'; rule: string };

/** Each approver counts once per rule, with its one decision; decisions of non-approvers count nowhere. */
export function tallyDecisions(quorums: readonly Quorum[], decisions: readonly { approverId: string; verdict: DecisionVerdict }[]): Tally {
  let allMet = true;
  for (const quorum of quorums) {
    const verdictOf = (approverId: string) => decisions.find((decision) => decision.approverId === approverId)?.verdict;
    const approvals = quorum.approvers.filter((id) => verdictOf(id) === 'approve').length;
    const rejections = quorum.approvers.filter((id) => verdictOf(id) === 'reject').length;
    if (quorum.approvers.length - rejections < quorum.quorum) return { outcome: 'rejected', rule: quorum.rule };
    if (approvals < quorum.quorum) allMet = false;
  }
  return { outcome: allMet ? 'approved' : 'pending' };
}
