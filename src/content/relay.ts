/**
 * Isolated world at document_start: carries the page provider's requests to the service worker
 * over a runtime port and the answers and events back (logic in relay-core.ts).
 */
import browser from 'webextension-polyfill';
import { PROVIDER_PORT } from '../background/api.js';
import { createRelay } from './relay-core.js';
import type { RelayPort } from './relay-core.js';
import { listenForPageRequests, postToPage } from './window-messaging.js';

function extensionAlive(): boolean {
  try {
    return browser.runtime.id !== undefined;
  } catch {
    return false;
  }
}

function connect(): RelayPort {
  const port = browser.runtime.connect({ name: PROVIDER_PORT });
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage: (listener) => port.onMessage.addListener((message: unknown) => listener(message)),
    onDisconnect: (listener) =>
      port.onDisconnect.addListener(() => {
        // Reading lastError marks it handled; a killed worker is expected here, not a fault.
        void browser.runtime.lastError;
        listener();
      }),
  };
}

const relay = createRelay({
  connect,
  isExtensionAlive: extensionAlive,
  toPage: (message) => postToPage(window, message),
  now: () => performance.now(),
});

listenForPageRequests(window, (message) => relay.fromPage(message));

// Events the worker sends with tabs.sendMessage reach the page even while this tab has no port.
browser.runtime.onMessage.addListener((message: unknown) => {
  relay.fromBackground(message);
});
