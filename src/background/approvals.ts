/**
 * Requests waiting for the user, one popup window each, persisted in storage.session so that a
 * worker restart loses none: the popup and the page's relay find them again by id. What an
 * approval does once approved lives in ./execute.ts.
 */
import browser from 'webextension-polyfill';
import type { ApprovalDetails, ApprovalStage, ApprovalView, RpcErrorBody, Warning } from './api.js';
import { POPUP_PAGE } from './api.js';
import { ProviderRpcError, WalletError, toRpcError } from './errors.js';
import { deliver } from './ports.js';
import { sessionGet, sessionRemove, sessionSet } from './session-storage.js';
import { emergencyBackup } from './emergency.js';
import { currentCosignerStatus } from './wallet.js';
import { bundleView } from './calls/run-bundle.js';

/** What approving does, in a form that survives storage (bigints as decimal strings). */
export type ApprovalAction =
  | { kind: 'connect' }
  | { kind: 'message'; data: `0x${string}` }
  | { kind: 'typedData'; typedData: unknown }
  | { kind: 'transaction'; transaction: Record<string, unknown>; chainId: number }
  | { kind: 'addChain' }
  /** wallet_sendCalls: the exact transactions (nonces in order); `ref` is the bundle's key in IndexedDB once approved. */
  | { kind: 'calls'; ref: string; bundleId: string; chainId: number; transactions: Record<string, unknown>[] }
  | { kind: 'watchAsset' };

export interface ApprovalRecord {
  id: string;
  /** Where the answer goes: the page's request id and the tab it came from. */
  requestKey: string;
  origin: string;
  method: string;
  createdAt: number;
  details: ApprovalDetails;
  warnings: Warning[];
  action: ApprovalAction;
  stage: ApprovalStage;
  windowId?: number;
  error?: RpcErrorBody;
  result?: unknown;
  /** A signed transaction, kept from signing until it was broadcast, so a restart resends it. */
  rawTransaction?: `0x${string}`;
  finishedAt?: number;
}

const INDEX_KEY = 'approvals';
const MAX_PENDING_PER_ORIGIN = 5;
const MAX_PENDING_TOTAL = 20;
const recordKey = (id: string) => `approval:${id}`;
/** Finished approvals stay this long for the popup and for a relay that resumes late. */
const KEEP_FINISHED_MS = 10 * 60_000;
const FINAL: ReadonlySet<ApprovalStage> = new Set(['done', 'rejected', 'failed', 'held']);

export const requestKeyOf = (tabId: number | undefined, requestId: string) => `${tabId ?? 'none'}:${requestId}`;

let indexWrites: Promise<unknown> = Promise.resolve();

/** Read-modify-write of the id list, one at a time. */
function changeIndex(change: (ids: string[]) => string[]): Promise<string[]> {
  const next = indexWrites.then(async () => {
    const ids = change(((await sessionGet(INDEX_KEY)) as string[] | undefined) ?? []);
    await sessionSet({ [INDEX_KEY]: ids });
    return ids;
  });
  indexWrites = next.catch(() => undefined);
  return next;
}

export async function getApproval(id: string): Promise<ApprovalRecord | undefined> {
  return (await sessionGet(recordKey(id))) as ApprovalRecord | undefined;
}

export async function saveApproval(record: ApprovalRecord): Promise<void> {
  await sessionSet({ [recordKey(record.id)]: record });
}

export async function allApprovals(): Promise<ApprovalRecord[]> {
  const ids = ((await sessionGet(INDEX_KEY)) as string[] | undefined) ?? [];
  const records = await Promise.all(ids.map(getApproval));
  return records.filter((record): record is ApprovalRecord => record !== undefined);
}

export async function findByRequestKey(requestKey: string): Promise<ApprovalRecord | undefined> {
  return (await allApprovals()).find((record) => record.requestKey === requestKey);
}

/** Stores a new approval and opens its window. The answer goes out later, through finish(). */
let admissions: Promise<unknown> = Promise.resolve();

/** Counts and stores in one step, one request at a time: simultaneous requests cannot all slip under the caps. */
function admit(input: Pick<ApprovalRecord, 'requestKey' | 'origin' | 'method' | 'details' | 'warnings' | 'action'>): Promise<ApprovalRecord> {
  const next = admissions.then(async () => {
    await prune();
    const pending = (await allApprovals()).filter((record) => record.stage === 'pending');
    const fromOrigin = pending.filter((record) => record.origin === input.origin);
    // A site cannot bury the user under windows (or fill session storage): it waits for its earlier requests first.
    if (fromOrigin.length >= MAX_PENDING_PER_ORIGIN || pending.length >= MAX_PENDING_TOTAL) {
      throw new ProviderRpcError(-32002, `This site already has requests waiting for the user: answer those first.`);
    }
    if (input.action.kind === 'connect' && fromOrigin.some((record) => record.action.kind === 'connect')) {
      throw new ProviderRpcError(-32002, 'A connection request from this site is already waiting for the user.');
    }
    const record: ApprovalRecord = { ...input, id: crypto.randomUUID(), createdAt: Date.now(), stage: 'pending' };
    await saveApproval(record);
    await changeIndex((ids) => [...ids, record.id]);
    return record;
  });
  admissions = next.catch(() => undefined);
  return next;
}

