/**
 * A list of held requests as the co-signer last described them, kept current by its mail: a fresh
 * list replaces it, each update replaces (or adds) one request. Shared by the wallet's Activity page
 * and the approver page; `isPendingForYou` says which requests the count covers.
 */
import type { RequestView } from '../../channel/approval-protocol.js';
import type { RpcErrorBody } from '../api.js';
import { toRpcError } from '../errors.js';

export interface HeldList {
  requests: RequestView[];
  pendingForYou: number;
  /** When the co-signer last sent the whole list (unix ms). */
  listedAt: number;
}

/** A list older than this is asked for again when a page wants it. */
export const STALE_MS = 15_000;

export function isStale(list: HeldList | undefined): boolean {
  return !list || Date.now() - list.listedAt > STALE_MS;
}

/** Asks the co-signer again when `fresh` or when the list is old; a failure is returned for the page, which shows what it has. */
export async function refreshWhenAsked(list: HeldList | undefined, fresh: boolean, refresh: () => Promise<unknown>): Promise<RpcErrorBody | undefined> {
  if (!fresh && !isStale(list)) return undefined;
  try {
    await refresh();
    return undefined;
  } catch (error) {
    return toRpcError(error);
  }
}

/** Requests kept per list: the co-signer lists at most this many too. */
export const LIST_LIMIT = 50;

/** The list after one update: the request replaced or put first, and the count moved by what changed. */
export function mergeUpdate(list: HeldList, request: RequestView, isPendingForYou: (request: RequestView) => boolean): HeldList {
  const index = list.requests.findIndex((known) => known.requestId === request.requestId);
  const previous = index === -1 ? undefined : list.requests[index]!;
  // Mail can arrive out of order: an older description never replaces a newer one.
  if (previous && previous.updatedAt > request.updatedAt) return list;
  const requests = index === -1 ? [request, ...list.requests].slice(0, LIST_LIMIT) : list.requests.map((known, at) => (at === index ? request : known));
  const delta = Number(isPendingForYou(request)) - Number(previous ? isPendingForYou(previous) : false);
  return { ...list, requests, pendingForYou: Math.max(0, list.pendingForYou + delta) };
}
