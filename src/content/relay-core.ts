import { PROVIDER_STATE_METHOD } from '../background/api.js';
import type { BackgroundToRelay, RelayToBackground, RpcErrorBody, RpcRequestMessage } from '../background/api.js';
import { isBackgroundToRelay, isProviderState, isRpcRequestMessage } from './messages.js';
import { PendingRequests } from './pending-requests.js';
import { extensionGoneError } from './provider-rpc-error.js';
import { randomId } from './random-id.js';

/** The part of a runtime.Port the relay uses. */
export interface RelayPort {
  postMessage(message: RelayToBackground): void;
  onMessage(listener: (message: unknown) => void): void;
  onDisconnect(listener: () => void): void;
}

/** Everything the relay needs from the browser, so the logic runs (and is tested) without one. */
export interface RelayHost {
  /** runtime.connect({name: PROVIDER_PORT}); may throw once the extension is gone. */
  connect(): RelayPort;
  /** False once runtime.id is undefined: the extension was reloaded or removed under this page. */
  isExtensionAlive(): boolean;
  toPage(message: BackgroundToRelay): void;
  /** Milliseconds, monotonic. */
  now(): number;
}

export interface RelayOptions {
  /** A port that dies sooner than this without a word from the worker counts as a failed attempt. */
  quickFailureMs?: number;
  /** Failed attempts in a row after which the waiting requests get an error instead of another try. */
  maxQuickFailures?: number;
}

export type RelayState = 'idle' | 'connected' | 'gone';

export interface Relay {
  /** A request from the page (the `message` of a PageToRelay envelope); anything else is ignored. */
  fromPage(message: unknown): void;
  /** A message the worker sent outside the port (runtime.onMessage, e.g. tabs.sendMessage): events only. */
  fromBackground(message: unknown): void;
  readonly state: RelayState;
  readonly waiting: number;
}

const STATE_METHOD = PROVIDER_STATE_METHOD;

export function workerStoppedAnsweringError(): RpcErrorBody {
  return { code: 4900, message: 'The Tandem service worker stopped answering. Try again; if it keeps failing, reload the extension.' };
}

/**
 * Forwards page requests to the service worker over one lazily opened port, and answers back.
 * The worker can be killed at any moment: when the port drops while requests wait, a new port is
 * opened at once and resumes them; with nothing waiting it stays closed until the page asks again,
 * so an idle tab never keeps waking the worker.
 */
export function createRelay(host: RelayHost, options: RelayOptions = {}): Relay {
  const quickFailureMs = options.quickFailureMs ?? 1000;
  const maxQuickFailures = options.maxQuickFailures ?? 3;
  const pending = new PendingRequests();
  let port: RelayPort | undefined;
  let gone = false;
  let everConnected = false;
  let quickFailures = 0;
  /** Id of the relay's own tandem_providerState request after a reconnect. */
  let resyncId: string | undefined;

  function becomeGone(): void {
    if (gone) return;
    gone = true;
    port = undefined;
    const error = extensionGoneError();
    for (const id of pending.drain()) host.toPage({ kind: 'response', id, error });
    host.toPage({ kind: 'event', event: 'disconnect', data: error });
  }

  function failWaiting(error: RpcErrorBody): void {
    for (const id of pending.drain()) host.toPage({ kind: 'response', id, error });
  }

  function open(): RelayPort | undefined {
    let opened: RelayPort;
    try {
      opened = host.connect();
    } catch {
      if (!host.isExtensionAlive()) becomeGone();
      else failWaiting(workerStoppedAnsweringError());
      return undefined;
    }
    const openedAt = host.now();
    let heardFromWorker = false;
    port = opened;
    opened.onMessage((message) => {
      if (port !== opened) return;
      heardFromWorker = true;
      quickFailures = 0;
      fromWorker(message);
    });
    opened.onDisconnect(() => {
      if (port !== opened) return;
      port = undefined;
      const quick = !heardFromWorker && host.now() - openedAt < quickFailureMs;
      quickFailures = quick ? quickFailures + 1 : 0;
      portLost();
    });
    try {
      const { resume, resend } = pending.replayPlan();
      if (resume.length > 0) opened.postMessage({ kind: 'resume', ids: resume });
      for (const message of resend) {
        opened.postMessage(message);
        pending.markDelivered(message.id);
      }
      // Events the worker emitted while this tab had no port were lost; the page's provider drops
      // the ones that change nothing, so asking for the state again is safe.
      if (everConnected) {
        resyncId = `tandem-relay-${randomId()}`;
        opened.postMessage({ kind: 'rpc', id: resyncId, method: STATE_METHOD });
      }
    } catch {
      // Posting throws only on a dead port. Its onDisconnect may never come, so count it here.
      if (port === opened) {
        port = undefined;
        quickFailures += 1;
        portLost();
      }
      return undefined;
    }
    everConnected = true;
    return opened;
  }

  function portLost(): void {
    if (!host.isExtensionAlive()) {
      becomeGone();
      return;
    }
    if (pending.size === 0) return;
    if (quickFailures >= maxQuickFailures) {
      quickFailures = 0;
      failWaiting(workerStoppedAnsweringError());
      return;
    }
    open();
  }

  function send(message: RpcRequestMessage): void {
    const current = port;
    if (current === undefined) {
      // open() replays everything pending, this request included.
      open();
      return;
    }
    try {
      current.postMessage(message);
      pending.markDelivered(message.id);
    } catch {
      port = undefined;
      portLost();
    }
  }

  function fromWorker(message: unknown): void {
    if (!isBackgroundToRelay(message)) return;
    if (message.kind === 'event') {
      host.toPage(message);
      return;
    }
    if (message.id === resyncId) {
      resyncId = undefined;
      if ('result' in message && isProviderState(message.result)) {
        host.toPage({ kind: 'event', event: 'chainChanged', data: message.result.chainId });
        host.toPage({ kind: 'event', event: 'accountsChanged', data: message.result.accounts });
      }
      return;
    }
    if (pending.settle(message.id)) host.toPage(message);
  }

  return {
    fromPage(message) {
      if (!isRpcRequestMessage(message)) return;
      if (!gone && !host.isExtensionAlive()) becomeGone();
      if (gone) {
        host.toPage({ kind: 'response', id: message.id, error: extensionGoneError() });
        return;
      }
      if (!pending.add(message)) return;
      send(message);
    },
    fromBackground(message) {
      if (gone || !isBackgroundToRelay(message) || message.kind !== 'event') return;
      host.toPage(message);
    },
    get state(): RelayState {
      if (gone) return 'gone';
      return port === undefined ? 'idle' : 'connected';
    },
    get waiting() {
      return pending.size;
    },
  };
}
