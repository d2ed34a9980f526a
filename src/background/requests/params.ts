/**
 * Strict parsers for the params of the methods that sign or change the wallet's chain. Anything
 * malformed is refused with -32602 and a message naming the problem, before any popup opens.
 */
import { stringToHex, type Address, type Hex } from 'viem';
import type { ChainConfig } from '../api.js';
import { invalidParams } from '../errors.js';
import {
  clip,
  describeKind,
  expectObject,
  expectParamsArray,
  isPlainObject,
  looksLikeAddress,
  parseAddress,
  parseHexData,
  parseQuantity,
  parseSmallQuantity,
  rejectUnknownKeys,
} from './param-checks.js';

export { parseTypedDataV4, MAX_TYPED_DATA_JSON } from './typed-data-params.js';

/** Largest personal_sign message, in bytes. Sign-in and consent messages are far smaller. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Largest transaction call data, in bytes: geth's transaction pool refuses transactions over 128 KiB. */
export const MAX_CALLDATA_BYTES = 128 * 1024;

const MAX_GAS = (1n << 64n) - 1n;
const HEX_ONLY = /^0x[0-9a-fA-F]*$/;

/**
 * personal_sign params: [message, address] (a third, geth's legacy password, is ignored).
 * The message is 0x-hex bytes, as most dapps send, or plain text taken as UTF-8, as MetaMask accepts.
 *
 * Some older dapps and libraries send [address, message], the eth_sign order. The order is swapped only
 * when the first param is an address and the second is not: a message that happens to look like an
 * address (20 bytes of hex) is then still read in the standard order.
 */
export function parsePersonalSign(params: unknown): { data: Hex; address: Address } {
  const list = expectParamsArray('personal_sign', params, 2, 3, '[message, address]');
  const reversed = looksLikeAddress(list[0]) && !looksLikeAddress(list[1]);
  const [message, address] = reversed ? [list[1], list[0]] : [list[0], list[1]];
  return {
    data: parseMessage(message),
    address: parseAddress(address, `personal_sign address (params[${reversed ? 0 : 1}])`),
  };
}

/**
 * personal_ecRecover params: [message, signature], the message read as personal_sign reads it (0x-hex bytes, or
 * plain text as UTF-8), the signature 65 bytes (r, s, v). Nothing is signed: it only recovers an address.
 */
export function parsePersonalEcRecover(params: unknown): { data: Hex; signature: Hex } {
  const [message, signature] = expectParamsArray('personal_ecRecover', params, 2, 2, '[message, signature]');
  const data = parseMessage(message, 'personal_ecRecover message');
  const bytes = parseHexData(signature, 'personal_ecRecover signature', 65);
  if (bytes.length !== 2 + 130) throw invalidParams(`personal_ecRecover signature must be 65 bytes (r, s, v), got ${(bytes.length - 2) / 2}.`);
  return { data, signature: bytes };
}

function parseMessage(value: unknown, what = 'personal_sign message'): Hex {
  if (typeof value !== 'string') throw invalidParams(`${what} must be a 0x-hex string or text, got ${describeKind(value)}.`);
  if (HEX_ONLY.test(value)) return parseHexData(value, what, MAX_MESSAGE_BYTES);
  const data = stringToHex(value);
  const bytes = (data.length - 2) / 2;
  if (bytes > MAX_MESSAGE_BYTES) throw invalidParams(`${what} is ${bytes} bytes; at most ${MAX_MESSAGE_BYTES} are accepted.`);
  return data;
}

/** eth_sendTransaction after parsing. Fee fields are EIP-1559 only; a legacy gasPrice arrives here as both. */
export interface TransactionRequestInput {
  from: Address;
  /** Absent for a contract creation; `data` is then the init code. */
  to?: Address;
  value?: bigint;
  data?: Hex;
  gas?: bigint;
  /** A legacy (type 0) transaction was asked for: signed as one, with `gasPrice` (or the node's). */
  legacy?: true;
  /** Legacy only. */
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  nonce?: number;
  chainId?: number;
}

const TRANSACTION_FIELDS = [
  'from',
  'to',
  'value',
  'data',
  'input',
  'gas',
  'gasLimit',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'gasPrice',
  'nonce',
  'chainId',
  'type',
  'accessList',
] as const;

/**
 * eth_sendTransaction params: [{ from, to?, value?, data? | input?, gas? | gasLimit?, maxFeePerGas?,
 * maxPriorityFeePerGas? | gasPrice?, nonce?, chainId?, type? }] with hex quantities. Fields we do not
 * sign (blobs, authorization lists, access lists with entries) are refused rather than dropped,
 * since dropping them would send a different transaction from the one the dapp built.
 */
