import browser from 'webextension-polyfill';
import type { PopupReplies, PopupRequest } from '../background/api.js';
import { createCall } from './worker-call.js';

export { PopupError } from './errors.js';

const callWorker = createCall((message) => browser.runtime.sendMessage(message));

/** Sends one popup request to the service worker and returns its typed answer, or throws a PopupError. */
export function call<A extends PopupRequest['action']>(request: Extract<PopupRequest, { action: A }>): Promise<PopupReplies[A]> {
  return callWorker(request);
}
