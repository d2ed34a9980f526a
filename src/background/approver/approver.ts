/**
 * This browser as an approver for other wallets: enrolled once with the operator's code at the
 * configured co-signer, its record sealed in the vault, its session open while the wallet is
 * unlocked. It lists the requests it is an approver of (kept current by the co-signer's mail) and
 * signs decisions over exactly the request the page showed.
 */
import type { RequestView } from '../../channel/approval-protocol.js';
import { ApproverSession, enrollApprover } from '../../channel/approver-session.js';
import { ChannelError } from '../../channel/errors.js';
import { MailRefusedError } from '../../channel/mailbox.js';
import type { ApproverView, HeldRequestView, HeldVerdict } from '../api.js';
import { WalletError } from '../errors.js';
import { describeContext } from '../held-requests/describe-context.js';
import { describePayload, heldRequestView, type DescribedPayload } from '../held-requests/describe-held.js';
import { isStale, LIST_LIMIT, mergeUpdate, refreshWhenAsked, type HeldList } from '../held-requests/held-list.js';
import { postJson } from '../post-json.js';
import { readSettings } from '../settings.js';
import type { VaultStore } from '../vault.js';
import { onLockChange, onWalletOpened, unlockedVault } from '../wallet.js';
import { openApprover, readSealedApprover, sealApprover } from './approver-vault.js';


interface Open {
  store: VaultStore;
  session: ApproverSession;
}

let open: Open | undefined;
/** Opening and closing one at a time: two sessions would share one MQTT client id, and the broker keeps only one. */
let sessionQueue: Promise<unknown> = Promise.resolve();
let list: HeldList | undefined;
let refreshing: Promise<HeldList> | undefined;
const descriptions = new Map<string, Promise<DescribedPayload>>();

onLockChange((locked) => {
  if (locked) void forget();
});

// The wallet opened (unlock, worker restart): an approver connects now, so mail that waited arrives and the header knows its count.
onWalletOpened(() => {
  void readSealedApprover().then((sealed) => (sealed ? refresh() : undefined)).catch(() => undefined);
});

async function requireVault(): Promise<VaultStore> {
  const store = await unlockedVault();
  if (!store) throw new WalletError('LOCKED', 'The wallet is locked: unlock it in the Tandem popup.');
  return store;
}

function serially<T>(work: () => Promise<T>): Promise<T> {
  const next = sessionQueue.then(work);
  sessionQueue = next.catch(() => undefined);
  return next;
}

/** The approver session for the open vault; undefined when this browser is no approver. */
function session(): Promise<Open | undefined> {
  return serially(async () => {
    const store = await requireVault();
    if (open?.store === store) return open;
    if (open) await closeOpen();
    const sealed = await readSealedApprover();
    if (!sealed) return undefined;
    const record = await openApprover(store, sealed);
    const approver = new ApproverSession(record, {
      postJson,
      onRecordChange: (renewed) => sealApprover(store, renewed),
      onUpdate: (request) => {
        if (list) list = mergeUpdate(list, request, (view) => waitsFor(view, record.approverId));
        else void refresh().catch(() => undefined);
      },
    });
    // Connecting now delivers what waited at the broker while this approver was away.
    approver.connect().catch(() => undefined);
    open = { store, session: approver };
    return open;
  });
}

async function requireSession(): Promise<Open> {
  const opened = await session();
  if (!opened) throw new WalletError('NOT_AN_APPROVER', 'This browser is not an approver yet: enter the enrollment code your co-signer operator gave you.');
  return opened;
}

async function closeOpen(): Promise<void> {
  const current = open;
  open = undefined;
  list = undefined;
  refreshing = undefined;
  descriptions.clear();
  await current?.session.close().catch(() => undefined);
}

/** Closes the session (on lock, or after its connection failed: the next call opens a fresh one). */
function forget(): Promise<void> {
  return serially(closeOpen);
}

/** Runs `work` on the session; a broken connection (not a refusal) is dropped so the next call reconnects. */
async function withSession<T>(work: (open: Open) => Promise<T>): Promise<T> {
  const opened = await requireSession();
  try {
    return await work(opened);
  } catch (error) {
    if (error instanceof ChannelError && !(error instanceof MailRefusedError)) await forget();
    throw error;
  }
}