export async function openApproval(input: Pick<ApprovalRecord, 'requestKey' | 'origin' | 'method' | 'details' | 'warnings' | 'action'>): Promise<ApprovalRecord> {
  const record = await admit(input);
  const window = await openPopupWindow(browser.runtime.getURL(`${POPUP_PAGE}#/approve/${record.id}`));
  if (window?.id === undefined) {
    // Nobody can see it, so nobody can answer it: end it now rather than leave the site waiting.
    return finish(record, { error: toRpcError(new WalletError('INTERRUPTED', 'Tandem could not open its approval window. Nothing was signed; try again.')) }, 'failed');
  }
  record.windowId = window.id;
  await saveApproval(record);
  return record;
}

const POPUP_WIDTH = 380;
const POPUP_HEIGHT = 640;

/**
 * Top right of the focused window. The screen can be smaller than that window (headless), and
 * Chrome refuses bounds off the screen: then it places the window itself, at the size it allows.
 */
export async function openPopupWindow(url: string): Promise<browser.Windows.Window | undefined> {
  try {
    return await browser.windows.create({ url, type: 'popup', focused: true, ...(await popupBounds()) });
  } catch {
    return browser.windows.create({ url, type: 'popup', focused: true, width: POPUP_WIDTH, height: POPUP_HEIGHT }).catch(() => undefined);
  }
}

/** Inside the focused window's bounds. */
async function popupBounds(): Promise<{ width: number; height: number; left?: number; top?: number }> {
  const focused = await browser.windows.getLastFocused().catch(() => undefined);
  if (!focused || focused.width === undefined || focused.height === undefined || focused.left === undefined || focused.top === undefined) {
    return { width: POPUP_WIDTH, height: POPUP_HEIGHT };
  }
  const width = Math.min(POPUP_WIDTH, focused.width);
  const height = Math.min(POPUP_HEIGHT, focused.height);
  return { width, height, left: Math.max(focused.left, focused.left + focused.width - width - 16), top: focused.top };
}

/** Ends an approval: stores the outcome, answers the page if it still waits, closes nothing (the popup closes itself). */
export async function finish(record: ApprovalRecord, outcome: { result: unknown } | { error: RpcErrorBody }, stage: 'done' | 'rejected' | 'failed' | 'held'): Promise<ApprovalRecord> {
  // An approval ends once: whatever ended it first (a decision, a closed window) stands.
  const stored = await getApproval(record.id);
  if (stored && FINAL.has(stored.stage)) return stored;
  const finished: ApprovalRecord = { ...record, stage, finishedAt: Date.now(), ...('error' in outcome ? { error: outcome.error } : { result: outcome.result }) };
  delete finished.rawTransaction;
  await saveApproval(finished);
  deliver(record.requestKey, outcome);
  return finished;
}

export function answerOf(record: ApprovalRecord): { result: unknown } | { error: RpcErrorBody } | undefined {
  if (!FINAL.has(record.stage)) return undefined;
  return record.error ? { error: record.error } : { result: record.result };
}

/** Drops finished approvals older than KEEP_FINISHED_MS. */
async function prune(): Promise<void> {
  const now = Date.now();
  const stale = (await allApprovals()).filter((record) => record.finishedAt !== undefined && now - record.finishedAt > KEEP_FINISHED_MS).map((record) => record.id);
  if (!stale.length) return;
  await sessionRemove(stale.map(recordKey));
  await changeIndex((ids) => ids.filter((id) => !stale.includes(id)));
}

export async function approvalView(record: ApprovalRecord): Promise<ApprovalView> {
  const waiting = (await allApprovals()).filter((other) => other.stage === 'pending').sort((a, b) => a.createdAt - b.createdAt);
  const position = waiting.findIndex((other) => other.id === record.id) + 1;
  const cosignerStatus = currentCosignerStatus();
  const emergency = emergencyBackup() !== undefined;
  const stage = record.stage === 'signing' && cosignerStatus === 'offline' && !emergency ? 'waiting-cosigner' : record.stage;
  return {
    emergency,
    id: record.id,
    origin: record.origin,
    method: record.method,
    createdAt: record.createdAt,
    details: record.details,
    warnings: record.warnings,
    stage,
    cosignerStatus,
    ...(record.error ? { error: record.error } : {}),
    ...(typeof record.result === 'string' ? { result: record.result } : {}),
    ...(record.action.kind === 'calls' && record.stage !== 'pending' && record.stage !== 'rejected' ? await bundleView(record.action.ref, { readChain: false }).then((bundle) => ({ bundle }), () => ({})) : {}),
    queue: { position: Math.max(position, 1), total: Math.max(waiting.length, 1) },
  };
}

export async function pendingApprovalIds(): Promise<string[]> {
  return (await allApprovals())
    .filter((record) => record.stage === 'pending')
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((record) => record.id);
}
