/**
 * The wallet's Activity: its requests that the co-signer holds for approvers, as the co-signer
 * lists and mails them, with what this browser knows besides (the site that asked, a transaction
 * it sent itself). Kept in worker memory while unlocked; the co-signer is the record.
 *
 * A transaction the approvers let through is signed by the co-signer, which sends it when it has an
 * RPC for the chain. When it stays 'signed' (no RPC there), this browser checks the signed bytes and
 * sends them through the chain's RPC itself.
 */
import { BaseError } from 'viem';
import type { RequestView } from '../../channel/approval-protocol.js';
import type { CosignerRefusedError } from '../../channel/protocol-conversation.js';
import type { ActivityView, HeldCounts, HeldRequestView } from '../api.js';
import { chainClient } from '../chain-client.js';
import { WalletError, type ApprovalPendingError } from '../errors.js';
import { readSettings } from '../settings.js';
import { onLockChange, onRequestUpdate, onWalletOpened, requireSession, walletAddress } from '../wallet.js';
import { approvalPendingError } from './approval-pending.js';
import { describeContext } from './describe-context.js';
import { describePayload, heldRequestView, type DescribeContext, type DescribedPayload } from './describe-held.js';
import { isStale, LIST_LIMIT, mergeUpdate, refreshWhenAsked, type HeldList } from './held-list.js';
import { heldNote, heldNotes, writeHeldNote } from './held-notes.js';
import { checkSignedTransaction, leftToThisBrowser, sendSigned } from './send-signed.js';

/** How long a transaction may stay 'signed' before this browser sends it: the co-signer, when it has an RPC, sends first. */
export const SEND_GRACE_MS = 8_000;
/** How long the dapp's error waits for the co-signer to name the approvers. */
const EXPLAIN_TIMEOUT_MS = 4_000;

let list: HeldList | undefined;
let refreshing: Promise<HeldList> | undefined;
const descriptions = new Map<string, Promise<DescribedPayload>>();
/** Requests this worker has already tried to send (once per worker life; the notes keep the outcome). */
const sendAttempts = new Set<string>();

const isWaiting = (request: RequestView) => request.state === 'pending-approval';

onRequestUpdate((request) => {
  if (list) list = mergeUpdate(list, request, isWaiting);
  else void refresh().catch(() => undefined);
  considerSending(request);
});

onLockChange((locked) => {
  if (!locked) return;
  list = undefined;
  refreshing = undefined;
  descriptions.clear();
});

// Opened (unlock, or a worker restart): learn the count for the header, and catch up with transactions signed meanwhile.
onWalletOpened(() => void refresh().catch(() => undefined));

function refresh(): Promise<HeldList> {
  refreshing ??= (async () => {
    try {
      const session = await requireSession();
      const listed = await session.requests({ limit: LIST_LIMIT });
      list = { requests: listed.requests, pendingForYou: listed.pendingForYou, listedAt: Date.now() };
      for (const request of list.requests) considerSending(request);
      return list;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** The Activity page: the last known list, asked for again when `fresh` or when it is old. */
export async function activity(fresh: boolean): Promise<ActivityView> {
  await requireSession();
  const failure = await refreshWhenAsked(list, fresh, refresh);
  const known = list;
  const requests = known ? await views(known.requests) : [];
  return { requests, pendingForYou: known?.pendingForYou ?? 0, updatedAt: known?.listedAt ?? 0, ...(failure ? { error: failure } : {}) };
}

/** The header's count; an old one is asked for again in the background. */
export function walletPendingCount(): HeldCounts['walletPending'] {
  if (isStale(list)) void refresh().catch(() => undefined);
  return list?.pendingForYou;
}

async function views(requests: RequestView[]): Promise<HeldRequestView[]> {
  const [notes, context] = await Promise.all([heldNotes(), describeContext()]);
  return Promise.all(
    requests.map(async (request) => {
      const note = notes.get(request.requestId);
      return heldRequestView(request, await describe(request, context), { ...(note?.origin ? { origin: note.origin } : {}), ...(note?.sentHere ? { sentHere: note.sentHere } : {}) });
    }),
  );
}

/** A payload never changes under its request id: described once (a failed chain read is tried again next time). */
function describe(request: RequestView, context: DescribeContext): Promise<DescribedPayload> {
  let described = descriptions.get(request.requestId);
  if (!described) {
    described = describePayload(request, context);
    descriptions.set(request.requestId, described);
    // A failed or incomplete description (the chain did not answer) is made again next time.
    described.then(
      (done) => done.incomplete && descriptions.delete(request.requestId),
      () => descriptions.delete(request.requestId),
    );
  }
  return described;
}

/**
 * The dapp's answer for a request the co-signer now holds: -32002 naming the approvers (asked of
 * the co-signer, briefly) and the request id. The site that asked is noted for the Activity page.
 */
export async function heldForApproval(refusal: CosignerRefusedError, kind: 'transaction' | 'typedData' | 'message', asked: { origin: string; method: string }): Promise<ApprovalPendingError> {
  const requestId = refusal.rule;
  if (!requestId) return approvalPendingError(refusal, kind);
  await writeHeldNote(requestId, { origin: asked.origin, method: asked.method, heldAt: Date.now() }).catch(() => undefined);
  const view = await requireSession()
    .then((session) => withTimeout(session.request(requestId), EXPLAIN_TIMEOUT_MS))
    .catch(() => undefined);
  if (view && list) list = mergeUpdate(list, view, isWaiting);
  else if (!list) void refresh().catch(() => undefined);
  return approvalPendingError(refusal, kind, view);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A signed transaction the co-signer did not send: after the grace period, if it still did not, this browser sends it. */
function considerSending(request: RequestView): void {
  if (!leftToThisBrowser(request)) return;
  if (sendAttempts.has(request.requestId)) return;
  sendAttempts.add(request.requestId);
  const wait = Math.max(0, request.updatedAt + SEND_GRACE_MS - Date.now());
  setTimeout(() => void sendIfStillSigned(request.requestId).catch(() => undefined), wait);
}

async function sendIfStillSigned(requestId: string): Promise<void> {
  const session = await requireSession();
  const latest = await session.request(requestId);
  if (list) list = mergeUpdate(list, latest, isWaiting);
  const raw = latest.result?.rawTransaction;
  if (!leftToThisBrowser(latest) || !raw || latest.decoded.kind !== 'transaction') return;
  const note = await heldNote(requestId);
  if (note?.sentHere && 'transactionHash' in note.sentHere) return;
  const address = await walletAddress();
  try {
    if (!address) throw new WalletError('NOT_INITIALISED', 'The wallet has no address.');
    await checkSignedTransaction(latest, raw, address);
    const settings = await readSettings();
    const transactionHash = await sendSigned(raw, latest.decoded.chainId, settings.chains, chainClient);
    await writeHeldNote(requestId, { sentHere: { at: Date.now(), transactionHash } });
  } catch (error) {
    await writeHeldNote(requestId, { sentHere: { at: Date.now(), error: sendFailure(error) } });
  }
}

/** What the Activity page says about a failed send: the node's short words, never a stack. */
function sendFailure(error: unknown): string {
  if (error instanceof WalletError) return error.shortMessage;
  if (error instanceof BaseError) return `The node refused it: ${error.shortMessage}`;
  return 'The node could not be reached.';
}
