/**
 * The ports of every tab's relay: answers go to the port that asked (or that resumed asking after
 * a worker restart), events go to every port, filtered per origin by the caller.
 */
import type browser from 'webextension-polyfill';
import type { BackgroundToRelay, ProviderEventName, RpcErrorBody } from './api.js';

type Port = browser.Runtime.Port;

const ports = new Map<Port, string>();
/** Request key (tab and page request id) -> the port waiting for its answer, and the page's id. */
const waiting = new Map<string, { port: Port; id: string }>();

export function addPort(port: Port, origin: string): void {
  ports.set(port, origin);
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

/** Emits an event to every connected tab; `dataFor` picks what each origin may see (undefined: nothing). */
export async function broadcast(event: ProviderEventName, dataFor: (origin: string) => Promise<unknown> | unknown): Promise<void> {
  for (const [port, origin] of ports) {
    const data = await dataFor(origin);
    if (data !== undefined) post(port, { kind: 'event', event, data });
  }
}