function waitsFor(request: RequestView, approverId: string): boolean {
  return request.state === 'pending-approval' && !request.decisions.some((decision) => decision.approverId === approverId);
}

function refresh(): Promise<HeldList> {
  refreshing ??= withSession(async (opened) => {
    const listed = await opened.session.list({ limit: LIST_LIMIT });
    list = { requests: listed.requests, pendingForYou: listed.pendingForYou, listedAt: Date.now() };
    return list;
  }).finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** The approver page: whether this browser is an approver, and its requests (asked for again when `fresh` or old). */
export async function approverView(fresh: boolean): Promise<ApproverView> {
  await requireVault();
  const sealed = await readSealedApprover();
  if (!sealed) return { enrolled: false, cosignerUrl: (await readSettings()).cosignerUrl };
  const failure = await refreshWhenAsked(list, fresh, refresh);
  const known = list;
  return {
    enrolled: true,
    approverId: sealed.approverId,
    name: sealed.name,
    cosignerUrl: sealed.cosignerUrl,
    requests: known ? await views(known.requests, sealed.approverId) : [],
    pendingForYou: known?.pendingForYou ?? 0,
    updatedAt: known?.listedAt ?? 0,
    ...(failure ? { error: failure } : {}),
  };
}

/** The header's count while this browser is an approver and unlocked; an old one is asked for again in the background. */
export async function approverPendingCount(): Promise<number | undefined> {
  if (!(await unlockedVault()) || !(await readSealedApprover())) return undefined;
  if (isStale(list)) void refresh().catch(() => undefined);
  return list?.pendingForYou;
}

async function views(requests: RequestView[], approverId: string): Promise<HeldRequestView[]> {
  const context = await describeContext();
  return Promise.all(
    requests.map(async (request) => {
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
      const mine = request.decisions.find((decision) => decision.approverId === approverId);
      const payload = await described;
      return heldRequestView(request, payload, { ...(mine ? { yourVerdict: mine.verdict } : {}), canDecide: waitsFor(request, approverId) && !payload.tampered });
    }),
  );
}

/** Enrolls this browser as an approver at the configured co-signer, with the operator's one-time code. */
export async function enroll(enrollmentCode: string): Promise<ApproverView> {
  const store = await requireVault();
  if (await readSealedApprover()) throw new WalletError('ALREADY_AN_APPROVER', 'This browser is already an approver.');
  const code = enrollmentCode.trim();
  if (!code) throw new WalletError('BAD_SETTING', 'Enter the enrollment code your co-signer operator gave you.');
  const { cosignerUrl } = await readSettings();
  const record = await enrollApprover({ cosignerUrl, enrollmentCode: code, postJson });
  await sealApprover(store, record, Date.now());
  await forget();
  return approverView(true);
}

/**
 * Signs and sends a decision over the request as the page showed it: the payload hash the page
 * names must be that of the request listed here, which still waits for this approver.
 */
export async function decide(requestId: string, verdict: HeldVerdict, payloadHash: `0x${string}`): Promise<ApproverView> {
  if (verdict !== 'approve' && verdict !== 'reject') throw new WalletError('BAD_SETTING', 'A decision is approve or reject.');
  if (!list) await refresh();
  await withSession(async (opened) => {
    const shown = list?.requests.find((request) => request.requestId === requestId);
    if (!shown || shown.payloadHash !== payloadHash) throw new WalletError('REQUEST_CHANGED', 'This request is not the one shown (or is no longer listed): look at it again, then decide.');
    if (!waitsFor(shown, opened.session.approverId)) throw new WalletError('REQUEST_CHANGED', `Request ${requestId} no longer waits for your decision (it is ${shown.state}).`);
    const { request } = await opened.session.decide(requestId, verdict, shown);
    if (list) list = mergeUpdate(list, request, (view) => waitsFor(view, opened.session.approverId));
  });
  return approverView(false);
}
