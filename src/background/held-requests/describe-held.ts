/**
 * A request the co-signer holds for approvers, turned into what the Activity and approver pages
 * show: the same decoded details as the approval pages (message text, typed-data domain and fields,
 * transaction recipient, value, decoded call and fees), from the payload itself, and only after its
 * digest and payload hash were checked against that payload.
 */
import { formatUnits, getAddress, isHex, stringToHex, type Address, type Hex, type PublicClient, type TransactionSerializable, type TypedDataDefinition } from 'viem';
import { verifyRequestHashes, type RequestView } from '../../channel/approval-protocol.js';
import { payloadFromWire, type WirePayload } from '../../channel/cosigner-protocol.js';
import type { ChainConfig, HeldDetails, HeldRequestView, Warning } from '../api.js';
import { describeMessage } from '../requests/describe-message.js';
import { describeTypedData } from '../requests/describe-typed-data.js';
import { describeErc20Call } from '../requests/erc20-call.js';

type TransactionDetails = Extract<HeldDetails, { kind: 'transaction' }>;

export interface DescribeContext {
  /** The chains this browser knows: a transaction on one of them is read from its RPC (contract code, token symbol). */
  chains: readonly ChainConfig[];
  /** The current chain (typed data's own chain id is what it signs for; no mismatch warning here). */
  currentChainId: number;
  clientFor: (chain: ChainConfig) => PublicClient;
}

/** The parts of a view that depend on the payload only: computed once per request id. */
export interface DescribedPayload {
  details?: HeldDetails;
  warnings: Warning[];
  tampered?: string;
  /** The chain did not answer in time: shown without contract and token facts; worth describing again later. */
  incomplete?: true;
}

/** A page must not wait on a slow chain: what it does not answer within this is shown without. */
export const CHAIN_READ_TIMEOUT_MS = 3_000;

const TIMED_OUT = Symbol('timed out');

function within<T>(read: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
}

const NO_ADDRESS = '0x0000000000000000000000000000000000000000' as const;

export async function describePayload(request: RequestView, context: DescribeContext): Promise<DescribedPayload> {
  let wire: WirePayload;
  try {
    wire = verifyRequestHashes(request);
  } catch (error) {
    return { warnings: [], tampered: error instanceof Error && 'shortMessage' in error ? String(error.shortMessage) : 'This request does not hash to what it claims.' };
  }
  const address = (request.address ?? NO_ADDRESS) as Address;
  switch (wire.kind) {
    case 'message': {
      const described = describeMessage(address, messageHex(wire.message));
      return { details: described.details, warnings: described.warnings };
    }
    case 'typedData': {
      const described = describeTypedData(address, wire.typedData as TypedDataDefinition, context.currentChainId);
      // Which chain the user has selected says nothing about a request made earlier, or by another wallet.
      return { details: described.details, warnings: described.warnings.filter((warning) => warning.code !== 'CHAIN_MISMATCH') };
    }
    case 'transaction': {
      const payload = payloadFromWire(wire);
      if (payload.kind !== 'transaction') return { warnings: [], tampered: 'The payload is not the transaction it claims to be.' };
      return describeTransaction(address, payload.transaction, context);
    }
  }
}

