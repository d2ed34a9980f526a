/**
 * Turns an eth_sendTransaction request into the exact transaction to sign (nonce, gas and fees filled in
 * from the chain) and into what the approval popup shows: decoded call, fees, simulation, warnings.
 * EIP-1559 unless the dapp asked for a legacy transaction (type 0x0) or the chain has no EIP-1559 fees.
 */
import {
  BaseError,
  decodeErrorResult,
  Eip1559FeesNotSupportedError,
  formatUnits,
  hexToBigInt,
  isAddressEqual,
  isHex,
  numberToHex,
  RpcRequestError,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionSerializableEIP1559,
  type TransactionSerializableLegacy,
} from 'viem';
import type { ApprovalDetails, ChainConfig, Warning } from '../api.js';
import { invalidParams } from '../errors.js';
import { describeErc20Call } from './erc20-call.js';
import { RequestError } from './errors.js';
import type { TransactionRequestInput } from './params.js';

type TransactionDetails = Extract<ApprovalDetails, { kind: 'transaction' }>;

interface PreparedFields {
  chainId: number;
  nonce: number;
  value: bigint;
  data: Hex;
  gas: bigint;
}

export type PreparedTransactionRequest =
  | (TransactionSerializableEIP1559 & PreparedFields & { type: 'eip1559'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint })
  | (TransactionSerializableLegacy & PreparedFields & { type: 'legacy'; gasPrice: bigint });

/** The most a prepared transaction pays per gas: its fee cap, or a legacy one's gas price. */
export function feeCapOf(transaction: PreparedTransactionRequest): bigint {
  return transaction.type === 'legacy' ? transaction.gasPrice : transaction.maxFeePerGas;
}

export interface PreparedTransaction {
  transaction: PreparedTransactionRequest;
  details: TransactionDetails;
  warnings: Warning[];
}

/**
 * Gas used when the estimate fails, only so the popup can show a fee and the user can still decide:
 * the transaction would most likely revert, and the warning says so.
 */
export const FALLBACK_GAS = 500_000n;
const MAX_REASON_LENGTH = 200;