export function parseTransactionRequest(params: unknown): TransactionRequestInput {
  const [param] = expectParamsArray('eth_sendTransaction', params, 1, 1, '[transaction]');
  const tx = expectObject(param, 'eth_sendTransaction transaction (params[0])');
  rejectUnknownKeys(tx, TRANSACTION_FIELDS, 'eth_sendTransaction transaction');
  const field = (name: string) => `eth_sendTransaction ${name}`;
  const present = (name: (typeof TRANSACTION_FIELDS)[number]) => tx[name] !== undefined && tx[name] !== null;

  let legacy = false;
  if (present('type')) {
    const type = parseQuantity(tx.type, field('type'));
    if (type !== 0n && type !== 2n) throw invalidParams(`eth_sendTransaction type ${String(tx.type)} is not supported: Tandem signs legacy (0x0) and EIP-1559 (0x2) transactions; leave type out or send one of those.`);
    legacy = type === 0n;
  }
  if (present('accessList') && (!Array.isArray(tx.accessList) || tx.accessList.length > 0)) {
    throw invalidParams('eth_sendTransaction accessList is not supported: Tandem does not sign access lists; leave it out or send [].');
  }
  if (!present('from')) throw invalidParams('eth_sendTransaction transaction needs "from", the sending address.');

  const request: TransactionRequestInput = { from: parseAddress(tx.from, field('from')) };
  if (present('to')) request.to = parseAddress(tx.to, field('to'));
  if (present('value')) request.value = parseQuantity(tx.value, field('value'));

  const data = present('data') ? parseHexData(tx.data, field('data'), MAX_CALLDATA_BYTES) : undefined;
  const input = present('input') ? parseHexData(tx.input, field('input'), MAX_CALLDATA_BYTES) : undefined;
  if (data !== undefined && input !== undefined && data !== input) throw invalidParams('eth_sendTransaction has both "data" and "input" and they differ; send one of them.');
  const callData = data ?? input;
  if (callData !== undefined) request.data = callData;
  if (request.to === undefined && (callData === undefined || callData === '0x')) {
    throw invalidParams('eth_sendTransaction without "to" creates a contract and needs the init code in "data".');
  }

  const gas = present('gas') ? parseQuantity(tx.gas, field('gas'), MAX_GAS) : undefined;
  const gasLimit = present('gasLimit') ? parseQuantity(tx.gasLimit, field('gasLimit'), MAX_GAS) : undefined;
  if (gas !== undefined && gasLimit !== undefined && gas !== gasLimit) throw invalidParams('eth_sendTransaction has both "gas" and "gasLimit" and they differ; send one of them.');
  const gasValue = gas ?? gasLimit;
  if (gasValue !== undefined) {
    if (gasValue === 0n) throw invalidParams('eth_sendTransaction gas is 0; leave it out to have it estimated.');
    request.gas = gasValue;
  }

  if (legacy) {
    if (present('maxFeePerGas') || present('maxPriorityFeePerGas')) {
      throw invalidParams('eth_sendTransaction type 0x0 (legacy) takes gasPrice, not EIP-1559 fees (maxFeePerGas / maxPriorityFeePerGas).');
    }
    request.legacy = true;
    if (present('gasPrice')) request.gasPrice = parseQuantity(tx.gasPrice, field('gasPrice'));
  } else if (present('gasPrice')) {
    if (present('maxFeePerGas') || present('maxPriorityFeePerGas')) {
      throw invalidParams('eth_sendTransaction has both gasPrice and EIP-1559 fees (maxFeePerGas / maxPriorityFeePerGas); send one kind.');
    }
    // An EIP-1559 transaction with both fees at the gas price never pays more than that legacy price would.
    const gasPrice = parseQuantity(tx.gasPrice, field('gasPrice'));
    request.maxFeePerGas = gasPrice;
    request.maxPriorityFeePerGas = gasPrice;
  } else {
    if (present('maxFeePerGas')) request.maxFeePerGas = parseQuantity(tx.maxFeePerGas, field('maxFeePerGas'));
    if (present('maxPriorityFeePerGas')) request.maxPriorityFeePerGas = parseQuantity(tx.maxPriorityFeePerGas, field('maxPriorityFeePerGas'));
    if (request.maxFeePerGas !== undefined && request.maxPriorityFeePerGas !== undefined && request.maxPriorityFeePerGas > request.maxFeePerGas) {
      throw invalidParams('eth_sendTransaction maxPriorityFeePerGas is above maxFeePerGas; the tip cannot exceed the fee cap.');
    }
  }

  if (present('nonce')) request.nonce = parseSmallQuantity(tx.nonce, field('nonce'));
  if (present('chainId')) request.chainId = parseChainIdQuantity(tx.chainId, field('chainId'), false);
  return request;
}

/** wallet_switchEthereumChain params: [{ chainId: '0x…' }]. */
export function parseSwitchChain(params: unknown): { chainId: number } {
  const [param] = expectParamsArray('wallet_switchEthereumChain', params, 1, 1, '[{ chainId }]');
  const object = expectObject(param, 'wallet_switchEthereumChain params[0]');
  rejectUnknownKeys(object, ['chainId'], 'wallet_switchEthereumChain params[0]');
  return { chainId: parseChainIdQuantity(object.chainId, 'wallet_switchEthereumChain chainId', true) };
}

const ADD_CHAIN_FIELDS = ['chainId', 'chainName', 'rpcUrls', 'nativeCurrency', 'blockExplorerUrls', 'iconUrls'] as const;

