/** Read-only eth_* methods, answered by the current chain's RPC node. */
import { chainClient } from '../chain-client.js';
import { ProviderRpcError, RPC_CODES } from '../errors.js';
import { currentChain, readSettings } from '../settings.js';
import type { RpcHandler } from './context.js';

/** Methods that read the chain (or send a transaction someone already signed); nothing here touches the key. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'eth_blockNumber',
  'eth_call',
  'eth_estimateGas',
  'eth_feeHistory',
  'eth_gasPrice',
  'eth_getBalance',
  'eth_getBlockByHash',
  'eth_getBlockByNumber',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getCode',
  'eth_getFilterChanges',
  'eth_getFilterLogs',
  'eth_getLogs',
  'eth_getProof',
  'eth_getStorageAt',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionByHash',
  'eth_getTransactionCount',
  'eth_getTransactionReceipt',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleCountByBlockNumber',
  'eth_maxPriorityFeePerGas',
  'eth_newBlockFilter',
  'eth_newFilter',
  'eth_newPendingTransactionFilter',
  'eth_protocolVersion',
  'eth_sendRawTransaction',
  'eth_syncing',
  'eth_uninstallFilter',
  'eth_blobBaseFee',
  'net_listening',
  'web3_clientVersion',
]);

export const passThrough: RpcHandler = async ({ method, params }) => {
  const chain = currentChain(await readSettings());
  try {
    const result = await chainClient(chain).request({ method, params } as never);
    return { result };
  } catch (error) {
    throw nodeError(error, chain.name);
  }
};

/** Keeps the node's own JSON-RPC error (a revert, a bad block tag); a node that does not answer is 4901. */
function nodeError(error: unknown, chainName: string): ProviderRpcError {
  let current: unknown = error;
  while (current instanceof Error) {
    const { code, data } = current as { code?: unknown; data?: unknown };
    const shortMessage = (current as { shortMessage?: unknown }).shortMessage;
    if (typeof code === 'number' && code !== RPC_CODES.internal && (current.name === 'RpcRequestError' || current.name.endsWith('RpcError'))) {
      return new ProviderRpcError(code, typeof shortMessage === 'string' ? shortMessage : current.message.split('\n')[0]!, { data });
    }
    if (current.name === 'HttpRequestError' || current.name === 'TimeoutError') break;
    current = current.cause;
  }
  // Not the URL: it may carry the user's API key, and any site can call this.
  return new ProviderRpcError(RPC_CODES.chainDisconnected, `The RPC node of ${chainName} did not answer.`);
}
