/** Words for held requests: states, who must agree, who decided, and one line per payload. */
import type { HeldDetails, HeldRequestState, HeldRequestView } from '../../background/api.js';
import { shortenAddress, withSymbol } from '../format.js';

const stateText: Record<HeldRequestState, string> = {
  'pending-approval': 'Waiting for approvers',
  approved: 'Approved; being signed',
  rejected: 'Rejected',
  expired: 'Expired unapproved',
  signed: 'Signed',
  broadcast: 'Sent',
  failed: 'Failed',
};

export function heldStateLabel(state: HeldRequestState): string {
  return stateText[state];
}

const titles: Record<HeldDetails['kind'], string> = { message: 'Message signature', typedData: 'Typed-data signature', transaction: 'Transaction' };

export function heldTitle(view: Pick<HeldRequestView, 'details'>): string {
  return view.details ? titles[view.details.kind] : 'Request';
}

/** `1 of alice (rule large)`, `2 of alice, bob, carol (rule treasury)`. */
export function quorumText(quorum: HeldRequestView['quorums'][number]): string {
  const names = quorum.approvers.map((approver) => approver.name).join(', ') || 'no enrolled approver';
  return `${quorum.quorum} of ${names} (rule ${quorum.rule})`;
}

export function decisionText(decision: HeldRequestView['decisions'][number]): string {
  return `${decision.name} ${decision.verdict === 'approve' ? 'approved' : 'rejected'}`;
}

/** One line that says what the request does, before its details are opened. */
export function heldSummary(details: HeldDetails | undefined): string {
  if (!details) return 'Not shown: it does not match its hashes.';
  switch (details.kind) {
    case 'transaction':
      return `${withSymbol(details.valueFormatted, details.chain.symbol)} to ${details.to ? shortenAddress(details.to) : 'a new contract'} on ${details.chain.name}`;
    case 'message': {
      const text = details.text ?? details.hex;
      return text.length > 60 ? `${text.slice(0, 60)}…` : text;
    }
    case 'typedData': {
      const name = typeof details.domain.name === 'string' ? ` for ${details.domain.name}` : '';
      return `${details.primaryType}${name}`;
    }
  }
}

export function timeText(unixMs: number): string {
  return new Date(unixMs).toLocaleString();
}