/**
 * wallet_addEthereumChain params (EIP-3085): [{ chainId, chainName, rpcUrls, nativeCurrency,
 * blockExplorerUrls?, iconUrls? }]. The first RPC URL and the first explorer URL are used; iconUrls are ignored.
 */
export function parseAddChain(params: unknown): ChainConfig {
  const method = 'wallet_addEthereumChain';
  const [param] = expectParamsArray(method, params, 1, 1, '[{ chainId, chainName, rpcUrls, nativeCurrency }]');
  const object = expectObject(param, `${method} params[0]`);
  rejectUnknownKeys(object, ADD_CHAIN_FIELDS, `${method} params[0]`);

  const id = parseChainIdQuantity(object.chainId, `${method} chainId`, true);
  const name = parseShortText(object.chainName, `${method} chainName`, 1, 100);

  if (!Array.isArray(object.rpcUrls) || object.rpcUrls.length === 0) throw invalidParams(`${method} rpcUrls must be a non-empty array of http(s) URLs.`);
  const rpcUrls = object.rpcUrls.map((url, index) => parseWebUrl(url, `${method} rpcUrls[${index}]`));

  const currency = expectObject(object.nativeCurrency, `${method} nativeCurrency`);
  rejectUnknownKeys(currency, ['name', 'symbol', 'decimals'], `${method} nativeCurrency`);
  if (currency.decimals !== 18) throw invalidParams(`${method} nativeCurrency.decimals must be 18, got ${describeKind(currency.decimals)}${typeof currency.decimals === 'number' ? ` ${currency.decimals}` : ''}.`);
  const nativeCurrency = {
    name: parseShortText(currency.name, `${method} nativeCurrency.name`, 1, 64),
    symbol: parseShortText(currency.symbol, `${method} nativeCurrency.symbol`, 2, 6),
    decimals: 18,
  };

  const chain: ChainConfig = { id, name, rpcUrl: rpcUrls[0]!, nativeCurrency };
  const explorers = object.blockExplorerUrls;
  if (explorers !== undefined && explorers !== null) {
    if (!Array.isArray(explorers)) throw invalidParams(`${method} blockExplorerUrls must be an array of http(s) URLs or null.`);
    const urls = explorers.map((url, index) => parseWebUrl(url, `${method} blockExplorerUrls[${index}]`));
    if (urls[0] !== undefined) chain.blockExplorerUrl = urls[0];
  }
  return chain;
}

/** wallet_requestPermissions params: [{ eth_accounts: {} }], the only permission Tandem grants. */
export function parsePermissionRequest(params: unknown): 'eth_accounts' {
  const method = 'wallet_requestPermissions';
  const [param] = expectParamsArray(method, params, 1, 1, '[{ eth_accounts: {} }]');
  const object = expectObject(param, `${method} params[0]`);
  const names = Object.keys(object);
  if (names.length === 0) throw invalidParams(`${method} asks for no permission; send [{ eth_accounts: {} }].`);
  const others = names.filter((name) => name !== 'eth_accounts');
  if (others.length > 0) throw invalidParams(`${method} asks for ${others.map((n) => `"${clip(n)}"`).join(', ')}; Tandem grants only eth_accounts.`);
  // Caveats inside eth_accounts (e.g. restrictReturnedAccounts) are not supported and have no effect: the wallet has one account.
  if (!isPlainObject(object.eth_accounts)) throw invalidParams(`${method} eth_accounts must be an object ({}), got ${describeKind(object.eth_accounts)}.`);
  return 'eth_accounts';
}

/**
 * A chain id as a hex quantity. For the chain methods it must be canonical (no leading zeros), as
 * EIP-3085 and EIP-3326 require, so that one chain has one spelling.
 */
function parseChainIdQuantity(value: unknown, what: string, canonical: boolean): number {
  if (canonical && typeof value === 'string' && /^0x0[0-9a-fA-F]/.test(value)) throw invalidParams(`${what} "${clip(value)}" has leading zeros; send it like "0x1" or "0xaa36a7".`);
  const id = parseSmallQuantity(value, what);
  if (id === 0) throw invalidParams(`${what} must be greater than 0.`);
  return id;
}

function parseShortText(value: unknown, what: string, min: number, max: number): string {
  if (typeof value !== 'string') throw invalidParams(`${what} must be a string, got ${describeKind(value)}.`);
  const text = value.trim();
  if (text.length < min || text.length > max) throw invalidParams(`${what} must be ${min} to ${max} characters, got ${text.length}.`);
  return text;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const MAX_URL_LENGTH = 2048;

/** https, or http only for this machine: a remote RPC over plain http could be rewritten in transit. */
function parseWebUrl(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalidParams(`${what} must be a URL string, got ${describeKind(value)}.`);
  if (value.length > MAX_URL_LENGTH) throw invalidParams(`${what} is longer than ${MAX_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidParams(`${what} "${clip(value)}" is not a valid URL.`);
  }
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)) return value;
  if (url.protocol === 'http:') throw invalidParams(`${what} "${clip(value)}" uses http; only https is allowed, except for localhost and 127.0.0.1.`);
  throw invalidParams(`${what} "${clip(value)}" must be an https URL.`);
}
