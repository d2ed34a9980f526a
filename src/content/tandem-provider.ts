import type { BackgroundToRelay, RpcRequestMessage } from '../background/api.js';
import { isAddressList, isHexChainId, isProviderState, isRecord, isRpcErrorBody } from './messages.js';
import { ProviderRpcError, RpcErrorCode } from './provider-rpc-error.js';
import { randomId } from './random-id.js';

/** How the provider reaches the relay; in the page it is window.postMessage (see window-messaging.ts). */
export interface ProviderTransport {
  send(message: RpcRequestMessage): void;
  subscribe(listener: (message: BackgroundToRelay) => void): void;
}

export interface RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

export interface JsonRpcPayload {
  id?: number | string | null;
  jsonrpc?: string;
  method: string;
  params?: readonly unknown[] | object;
}

export interface JsonRpcReply {
  id: number | string | null;
  jsonrpc: '2.0';
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

// Listeners take whatever the event carries; `any` keeps typed dapp listeners assignable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ProviderListener = (...args: any[]) => void;

/** The EIP-1193 provider Tandem puts in every page. */
export interface TandemProvider {
  readonly isTandem: true;
  /** Legacy, read-only: the current chain as hex, null before the wallet answered. */
  readonly chainId: `0x${string}` | null;
  readonly networkVersion: string | null;
  /** Legacy, read-only: the first account this origin may see, or null. */
  readonly selectedAddress: `0x${string}` | null;
  isConnected(): boolean;
  request(args: RequestArguments): Promise<unknown>;
  /** Legacy: eth_requestAccounts. */
  enable(): Promise<unknown>;
  /** Legacy web3.js style; one payload per call, no batches. */
  sendAsync(payload: JsonRpcPayload, callback: (error: ProviderRpcError | null, reply: JsonRpcReply) => void): void;
  on(event: string, listener: ProviderListener): TandemProvider;
  addListener(event: string, listener: ProviderListener): TandemProvider;
  once(event: string, listener: ProviderListener): TandemProvider;
  removeListener(event: string, listener: ProviderListener): TandemProvider;
  off(event: string, listener: ProviderListener): TandemProvider;
  removeAllListeners(event?: string): TandemProvider;
  listenerCount(event: string): number;
}

export interface TandemProviderOptions {
  newId?: () => string;
  /** Where a throwing listener's error goes; the other listeners still run. */
  onListenerError?: (error: unknown) => void;
}

/** Internal method the worker answers with ProviderState. */
export { PROVIDER_STATE_METHOD } from '../background/api.js';
import { PROVIDER_STATE_METHOD } from '../background/api.js';

interface Waiting {
  method: string;
  resolve(value: unknown): void;
  reject(error: ProviderRpcError): void;
}

interface Subscription {
  listener: ProviderListener;
  once: boolean;
}

function invalidArguments(message: string): ProviderRpcError {
  return new ProviderRpcError(RpcErrorCode.invalidParams, message);
}

/**
 * The request must be `{method, params?}`, and params must survive the trip: the worker gets them
 * through a JSON-serialised runtime port, so a bigint or a cycle is refused here with -32602 instead
 * of failing somewhere further down. Returns params as the worker will see them.
 */
function checkRequest(args: unknown): { method: string; params?: unknown } {
  if (!isRecord(args)) throw invalidArguments('request() expects one argument: an object { method, params? }.');
  const { method, params } = args;
  if (typeof method !== 'string' || method.length === 0) throw invalidArguments('request() needs a non-empty string `method`.');
  if (params === undefined) return { method };
  if (typeof params !== 'object' || params === null) throw invalidArguments('`params` must be an array or an object.');
  let json: string;
  try {
    json = JSON.stringify(params);
  } catch (cause) {
    throw invalidArguments(`\`params\` cannot be sent to the wallet: ${cause instanceof Error ? cause.message : String(cause)}. Encode big numbers as hex strings.`);
  }
  return { method, params: JSON.parse(json) as unknown };
}

function sameAccounts(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((account, i) => account.toLowerCase() === b[i]?.toLowerCase());
}

function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else console.error(error);
}

/**
 * Builds the provider over a transport. All state sits in this closure, out of the page's reach,
 * and every method is an own function so that `const { request } = provider` keeps working.
 * It asks the wallet for its state at once and emits `connect` when the answer comes.
 */