export async function prepareTransaction(options: {
  client: PublicClient;
  chain: ChainConfig;
  from: Address;
  request: TransactionRequestInput;
}): Promise<PreparedTransaction> {
  const { client, chain, from, request } = options;
  if (!isAddressEqual(request.from, from)) throw invalidParams(`eth_sendTransaction from ${request.from} is not this wallet's address ${from}.`);
  if (request.chainId !== undefined && request.chainId !== chain.id) {
    throw invalidParams(`eth_sendTransaction chainId ${request.chainId} differs from the current chain ${chain.id}; switch chains first.`);
  }
  const to = request.to;
  const value = request.value ?? 0n;
  const data = request.data ?? '0x';

  const [nonce, fees, toIsContract, balance, execution] = await Promise.all([
    request.nonce ?? readChain(chain, () => client.getTransactionCount({ address: from, blockTag: 'pending' })),
    resolveFees(client, chain, request),
    to === undefined ? false : readChain(chain, async () => hasContractCode(await client.getCode({ address: to }))),
    readChain(chain, () => client.getBalance({ address: from })),
    simulate(client, { from, to, value, data }),
  ]);
  const erc20 = to === undefined ? undefined : await describeErc20Call({ client, to, data, toIsContract });
  const gas = request.gas ?? (execution.ok ? execution.gasUsed : FALLBACK_GAS);
  // An estimate is an upper bound (hardhat answers 21001 for a plain transfer): a lower limit the site set
  // is only a problem if the call fails with it.
  const fitsSiteLimit = execution.ok && gas < execution.gasUsed ? await runsWithin(client, { from, to, value, data }, gas) : true;
  const native = chain.nativeCurrency;
  const formatNative = (wei: bigint) => `${formatUnits(wei, native.decimals)} ${native.symbol}`;

  // Not every node checks the balance when it simulates (hardhat does not), yet every node refuses a
  // transaction whose value plus maximum fee exceeds it: say so before the user signs.
  const feeCap = fees.kind === 'legacy' ? fees.gasPrice : fees.maxFeePerGas;
  const worstCost = value + gas * feeCap;
  const simulation: Simulation = !execution.ok
    ? execution
    : !fitsSiteLimit
      ? { ok: false, error: `out of gas: the site set a gas limit of ${gas} but this needs about ${execution.gasUsed}.` }
      : balance < worstCost
        ? { ok: false, error: `insufficient funds: this needs up to ${formatNative(worstCost)} (value plus maximum fee) but the account holds ${formatNative(balance)}.` }
        : execution;

  const common = { chainId: chain.id, nonce, ...(to === undefined ? {} : { to }), value, data, gas };
  const transaction: PreparedTransactionRequest =
    fees.kind === 'legacy'
      ? { ...common, type: 'legacy', gasPrice: fees.gasPrice }
      : { ...common, type: 'eip1559', maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };

  const warnings: Warning[] = [];
  if (!simulation.ok) warnings.push({ code: 'SIMULATION_FAILED', message: `This transaction is expected to fail: ${simulation.error}` });
  if (toIsContract && data === '0x') {
    warnings.push({ code: 'EMPTY_CALLDATA_TO_CONTRACT', message: 'You are sending to a contract with no call data; funds may be stuck.' });
  }
  if (erc20) warnings.push(...erc20.warnings);

  const details: TransactionDetails = {
    kind: 'transaction',
    from,
    chain: { id: chain.id, name: chain.name, symbol: native.symbol },
    ...(to === undefined ? {} : { to }),
    toIsContract,
    value: value.toString(),
    valueFormatted: formatNative(value),
    data,
    ...(erc20 ? { decoded: erc20.decoded } : {}),
    nonce,
    gas: gas.toString(),
    ...(fees.kind === 'legacy' ? { gasPrice: fees.gasPrice.toString() } : {}),
    maxFeePerGas: feeCap.toString(),
    maxPriorityFeePerGas: (fees.kind === 'legacy' ? fees.gasPrice : fees.maxPriorityFeePerGas).toString(),
    maxFeeFormatted: formatNative(gas * feeCap),
    simulation: simulation.ok ? { ok: true, gasUsed: simulation.gasUsed.toString() } : { ok: false, error: simulation.error },
  };
  return { transaction, details, warnings };
}

/**
 * Code that makes `to` a contract. An EIP-7702 delegation designator (0xef0100 + address) marks an
 * account a person controls, which receives plain transfers like any other.
 */
function hasContractCode(code: Hex | undefined): boolean {
  if (code === undefined || code === '0x') return false;
  return !(code.length === 2 + 46 && code.toLowerCase().startsWith('0xef0100'));
}

