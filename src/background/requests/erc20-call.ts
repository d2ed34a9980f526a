/**
 * ERC-20 transfer, approve and transferFrom call data decoded for the approval popup, with the token's
 * symbol and decimals read from the chain when the contract answers.
 */
import { decodeFunctionData, erc20Abi, formatUnits, toFunctionSignature, type Address, type Hex, type PublicClient } from 'viem';
import type { DecodedCall, Warning } from '../api.js';

/** Approvals at or above 2^255 are the "infinite" approvals dapps ask for (usually 2^256 - 1). */
export const UNLIMITED_APPROVAL_THRESHOLD = 1n << 255n;
const DECODED_FUNCTIONS = new Set(['transfer', 'approve', 'transferFrom']);
const MAX_SYMBOL_LENGTH = 16;

export interface TokenInfo {
  symbol?: string;
  decimals?: number;
}

/** The call, when `data` is one of the three ERC-20 functions; `token` is read only when `to` has code. */
export async function describeErc20Call(options: {
  client: PublicClient;
  to: Address;
  data: Hex;
  toIsContract: boolean;
}): Promise<{ decoded: DecodedCall; warnings: Warning[] } | undefined> {
  const call = decodeErc20Call(options.data);
  if (!call) return undefined;
  const token = options.toIsContract ? { address: options.to, ...(await readTokenInfo(options.client, options.to)) } : undefined;

  const warnings: Warning[] = [];
  const args = call.inputs.map((input, index) => {
    const value = call.args[index] as Address | bigint;
    const arg: DecodedCall['args'][number] = { name: input.name, type: input.type, value: String(value) };
    if (typeof value === 'bigint') {
      const unlimited = call.functionName === 'approve' && value >= UNLIMITED_APPROVAL_THRESHOLD;
      const formatted = unlimited ? 'Unlimited' : token?.decimals !== undefined ? formatUnits(value, token.decimals) : undefined;
      if (formatted !== undefined) arg.formatted = token?.symbol ? `${formatted} ${token.symbol}` : formatted;
      if (unlimited) {
        const spender = call.args[0] as Address;
        warnings.push({ code: 'UNLIMITED_APPROVAL', message: `This lets ${spender} take all of your ${token?.symbol ?? `tokens at ${options.to}`}, now and later.` });
      }
    }
    return arg;
  });

  const decoded: DecodedCall = { name: call.functionName, signature: call.signature, args };
  if (token) decoded.token = token;
  return { decoded, warnings };
}

function decodeErc20Call(data: Hex) {
  let result: ReturnType<typeof decodeFunctionData<typeof erc20Abi>>;
  try {
    result = decodeFunctionData({ abi: erc20Abi, data });
  } catch {
    return undefined;
  }
  if (!DECODED_FUNCTIONS.has(result.functionName)) return undefined;
  const item = erc20Abi.find((entry) => entry.type === 'function' && entry.name === result.functionName);
  if (!item || item.type !== 'function') return undefined;
  return { functionName: result.functionName, signature: toFunctionSignature(item), inputs: item.inputs, args: result.args ?? [] };
}

/** symbol() and decimals(), each left out when the contract does not answer it sensibly. */
export async function readTokenInfo(client: PublicClient, address: Address): Promise<TokenInfo> {
  const [symbol, decimals] = await Promise.allSettled([
    client.readContract({ address, abi: erc20Abi, functionName: 'symbol' }),
    client.readContract({ address, abi: erc20Abi, functionName: 'decimals' }),
  ]);
  const info: TokenInfo = {};
  if (symbol.status === 'fulfilled') {
    const clean = displaySymbol(symbol.value);
    if (clean) info.symbol = clean;
  }
  if (decimals.status === 'fulfilled') info.decimals = decimals.value;
  return info;
}

/** A symbol is whatever the contract returns: strip what could disguise it in the popup and keep it short. */
function displaySymbol(symbol: string): string | undefined {
  const clean = symbol.replace(/[\p{Cc}\p{Cf}]/gu, '').trim();
  if (clean === '') return undefined;
  return clean.length > MAX_SYMBOL_LENGTH ? `${clean.slice(0, MAX_SYMBOL_LENGTH)}…` : clean;
}