export function createTandemProvider(transport: ProviderTransport, options: TandemProviderOptions = {}): TandemProvider {
  const newId = options.newId ?? randomId;
  const onListenerError = options.onListenerError ?? reportListenerError;
  const waiting = new Map<string, Waiting>();
  const subscriptions = new Map<string, Subscription[]>();
  let connected = false;
  /** Set by the relay's 4900 disconnect: nothing will answer any more, so requests fail at once. */
  let extensionGone: ProviderRpcError | undefined;
  let chainId: `0x${string}` | null = null;
  let networkVersion: string | null = null;
  let accounts: `0x${string}`[] = [];

  function emit(event: string, ...args: unknown[]): void {
    const list = subscriptions.get(event);
    if (!list) return;
    for (const subscription of [...list]) {
      if (subscription.once) removeSubscription(event, subscription.listener);
      try {
        subscription.listener(...args);
      } catch (error) {
        onListenerError(error);
      }
    }
  }

  function removeSubscription(event: string, listener: ProviderListener): void {
    const list = subscriptions.get(event);
    if (!list) return;
    for (let index = list.length - 1; index >= 0; index -= 1) {
      if (list[index]?.listener === listener) {
        list.splice(index, 1);
        break;
      }
    }
    if (list.length === 0) subscriptions.delete(event);
  }

  function setChain(next: `0x${string}`): void {
    if (chainId !== null && chainId.toLowerCase() === next.toLowerCase()) return;
    chainId = next;
    networkVersion = BigInt(next).toString(10);
    emit('chainChanged', next);
  }

  function setAccounts(next: `0x${string}`[]): void {
    if (sameAccounts(accounts, next)) return;
    accounts = [...next];
    emit('accountsChanged', [...next]);
  }

  function becomeConnected(next: `0x${string}`): void {
    extensionGone = undefined;
    if (connected) {
      setChain(next);
      return;
    }
    chainId = next;
    networkVersion = BigInt(next).toString(10);
    connected = true;
    emit('connect', { chainId: next });
  }

  function disconnect(data: unknown): void {
    const error = isRpcErrorBody(data) ? ProviderRpcError.fromBody(data) : new ProviderRpcError(RpcErrorCode.disconnected, 'The wallet disconnected.');
    connected = false;
    if (error.code === RpcErrorCode.disconnected) {
      extensionGone = error;
      const stranded = [...waiting.values()];
      waiting.clear();
      for (const request of stranded) request.reject(error);
    }
    emit('disconnect', error);
  }

  function onEvent(event: string, data: unknown): void {
    switch (event) {
      case 'connect':
        if (isRecord(data) && isHexChainId(data.chainId)) becomeConnected(data.chainId);
        break;
      case 'disconnect':
        disconnect(data);
        break;
      case 'chainChanged':
        if (isHexChainId(data)) setChain(data);
        break;
      case 'accountsChanged':
        if (isAddressList(data)) setAccounts(data);
        break;
    }
  }

  /** Answers that reveal a change are treated like the matching event, so the legacy fields and events stay true. */
  function observeResult(method: string, result: unknown): void {
    if ((method === 'eth_requestAccounts' || method === 'eth_accounts') && isAddressList(result)) setAccounts(result);
    else if (method === 'eth_chainId' && isHexChainId(result)) setChain(result);
  }

  transport.subscribe((message) => {
    if (message.kind === 'event') {
      onEvent(message.event, message.data);
      return;
    }
    const request = waiting.get(message.id);
    if (!request) return;
    waiting.delete(message.id);
    if ('error' in message) {
      request.reject(ProviderRpcError.fromBody(message.error));
      return;
    }
    observeResult(request.method, message.result);
    request.resolve(message.result);
  });

  function request(args: RequestArguments): Promise<unknown> {
    let checked: { method: string; params?: unknown };
    try {
      checked = checkRequest(args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (extensionGone) return Promise.reject(extensionGone);
    return new Promise((resolve, reject) => {
      const id = newId();
      waiting.set(id, { method: checked.method, resolve, reject });
      const message: RpcRequestMessage = { kind: 'rpc', id, method: checked.method };
      if ('params' in checked) message.params = checked.params;
      try {
        transport.send(message);
      } catch (cause) {
        waiting.delete(id);
        reject(new ProviderRpcError(RpcErrorCode.internal, `The request could not reach the Tandem extension: ${cause instanceof Error ? cause.message : String(cause)}`));
      }
    });
  }

  const provider: TandemProvider = {
    isTandem: true,
    get chainId() {
      return chainId;
    },
    get networkVersion() {
      return networkVersion;
    },
    get selectedAddress() {
      return accounts[0] ?? null;
    },
    isConnected: () => connected,
    request,
    enable: () => request({ method: 'eth_requestAccounts' }),
    sendAsync(payload, callback) {
      const id = isRecord(payload) && payload.id !== undefined ? payload.id : null;
      request(payload).then(
        (result) => callback(null, { id, jsonrpc: '2.0', result }),
        (error: unknown) => {
          const rpcError = error instanceof ProviderRpcError ? error : new ProviderRpcError(RpcErrorCode.internal, String(error));
          callback(rpcError, { id, jsonrpc: '2.0', error: rpcError.toJSON() });
        },
      );
    },
    on(event, listener) {
      const list = subscriptions.get(event) ?? [];
      list.push({ listener, once: false });
      subscriptions.set(event, list);
      return provider;
    },
    addListener: (event, listener) => provider.on(event, listener),
    once(event, listener) {
      const list = subscriptions.get(event) ?? [];
      list.push({ listener, once: true });
      subscriptions.set(event, list);
      return provider;
    },
    removeListener(event, listener) {
      removeSubscription(event, listener);
      return provider;
    },
    off: (event, listener) => provider.removeListener(event, listener),
    removeAllListeners(event) {
      if (event === undefined) subscriptions.clear();
      else subscriptions.delete(event);
      return provider;
    },
    listenerCount: (event) => subscriptions.get(event)?.length ?? 0,
  };

  request({ method: PROVIDER_STATE_METHOD }).then(
    (state) => {
      if (!isProviderState(state)) return;
      accounts = [...state.accounts];
      becomeConnected(state.chainId);
      networkVersion = state.networkVersion;
    },
    () => {
      // No state (the extension is gone or the worker failed): the provider stays disconnected, and
      // a later `connect` event from the wallet still brings it up.
    },
  );

  return provider;
}