function messageHex(message: unknown): Hex {
  if (typeof message === 'string') return stringToHex(message);
  const raw = (message as { raw?: unknown } | null)?.raw;
  if (typeof raw === 'string' && isHex(raw)) return raw;
  if (raw && typeof raw === 'object') return `0x${Object.values(raw as Record<string, number>).map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  return '0x';
}

async function describeTransaction(from: Address, transaction: TransactionSerializable, context: DescribeContext): Promise<DescribedPayload> {
  const chainId = transaction.chainId!;
  const known = context.chains.find((chain) => chain.id === chainId);
  const native = known?.nativeCurrency ?? { symbol: '', decimals: 18 };
  const formatNative = (wei: bigint) => (native.symbol ? `${formatUnits(wei, native.decimals)} ${native.symbol}` : `${formatUnits(wei, native.decimals)} (native units)`);
  // A parsed transaction's addresses are lower case: shown checksummed, as the approval pages do.
  const to = transaction.to ? getAddress(transaction.to) : undefined;
  const value = transaction.value ?? 0n;
  const data = transaction.data ?? '0x';
  const gas = transaction.gas ?? 0n;
  const maxFeePerGas = 'maxFeePerGas' in transaction && transaction.maxFeePerGas !== undefined ? transaction.maxFeePerGas : 'gasPrice' in transaction && transaction.gasPrice !== undefined ? transaction.gasPrice : 0n;
  const maxPriorityFeePerGas = 'maxPriorityFeePerGas' in transaction && transaction.maxPriorityFeePerGas !== undefined ? transaction.maxPriorityFeePerGas : maxFeePerGas;

  const client = known ? context.clientFor(known) : undefined;
  const code = client && to ? await within(client.getCode({ address: to }).then(hasContractCode, () => false), CHAIN_READ_TIMEOUT_MS) : false;
  const toIsContract = code === true;
  const token = client && to ? await within(describeErc20Call({ client, to, data, toIsContract }).catch(() => undefined), CHAIN_READ_TIMEOUT_MS) : undefined;
  const erc20 = token === TIMED_OUT ? undefined : token;
  const incomplete = code === TIMED_OUT || token === TIMED_OUT;

  const warnings: Warning[] = [];
  if (toIsContract && data === '0x') warnings.push({ code: 'EMPTY_CALLDATA_TO_CONTRACT', message: 'This sends to a contract with no call data; funds may be stuck.' });
  if (erc20) warnings.push(...erc20.warnings);

  const details: TransactionDetails = {
    kind: 'transaction',
    from,
    chain: { id: chainId, name: known?.name ?? `Chain ${chainId}`, symbol: native.symbol },
    ...(to ? { to } : {}),
    toIsContract,
    value: value.toString(),
    valueFormatted: formatNative(value),
    data,
    ...(erc20 ? { decoded: erc20.decoded } : {}),
    nonce: transaction.nonce ?? 0,
    gas: gas.toString(),
    ...(transaction.type === 'legacy' ? { gasPrice: maxFeePerGas.toString() } : {}),
    maxFeePerGas: maxFeePerGas.toString(),
    maxPriorityFeePerGas: maxPriorityFeePerGas.toString(),
    maxFeeFormatted: formatNative(gas * maxFeePerGas),
  };
  return { details, warnings, ...(incomplete ? { incomplete: true as const } : {}) };
}

/** Code that makes an address a contract; an EIP-7702 delegation designator marks a person's account. */
function hasContractCode(code: Hex | undefined): boolean {
  if (code === undefined || code === '0x') return false;
  return !(code.length === 2 + 46 && code.toLowerCase().startsWith('0xef0100'));
}

/** The view a page shows: the payload's description plus the request's state, decisions and result. */
export function heldRequestView(request: RequestView, described: DescribedPayload, extra: Pick<HeldRequestView, 'origin' | 'sentHere' | 'yourVerdict' | 'canDecide'> = {}): HeldRequestView {
  const result = request.result;
  return {
    requestId: request.requestId,
    state: request.state,
    walletAddress: request.address,
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    updatedAt: request.updatedAt,
    ...(described.details ? { details: described.details } : {}),
    warnings: described.warnings,
    ...(described.tampered ? { tampered: described.tampered } : {}),
    payloadHash: request.payloadHash,
    quorums: request.quorums.map((quorum) => ({ rule: quorum.rule, quorum: quorum.quorum, approvers: quorum.approvers.map(({ approverId, name }) => ({ approverId, name })) })),
    decisions: request.decisions.map(({ approverId, name, verdict, decidedAt }) => ({ approverId, name, verdict, decidedAt })),
    ...(result?.transactionHash ? { transactionHash: result.transactionHash } : {}),
    ...(result?.signature ? { signature: result.signature } : {}),
    ...(result?.error ? { error: result.error } : {}),
    ...Object.fromEntries(Object.entries(extra).filter(([, value]) => value !== undefined)),
  };
}
