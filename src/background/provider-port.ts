/**
 * A tab's relay port: each request is routed and answered on it; a request that needs the user
 * is answered later (ports.deliver). After a worker restart the relay reconnects and resumes its
 * waiting ids: each is matched to its persisted approval, never to another tab's.
 */
import type browser from 'webextension-polyfill';
import type { RelayToBackground } from './api.js';
import { answerOf, findByRequestKey, requestKeyOf } from './approvals.js';
import { WalletError, invalidParams, toRpcError } from './errors.js';
import { addPort, awaitAnswer, deliver } from './ports.js';
import { DEFERRED } from './rpc/context.js';
import { route } from './rpc/router.js';

const MAX_ID_LENGTH = 128;
const MAX_METHOD_LENGTH = 128;
/** Far above any legitimate request (calldata is capped at 128 KiB): refuse before anything parses it. */
const MAX_PARAMS_JSON = 1024 * 1024;

function originOf(sender: browser.Runtime.MessageSender | undefined): string | undefined {
  const origin = (sender as { origin?: string } | undefined)?.origin;
  if (origin && origin !== 'null') return origin;
  if (!sender?.url) return undefined;
  try {
    const parsed = new URL(sender.url).origin;
    return parsed === 'null' ? undefined : parsed;
  } catch {
    return undefined;
  }
}

export function acceptProviderPort(port: browser.Runtime.Port): void {
  const origin = originOf(port.sender);
  const tabId = port.sender?.tab?.id;
  if (!origin || tabId === undefined) {
    port.disconnect();
    return;
  }
  addPort(port, origin, tabId);
  port.onMessage.addListener((message: unknown) => {
    void handle(port, origin, tabId, message as RelayToBackground);
  });
}

async function handle(port: browser.Runtime.Port, origin: string, tabId: number, message: RelayToBackground): Promise<void> {
  if (message?.kind === 'resume' && Array.isArray(message.ids)) {
    for (const id of message.ids.filter(validId)) await resume(port, origin, tabId, id);
    return;
  }
  if (message?.kind !== 'rpc' || !validId(message.id)) return;
  const requestKey = requestKeyOf(tabId, message.id);
  awaitAnswer(requestKey, port, message.id);
  if (typeof message.method !== 'string' || !message.method || message.method.length > MAX_METHOD_LENGTH) {
    deliver(requestKey, { error: { code: -32600, message: 'Invalid request: method must be a non-empty string.' } });
    return;
  }
  if (message.params !== undefined && JSON.stringify(message.params).length > MAX_PARAMS_JSON) {
    deliver(requestKey, { error: invalidParams(`${message.method} params are larger than ${MAX_PARAMS_JSON} bytes as JSON.`).toBody() });
    return;
  }
  try {
    const outcome = await route({ origin, method: message.method, params: message.params, requestKey });
    if (outcome !== DEFERRED) deliver(requestKey, outcome);
  } catch (error) {
    deliver(requestKey, { error: toRpcError(error) });
  }
}

async function resume(port: browser.Runtime.Port, origin: string, tabId: number, id: string): Promise<void> {
  const requestKey = requestKeyOf(tabId, id);
  awaitAnswer(requestKey, port, id);
  const record = await findByRequestKey(requestKey);
  // The tab may show another site now: an answer goes only to the origin that asked.
  if (!record || record.origin !== origin) {
    const lost = new WalletError('INTERRUPTED', 'The wallet restarted before this request reached it. Nothing was signed; please try again.');
    deliver(requestKey, { error: toRpcError(lost) });
    return;
  }
  const answer = answerOf(record);
  if (answer) deliver(requestKey, answer);
}

function validId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH;
}
