/**
 * Strict params of the EIP-5792 methods. Malformed input is -32602 (before anything else); what is
 * well formed but not supported gets the EIP's own codes (see ./errors.ts), checked by the handlers.
 */
import type { Address, Hex } from 'viem';
import { invalidParams } from '../errors.js';
import { clip, describeKind, expectObject, expectParamsArray, isPlainObject, parseAddress, parseHexData, parseQuantity, parseSmallQuantity, rejectUnknownKeys } from '../requests/param-checks.js';
import { MAX_CALLDATA_BYTES, type TransactionRequestInput } from '../requests/params.js';

export const CALLS_VERSION = '2.0.0';
/** Calls in one bundle: each is one line on one approval page, and one signature with the co-signer. */
export const MAX_CALLS = 10;
/** EIP-5792: an app-provided id is at most 4096 bytes. */
export const MAX_ID_BYTES = 4096;

export interface SendCallsInput {
  id?: string;
  from?: Address;
  chainId: number;
  /** The chain id as the dapp wrote it (for error messages). */
  chainIdHex: string;
  atomicRequired: boolean;
  calls: Omit<TransactionRequestInput, 'from'>[];
  /** Capability names the dapp requires (not marked optional), from the bundle and from every call. */
  requiredCapabilities: string[];
}

const SEND_FIELDS = ['version', 'id', 'from', 'chainId', 'atomicRequired', 'calls', 'capabilities'] as const;
const CALL_FIELDS = ['to', 'data', 'value', 'capabilities'] as const;

/** wallet_sendCalls params: [{ version: '2.0.0', id?, from?, chainId, atomicRequired, calls: [{ to?, data?, value?, capabilities? }], capabilities? }]. */
export function parseSendCalls(params: unknown): SendCallsInput {
  const method = 'wallet_sendCalls';
  const [param] = expectParamsArray(method, params, 1, 1, '[{ version, chainId, atomicRequired, calls }]');
  const object = expectObject(param, `${method} params[0]`);
  rejectUnknownKeys(object, SEND_FIELDS, `${method} params[0]`);
  if (object.version !== CALLS_VERSION) throw invalidParams(`${method} version must be "${CALLS_VERSION}", got ${describeKind(object.version)}.`);
  if (typeof object.atomicRequired !== 'boolean') throw invalidParams(`${method} atomicRequired must be true or false, got ${describeKind(object.atomicRequired)}.`);
  if (typeof object.chainId === 'string' && /^0x0[0-9a-fA-F]/.test(object.chainId)) throw invalidParams(`${method} chainId "${clip(object.chainId)}" has leading zeros.`);
  const chainId = parseSmallQuantity(object.chainId, `${method} chainId`);
  if (chainId === 0) throw invalidParams(`${method} chainId must be greater than 0.`);

  const input: SendCallsInput = {
    chainId,
    chainIdHex: object.chainId as string,
    atomicRequired: object.atomicRequired,
    calls: [],
    requiredCapabilities: requiredCapabilities(object.capabilities, `${method} capabilities`),
  };
  if (object.id !== undefined) input.id = parseBundleId(object.id, `${method} id`);
  if (object.from !== undefined && object.from !== null) input.from = parseAddress(object.from, `${method} from`);

  if (!Array.isArray(object.calls) || object.calls.length === 0) throw invalidParams(`${method} calls must be a non-empty array of { to, data?, value? }.`);
  object.calls.forEach((entry, index) => {
    const what = `${method} calls[${index}]`;
    const call = expectObject(entry, what);
    rejectUnknownKeys(call, CALL_FIELDS, what);
    const parsed: SendCallsInput['calls'][number] = {};
    if (call.to !== undefined && call.to !== null) parsed.to = parseAddress(call.to, `${what}.to`);
    if (call.value !== undefined && call.value !== null) parsed.value = parseQuantity(call.value, `${what}.value`);
    if (call.data !== undefined && call.data !== null) parsed.data = parseHexData(call.data, `${what}.data`, MAX_CALLDATA_BYTES);
    if (parsed.to === undefined && (parsed.data === undefined || parsed.data === '0x')) throw invalidParams(`${what} has no "to": a contract creation needs its init code in "data".`);
    input.requiredCapabilities.push(...requiredCapabilities(call.capabilities, `${what}.capabilities`));
    input.calls.push(parsed);
  });
  input.requiredCapabilities = [...new Set(input.requiredCapabilities)];
  return input;
}

/** Capabilities are `{ name: { optional?: boolean, ... } }`; a wallet may ignore only the optional ones. */
function requiredCapabilities(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  const object = expectObject(value, what);
  return Object.entries(object).flatMap(([name, capability]) => {
    if (!isPlainObject(capability)) throw invalidParams(`${what}.${clip(name)} must be an object, got ${describeKind(capability)}.`);
    return capability.optional === true ? [] : [clip(name)];
  });
}

function parseBundleId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidParams(`${what} must be a non-empty string, got ${describeKind(value)}.`);
  const bytes = new TextEncoder().encode(value).length;
  if (bytes > MAX_ID_BYTES) throw invalidParams(`${what} is ${bytes} bytes; at most ${MAX_ID_BYTES} are allowed.`);
  return value;
}

/** wallet_getCallsStatus and wallet_showCallsStatus params: [id]. */
export function parseCallsId(method: string, params: unknown): string {
  const [id] = expectParamsArray(method, params, 1, 1, '[id]');
  return parseBundleId(id, `${method} id`);
}

/** wallet_getCapabilities params: [address, chainIds?] with chainIds hex strings. */
export function parseGetCapabilities(params: unknown): { address: Address; chainIds?: number[] } {
  const method = 'wallet_getCapabilities';
  const [address, chainIds] = expectParamsArray(method, params, 1, 2, '[address, chainIds?]');
  const parsed: { address: Address; chainIds?: number[] } = { address: parseAddress(address, `${method} address`) };
  if (chainIds !== undefined && chainIds !== null) {
    if (!Array.isArray(chainIds)) throw invalidParams(`${method} chainIds must be an array of hex chain ids, got ${describeKind(chainIds)}.`);
    parsed.chainIds = chainIds.map((chainId, index) => parseSmallQuantity(chainId, `${method} chainIds[${index}]`));
  }
  return parsed;
}

/** A fresh bundle id: 0x and 32 random bytes. */
export function newBundleId(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  // EIP-5792 allows any string; MetaMask's api-specs types the id as a hex number, which has no leading zero.
  bytes[0] = bytes[0]! | 0x10;
  return `0x${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}