type Fees = { kind: 'eip1559'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { kind: 'legacy'; gasPrice: bigint };

async function resolveFees(client: PublicClient, chain: ChainConfig, request: TransactionRequestInput): Promise<Fees> {
  const legacy = async (): Promise<Fees> => ({ kind: 'legacy', gasPrice: request.gasPrice ?? (await readChain(chain, () => client.getGasPrice())) });
  if (request.legacy) return legacy();
  const { maxFeePerGas, maxPriorityFeePerGas } = request;
  if (maxFeePerGas !== undefined && maxPriorityFeePerGas !== undefined) return { kind: 'eip1559', maxFeePerGas, maxPriorityFeePerGas };
  let estimated: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  try {
    estimated = await readChain(chain, () => client.estimateFeesPerGas({ type: 'eip1559', chain: undefined }));
  } catch (error) {
    // A chain without EIP-1559 (no base fee) takes legacy transactions: sign one, as the dapp gave no EIP-1559 fee to keep.
    if (error instanceof RequestError && error.code === 'FEES_UNSUPPORTED' && maxFeePerGas === undefined && maxPriorityFeePerGas === undefined) return legacy();
    throw error;
  }
  if (maxFeePerGas !== undefined) {
    return { kind: 'eip1559', maxFeePerGas, maxPriorityFeePerGas: estimated.maxPriorityFeePerGas < maxFeePerGas ? estimated.maxPriorityFeePerGas : maxFeePerGas };
  }
  if (maxPriorityFeePerGas !== undefined) {
    // Keep the estimated headroom over the base fee, with the dapp's tip in place of the estimated one.
    return { kind: 'eip1559', maxFeePerGas: estimated.maxFeePerGas - estimated.maxPriorityFeePerGas + maxPriorityFeePerGas, maxPriorityFeePerGas };
  }
  return { kind: 'eip1559', maxFeePerGas: estimated.maxFeePerGas, maxPriorityFeePerGas: estimated.maxPriorityFeePerGas };
}

type Simulation = { ok: true; gasUsed: bigint } | { ok: false; error: string };

/**
 * eth_estimateGas and eth_call against the latest block; a failure is reported, never thrown.
 * Sent without retries: nodes answer a revert with -32603, which the transport would otherwise retry
 * with back-off, keeping the popup waiting for an answer that will not change.
 */
type CallInput = { from: Address; to: Address | undefined; value: bigint; data: Hex };

function callParams(tx: CallInput) {
  return {
    from: tx.from,
    ...(tx.to === undefined ? {} : { to: tx.to }),
    value: numberToHex(tx.value),
    ...(tx.data === '0x' ? {} : { data: tx.data }),
  };
}

const once = { retryCount: 0 };

/** Whether eth_call succeeds with this gas limit. */
async function runsWithin(client: PublicClient, tx: CallInput, gas: bigint): Promise<boolean> {
  return client.request({ method: 'eth_call', params: [{ ...callParams(tx), gas: numberToHex(gas) }, 'latest'] }, once).then(
    () => true,
    () => false,
  );
}

async function simulate(client: PublicClient, tx: CallInput): Promise<Simulation> {
  const call = callParams(tx);
  try {
    const [gasUsed] = await Promise.all([
      client.request({ method: 'eth_estimateGas', params: [call] }, once),
      client.request({ method: 'eth_call', params: [call, 'latest'] }, once),
    ]);
    return { ok: true, gasUsed: hexToBigInt(gasUsed) };
  } catch (error) {
    return { ok: false, error: failureReason(error) };
  }
}

/**
 * The revert reason when the node gave one (Error(string), Panic, or a custom error's selector), else
 * the node's own words: viem's short message for a -32603 answer is only "An internal error was received."
 */
export function failureReason(error: unknown): string {
  if (!(error instanceof BaseError)) return clipReason(error instanceof Error ? error.message : String(error));
  const revertData = findRevertData(error);
  if (revertData && revertData !== '0x') {
    try {
      const decoded = decodeErrorResult({ data: revertData, abi: [] });
      if (decoded.errorName === 'Error') return clipReason(`reverted: ${String(decoded.args?.[0])}`);
      if (decoded.errorName === 'Panic') return clipReason(`reverted with panic code ${String(decoded.args?.[0])}`);
    } catch {
      return `reverted with custom error ${revertData.slice(0, 10)}`;
    }
  }
  const fromNode = error.walk((e) => e instanceof RpcRequestError);
  const nodeMessage = fromNode instanceof RpcRequestError ? fromNode.details.replace(/^Error:\s*/, '') : '';
  return clipReason(nodeMessage || error.shortMessage);
}

function findRevertData(error: BaseError): Hex | undefined {
  let found: Hex | undefined;
  error.walk((e) => {
    const data = (e as { data?: unknown }).data;
    const candidate = typeof data === 'object' && data !== null ? (data as { data?: unknown }).data : data;
    if (typeof candidate === 'string' && isHex(candidate) && candidate.length >= 10) {
      found = candidate;
      return true;
    }
    return false;
  });
  return found;
}

function clipReason(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_REASON_LENGTH ? `${oneLine.slice(0, MAX_REASON_LENGTH)}…` : oneLine;
}

async function readChain<T>(chain: ChainConfig, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof BaseError && error.walk((e) => e instanceof Eip1559FeesNotSupportedError)) {
      throw new RequestError('FEES_UNSUPPORTED', `${chain.name} does not support EIP-1559 fees: send a legacy transaction (type 0x0) or leave the fees out.`, { cause: error });
    }
    const details = error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
    throw new RequestError('CHAIN_UNAVAILABLE', `Could not read from ${chain.name} (${chain.rpcUrl}). Check the network and try again.`, { details, cause: error });
  }
}
