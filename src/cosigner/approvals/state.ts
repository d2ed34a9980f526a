/**
 * The life of a held request. Pure.
 *
 *   pending-approval ─→ approved ─→ signed ─→ broadcast
 *          │               │          │
 *          ├→ rejected     └→ failed  └→ failed (broadcast refused; the signed transaction is kept)
 *          ├→ expired
 *          └→ failed (its presignature went with a refresh, restore or lock)
 */
import type { RequestState } from '../../channel/approval-protocol.js';
import { DecisionRefusedError } from '../store/errors.js';

const NEXT: Record<RequestState, readonly RequestState[]> = {
  'pending-approval': ['approved', 'rejected', 'expired', 'failed'],
  approved: ['signed', 'failed'],
  signed: ['broadcast', 'failed'],
  rejected: [],
  expired: [],
  broadcast: [],
  failed: [],
};

export function canMove(from: RequestState, to: RequestState): boolean {
  return NEXT[from].includes(to);
}

export function assertMove(requestId: string, from: RequestState, to: RequestState): void {
  if (!canMove(from, to)) throw new DecisionRefusedError('NOT_PENDING', `Request ${requestId} is ${from}; it cannot become ${to}.`);
}
