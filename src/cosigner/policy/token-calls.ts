import { decodeFunctionData, parseAbi, toFunctionSelector, type Address, type Hex } from 'viem';

/**
 * The token calls whose counterparty the recipient allow-list covers. ERC-721 shares the
 * selectors of approve(address,uint256) and transferFrom(address,address,uint256), so NFT
 * transfers and approvals are covered too.
 */
const TOKEN_ABI = parseAbi([
  'function transfer(address to, uint256 amount)',
  'function approve(address spender, uint256 amount)',
  'function transferFrom(address from, address to, uint256 amount)',
  'function increaseAllowance(address spender, uint256 addedValue)',
]);

const TOKEN_SELECTORS = new Set(TOKEN_ABI.map((item) => toFunctionSelector(item)));

export type TokenCall =
  | { functionName: 'transfer' | 'transferFrom'; role: 'recipient'; counterparty: Address; amount: bigint }
  | { functionName: 'approve' | 'increaseAllowance'; role: 'spender'; counterparty: Address; amount: bigint };

/**
 * Decodes calldata as one of the token calls above. Returns undefined for any other call,
 * and 'malformed' when the selector is a token call's but the arguments do not decode.
 */
export function decodeTokenCall(data: Hex): TokenCall | 'malformed' | undefined {
  if (data.length < 10) return undefined;
  if (!TOKEN_SELECTORS.has(data.slice(0, 10).toLowerCase() as Hex)) return undefined;
  let decoded: ReturnType<typeof decodeFunctionData<typeof TOKEN_ABI>>;
  try {
    decoded = decodeFunctionData({ abi: TOKEN_ABI, data });
  } catch {
    return 'malformed';
  }
  switch (decoded.functionName) {
    case 'transfer':
      return { functionName: 'transfer', role: 'recipient', counterparty: decoded.args[0], amount: decoded.args[1] };
    case 'transferFrom':
      return { functionName: 'transferFrom', role: 'recipient', counterparty: decoded.args[1], amount: decoded.args[2] };
    case 'approve':
      return { functionName: 'approve', role: 'spender', counterparty: decoded.args[0], amount: decoded.args[1] };
    case 'increaseAllowance':
      return { functionName: 'increaseAllowance', role: 'spender', counterparty: decoded.args[0], amount: decoded.args[1] };
  }
}
