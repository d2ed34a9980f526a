import { PAGE_SOURCE, RELAY_SOURCE } from '../background/api.js';
import type { BackgroundToRelay, PageToRelay, ProviderEventName, ProviderState, RelayToPage, RpcErrorBody, RpcRequestMessage } from '../background/api.js';

/**
 * Shape checks for everything that crosses window.postMessage or the runtime port. The page is
 * untrusted and shares the window with other scripts, so nothing is used before it passes one.
 */

/** Request ids are UUIDs; the cap only keeps a hostile page from sending megabyte keys. */
const MAX_ID_LENGTH = 128;
const MAX_METHOD_LENGTH = 256;

const EVENT_NAMES: ReadonlySet<string> = new Set<ProviderEventName>(['connect', 'disconnect', 'chainChanged', 'accountsChanged']);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShortString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

export function isRpcRequestMessage(value: unknown): value is RpcRequestMessage {
  return isRecord(value) && value.kind === 'rpc' && isShortString(value.id, MAX_ID_LENGTH) && isShortString(value.method, MAX_METHOD_LENGTH);
}

export function isRpcErrorBody(value: unknown): value is RpcErrorBody {
  return isRecord(value) && typeof value.code === 'number' && Number.isInteger(value.code) && typeof value.message === 'string';
}

export function isBackgroundToRelay(value: unknown): value is BackgroundToRelay {
  if (!isRecord(value)) return false;
  if (value.kind === 'event') return typeof value.event === 'string' && EVENT_NAMES.has(value.event);
  if (value.kind !== 'response' || !isShortString(value.id, MAX_ID_LENGTH)) return false;
  return 'error' in value ? isRpcErrorBody(value.error) : 'result' in value;
}

export function isPageToRelay(value: unknown): value is PageToRelay {
  return isRecord(value) && value.source === PAGE_SOURCE && isRpcRequestMessage(value.message);
}

export function isRelayToPage(value: unknown): value is RelayToPage {
  return isRecord(value) && value.source === RELAY_SOURCE && isBackgroundToRelay(value.message);
}

export function isHexChainId(value: unknown): value is `0x${string}` {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value);
}

export function isAddressList(value: unknown): value is `0x${string}`[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && /^0x[0-9a-fA-F]{40}$/.test(item));
}

export function isProviderState(value: unknown): value is ProviderState {
  return (
    isRecord(value) &&
    isHexChainId(value.chainId) &&
    typeof value.networkVersion === 'string' &&
    isAddressList(value.accounts) &&
    typeof value.isUnlocked === 'boolean'
  );
}
