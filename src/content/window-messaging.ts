import { PAGE_SOURCE, RELAY_SOURCE } from '../background/api.js';
import type { BackgroundToRelay, PageToRelay, RelayToPage, RpcRequestMessage } from '../background/api.js';
import { isPageToRelay, isRelayToPage } from './messages.js';
import type { ProviderTransport } from './tandem-provider.js';

/** The part of `window` the provider and the relay talk through (both worlds see the same window). */
export interface MessageWindow {
  readonly location: { readonly origin: string };
  postMessage(message: unknown, targetOrigin: string): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** A page with an opaque origin ('null': sandboxed iframe, data: URL) can only be reached with '*'. */
export function targetOriginOf(win: MessageWindow): string {
  const origin = win.location.origin;
  return origin === 'null' ? '*' : origin;
}

/** Messages this window posted to itself; anything from another frame or window is ignored. */
function onOwnMessage(win: MessageWindow, listener: (data: unknown) => void): void {
  win.addEventListener('message', (event) => {
    if (event.source !== (win as unknown)) return;
    listener(event.data);
  });
}

/** Page world: the provider's transport to the isolated-world relay. */
export function createPageTransport(win: MessageWindow): ProviderTransport {
  return {
    send(message: RpcRequestMessage) {
      const envelope: PageToRelay = { source: PAGE_SOURCE, message };
      win.postMessage(envelope, targetOriginOf(win));
    },
    subscribe(listener) {
      onOwnMessage(win, (data) => {
        if (isRelayToPage(data)) listener(data.message);
      });
    },
  };
}

/** Isolated world: requests posted by the page-world provider. */
export function listenForPageRequests(win: MessageWindow, listener: (message: RpcRequestMessage) => void): void {
  onOwnMessage(win, (data) => {
    if (isPageToRelay(data)) listener(data.message);
  });
}

/** Isolated world: an answer or event for the page-world provider. */
export function postToPage(win: MessageWindow, message: BackgroundToRelay): void {
  const envelope: RelayToPage = { source: RELAY_SOURCE, message };
  win.postMessage(envelope, targetOriginOf(win));
}
