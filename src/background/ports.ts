/**
 * The ports of every tab's relay: answers go to the port that asked (or that resumed asking after
 * a worker restart), events go to every port, filtered per origin by the caller.
 */
import browser from 'webextension-polyfill';
import type { BackgroundToRelay, ProviderEventName, RpcErrorBody } from './api.js';
import { sessionGet, sessionSet } from './session-storage.js';

type Port = browser.Runtime.Port;

const ports = new Map<Port, { origin: string; tabId: number }>();
/** Per tab: the origin and the document its relay ran in (a navigation makes a new document). */
interface KnownTab {
  origin: string;
  documentId?: string;
}
/** Tabs that ever had a provider, kept across worker restarts: their relays may have no port now. */
const TABS_KEY = 'providerTabs';
/** Request key (tab and page request id) -> the port waiting for its answer, and the page's id. */
const waiting = new Map<string, { port: Port; id: string }>();

export function addPort(port: Port, origin: string, tabId: number): void {
  ports.set(port, { origin, tabId });
  const documentId = (port.sender as { documentId?: string } | undefined)?.documentId;
  void rememberTab(tabId, { origin, ...(documentId ? { documentId } : {}) });
  port.onDisconnect.addListener(() => {
    ports.delete(port);
    for (const [key, waiter] of waiting) if (waiter.port === port) waiting.delete(key);
  });
}

export function awaitAnswer(requestKey: string, port: Port, id: string): void {
  waiting.set(requestKey, { port, id });
}

/** Sends an answer if its port still waits; returns whether it was delivered. */
export function deliver(requestKey: string, answer: { result: unknown } | { error: RpcErrorBody }): boolean {
  const waiter = waiting.get(requestKey);
  if (!waiter) return false;
  waiting.delete(requestKey);
  post(waiter.port, { kind: 'response', id: waiter.id, ...answer } as BackgroundToRelay);
  return true;
}

export function post(port: Port, message: BackgroundToRelay): void {
  try {
    port.postMessage(message);
  } catch {
    // The tab went away: nothing to tell it.
  }
}

async function knownTabs(): Promise<Record<string, KnownTab>> {
  return ((await sessionGet(TABS_KEY)) as Record<string, KnownTab> | undefined) ?? {};
}

async function rememberTab(tabId: number, tab: KnownTab): Promise<void> {
  const tabs = await knownTabs();
  if (tabs[tabId]?.origin === tab.origin && tabs[tabId]?.documentId === tab.documentId) return;
  await sessionSet({ [TABS_KEY]: { ...tabs, [tabId]: tab } });
}

/**
 * Emits an event to every tab with a provider; `dataFor` picks what each origin may see
 * (undefined: nothing). Tabs whose relay has no port since a worker restart get it by tabs.sendMessage.
 */
export async function broadcast(event: ProviderEventName, dataFor: (origin: string) => Promise<unknown> | unknown): Promise<void> {
  const reached = new Set<number>();
  for (const [port, { origin, tabId }] of ports) {
    reached.add(tabId);
    const data = await dataFor(origin);
    if (data !== undefined) post(port, { kind: 'event', event, data });
  }
  const tabs = await knownTabs();
  const gone: string[] = [];
  for (const [tabId, known] of Object.entries(tabs)) {
    if (reached.has(Number(tabId)) || !known.documentId) continue;
    const data = await dataFor(known.origin);
    if (data === undefined) continue;
    const message: BackgroundToRelay = { kind: 'event', event, data };
    // Addressed to the document the relay ran in: after a navigation (to another site or not) it no
    // longer exists, the send fails, and the tab is forgotten rather than another page told.
    const options = { documentId: known.documentId } as unknown as browser.Tabs.SendMessageOptionsType;
    await browser.tabs.sendMessage(Number(tabId), message, options).catch(() => gone.push(tabId));
  }
  if (gone.length) {
    const remaining = await knownTabs();
    for (const tabId of gone) delete remaining[tabId];
    await sessionSet({ [TABS_KEY]: remaining });
  }
}
