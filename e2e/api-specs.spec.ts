/**
 * Tandem's provider against MetaMask's `@metamask/api-specs` OpenRPC document (issue 14, item 2).
 *
 * Every method of the document has a plan below: either a RUN plan (Tandem implements it; each example is sent
 * through the dapp page's EIP-6963 provider in the real extension, popups are answered "approve", and the result
 * is checked) or a SKIP plan with the reason, in which case the runner still sends the request once and checks
 * that Tandem refuses it with the stated code (so a skip cannot hide a method that quietly started answering).
 * A method of the document without a plan fails the spec: a new version of the document must be looked at.
 *
 * The check per example, in this order: no error; the result matches the method's result SCHEMA (ajv; see
 * api-specs/openrpc.ts); then, per method, the literal example value where it can hold for any wallet on any
 * chain, or a semantic check (a signature recovers to the wallet, a transaction is mined with the asked fields).
 * Example params that name MetaMask's test accounts, mainnet blocks and contracts, or chain 0x1 / 0xaa36a7 are
 * adapted to the e2e stack (the onboarded wallet, the hardhat chain 0x7a69, blocks and transactions made here);
 * each plan's `check` says what was adapted and which check applies. It is printed in the table.
 *
 * Why a runner of our own rather than @open-rpc/test-coverage: see e2e/api-specs/openrpc.ts.
 */
import type { Page } from '@playwright/test';
import { keccak256, parseUnits, recoverMessageAddress, verifyTypedData, type Address, type Hex, type TypedDataDefinition } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { startHardhatNode, type HardhatNode } from '../src/client/testing/hardhat-node.js';
import { exampleParams, formatTable, loadMetaMaskOpenRpc, ResultSchemas, type MethodRow, type OpenRpcExample, type OpenRpcMethod } from './api-specs/openrpc.js';
import { dappAnswer, dappRequest, expect, settledDappRequest, startDappRequest, test, type DemoAnswer } from './fixtures.js';
import { deployTestToken, HARDHAT_FIRST_ACCOUNT_KEY } from './stack/erc20-token.js';
import type { Stack } from './stack/stack.js';
import { nextApproval, type OnboardedWallet, type TandemBrowser } from './tandem.js';

const CHAIN = '0x7a69';
/** wallet_addEthereumChain's example adds Gnosis, chain 0x64 (100): a local hardhat node runs with that id. */
const EXAMPLE_ADDED_CHAIN_ID = 100;

interface RunContext {
  tandem: TandemBrowser;
  wallet: OnboardedWallet;
  dapp: Page;
  stack: Stack;
  /** Made during the run: a token, the chain 100 node, the transaction sent, filters, the bundle id. */
  token: Address;
  chain100: HardhatNode;
  sent?: { hash: Hex; blockHash: Hex; blockNumber: Hex; transactionIndex: Hex };
  bundleId?: string;
  blockFilter?: string;
  logFilter?: string;
}

interface RunPlan {
  /** Which check applies, and what of the example was adapted. */
  check: string;
  /** The method opens an approval popup, answered "approve". */
  approval?: boolean;
  /** The request's params, from the example's (the default: the example's own). */
  params?: (example: OpenRpcExample, ctx: RunContext, original: unknown) => unknown | Promise<unknown>;
  /** A documented change to (a copy of) the result schema before checking, e.g. a field EIP-5792 types more loosely. */
  adjustSchema?: (schema: Record<string, unknown>) => Record<string, unknown>;
  /** Compare the result with the example's literal value, too. */
  literal?: boolean;
  /** An example that cannot run on Tandem, with the reason and the error code Tandem must answer it with. */
  skipExample?: (example: OpenRpcExample) => { reason: string; refusedWith: number } | undefined;
  /**
   * Read-only, passed to the chain's node: when the answer fails the schema (or is an error), the same request is
   * sent to the node directly, and an identical answer makes it the node's deviation (column node≠spec), not Tandem's.
   */
  node?: boolean;
  /** The semantic check; throws when the result is wrong. */
  verify?: (result: unknown, ctx: RunContext, params: unknown) => unknown | Promise<unknown>;
}

interface SkipPlan {
  skip: string;
  /** The code Tandem answers with (checked with the first example's params, or none). */
  refusedWith: number;
}

const same = (a: unknown, b: unknown) => String(a).toLowerCase() === String(b).toLowerCase();
function ensure(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
const positional = (original: unknown) => original as unknown[];
const receiptOf = async (ctx: RunContext, hash: Hex) => {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { result } = await dappRequest(ctx.dapp, 'eth_getTransactionReceipt', [hash]);
    if (result) return result as { status: Hex; blockHash: Hex; blockNumber: Hex; transactionIndex: Hex; from: Address; to: Address };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${hash} was not mined within 10 s.`);
};
const needSent = (ctx: RunContext) => {
  ensure(ctx.sent, 'eth_sendTransaction did not leave a mined transaction to read.');
  return ctx.sent;
};

/**
 * The plans, in the order they run (the state of one feeds the next: connect before signing, a mined
 * transaction before reading it). The table is printed in the document's order.
 */
const RUN: Record<string, RunPlan> = {
  // ---- Permissions and accounts. The origin starts disconnected, so both ways of connecting open the popup.
  wallet_requestPermissions: {
    check: 'popup approved; schema PermissionsList (the example value `{eth_accounts:{}}` is not even a list); one eth_accounts permission for the wallet',
    approval: true,
    verify: (result, ctx) => {
      const [permission] = result as { parentCapability: string; caveats?: { type: string; value: string[] }[] }[];
      ensure(permission?.parentCapability === 'eth_accounts', `expected an eth_accounts permission, got ${JSON.stringify(result)}`);
      ensure(same(permission.caveats?.[0]?.value?.[0], ctx.wallet.address), 'the permission does not name the wallet');
    },
  },
  wallet_getPermissions: {
    check: 'schema PermissionsList (example value is not a list); it lists eth_accounts',
    verify: (result) => ensure((result as { parentCapability: string }[]).some((p) => p.parentCapability === 'eth_accounts'), 'no eth_accounts permission'),
  },
  wallet_revokePermissions: {
    check: 'schema null = literal; eth_accounts is [] afterwards',
    verify: async (_result, ctx) => ensure((await dappRequest(ctx.dapp, 'eth_accounts')).result?.toString() === '', 'still connected after revoking'),
  },
  eth_requestAccounts: {
    check: "popup approved; schema address list; the wallet's address (the example's account is MetaMask's)",
    approval: true,
    verify: (result, ctx) => ensure(Array.isArray(result) && result.length === 1 && same(result[0], ctx.wallet.address), `expected [${ctx.wallet.address}]`),
  },
  eth_accounts: {
    check: "schema address list; the wallet's address",
    verify: (result, ctx) => ensure(Array.isArray(result) && result.length === 1 && same(result[0], ctx.wallet.address), `expected [${ctx.wallet.address}]`),
  },

  // ---- Signing: the address is the wallet's; the signature is checked against it, not the example's bytes.
  personal_sign: {
    check: 'address -> wallet; popup approved; schema (lowercase hex); signature recovers to the wallet',
    approval: true,
    params: (_example, ctx, original) => [positional(original)[0], ctx.wallet.address],
    verify: async (result, ctx, params) => {
      const recovered = await recoverMessageAddress({ message: { raw: positional(params)[0] as Hex }, signature: result as Hex });
      ensure(same(recovered, ctx.wallet.address), `recovers to ${recovered}`);
    },
  },
  eth_signTypedData_v4: {
    check: 'address 0x0 -> wallet; typed data as given (an object, domain chainId 1: a chain-mismatch warning); popup approved; schema; verifyTypedData',
    approval: true,
    params: (_example, ctx, original) => [ctx.wallet.address, positional(original)[1]],
    verify: async (result, ctx, params) => {
      const { types, primaryType, domain, message } = positional(params)[1] as TypedDataDefinition & { types: Record<string, unknown> };
      const { EIP712Domain: _domain, ...rest } = types;
      const valid = await verifyTypedData({ address: ctx.wallet.address, types: rest, primaryType, domain, message, signature: result as Hex } as Parameters<typeof verifyTypedData>[0]);
      ensure(valid, 'the signature does not verify for the wallet');
    },
  },
  eth_sendTransaction: {
    check: 'from -> wallet (to, gas, value 10 ETH, legacy gasPrice kept); popup approved; schema hash32; mined with those to/value',
    approval: true,
    params: (_example, ctx, original) => [{ ...(positional(original)[0] as object), from: ctx.wallet.address }],
    verify: async (result, ctx, params) => {
      const receipt = await receiptOf(ctx, result as Hex);
      ensure(receipt.status === '0x1', 'the transaction reverted');
      const asked = positional(params)[0] as { to: string; value: string };
      const tx = (await dappRequest(ctx.dapp, 'eth_getTransactionByHash', [result])).result as { from: string; to: string; value: string };
      ensure(same(tx.from, ctx.wallet.address) && same(tx.to, asked.to) && BigInt(tx.value) === BigInt(asked.value), `mined ${JSON.stringify(tx)}`);
      ctx.sent = { hash: result as Hex, blockHash: receipt.blockHash, blockNumber: receipt.blockNumber, transactionIndex: receipt.transactionIndex };
    },
  },

  // ---- EIP-5792.
  wallet_getCapabilities: {
    check: `address -> wallet, chain 0xaa36a7 -> ${CHAIN}; schema object; {${CHAIN}: {atomic: {status: 'unsupported'}}} (an EOA, EIP-5792's status)`,
    params: (_example, ctx) => [ctx.wallet.address, [CHAIN]],
    verify: (result) => ensure(JSON.stringify(result) === JSON.stringify({ [CHAIN]: { atomic: { status: 'unsupported' } } }), `got ${JSON.stringify(result)}`),
  },
  wallet_sendCalls: {
    check: `from -> wallet, chainId -> ${CHAIN}, atomicRequired true -> false (true is 5760: an EOA cannot, checked too); popup approved; schema; an id`,
    approval: true,
    params: async (_example, ctx, original) => {
      const calls = positional(original)[0] as Record<string, unknown>;
      const atomic = await dappRequest(ctx.dapp, 'wallet_sendCalls', [{ ...calls, from: ctx.wallet.address, chainId: CHAIN }]);
      ensure(atomic.error?.code === 5760, `atomicRequired: true should be 5760 for an EOA, got ${JSON.stringify(atomic)}`);
      return [{ ...calls, from: ctx.wallet.address, chainId: CHAIN, atomicRequired: false }];
    },
    verify: (result, ctx) => {
      const { id } = result as { id?: unknown };
      ensure(typeof id === 'string' && id.length > 0, 'no id');
      ctx.bundleId = id;
    },
  },
  wallet_getCallsStatus: {
    check:
      'id -> the bundle just sent; polled until final; schema, with `id` as an EIP-5792 string (the schema says uint; Tandem ids are 0x + 32 random bytes, 1 in 16 start 0x0); status 200, 2 receipts, atomic false',
    // MetaMask's schema types the batch id as a uint quantity (no leading zero); EIP-5792 says any string. The
    // check follows the EIP for `id` and the schema for everything else; see e2e/README.md.
    adjustSchema: (schema) => {
      const properties = schema.properties as Record<string, unknown>;
      return { ...schema, properties: { ...properties, id: { type: 'string', minLength: 1 } } };
    },
    params: async (_example, ctx) => {
      ensure(ctx.bundleId, 'wallet_sendCalls left no id');
      for (let attempt = 0; attempt < 100; attempt += 1) {
        const status = (await dappRequest(ctx.dapp, 'wallet_getCallsStatus', [ctx.bundleId])).result as { status?: number } | undefined;
        if (status && status.status !== 100) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [ctx.bundleId];
    },
    verify: (result, ctx) => {
      const status = result as { id: string; chainId: string; status: number; atomic: boolean; receipts?: unknown[] };
      ensure(status.id === ctx.bundleId && status.chainId === CHAIN && status.status === 200 && status.atomic === false && status.receipts?.length === 2, `got ${JSON.stringify(result)}`);
    },
  },

  // ---- EIP-747.
  wallet_watchAsset: {
    check: 'ERC20: address -> a FOO token (18 decimals) deployed here (the example address has no code on this chain); popup approved; schema boolean; literal true',
    approval: true,
    literal: true,
    skipExample: (example) => {
      const type = example.params.find((param) => param.name === 'type')?.value;
      return type === 'ERC20' ? undefined : { reason: `${String(type)}: Tandem watches ERC-20 tokens only (-32602)`, refusedWith: -32602 };
    },
    params: (_example, ctx, original) => {
      const { type, options } = original as { type: string; options: Record<string, unknown> };
      return { type, options: { ...options, address: ctx.token } };
    },
  },

  // ---- Chains. The example's chain 0x64 is kept: a local hardhat node runs with chain id 100 (its RPC URL replaces
  // Gnosis's, which is offline here and whose chain id Tandem checks). Removed from the wallet afterwards.
  wallet_addEthereumChain: {
    check: 'rpcUrls -> a local node with chain id 0x64 (the rest as given); popup approved; schema null = literal; eth_chainId is 0x64 after',
    approval: true,
    params: (_example, ctx, original) => [{ ...(positional(original)[0] as object), rpcUrls: [ctx.chain100.url] }],
    verify: async (_result, ctx) => ensure((await dappRequest(ctx.dapp, 'eth_chainId')).result === '0x64', 'not on 0x64 after adding it'),
  },
  wallet_switchEthereumChain: {
    check: `as given (0x64, added just before; the wallet is first switched back to ${CHAIN}); schema null = literal; eth_chainId is 0x64 after`,
    params: async (_example, ctx, original) => {
      ensure((await dappRequest(ctx.dapp, 'wallet_switchEthereumChain', [{ chainId: CHAIN }])).result === null, `could not switch to ${CHAIN} first`);
      return original;
    },
    verify: async (_result, ctx) => {
      ensure((await dappRequest(ctx.dapp, 'eth_chainId')).result === '0x64', 'not on 0x64 after switching');
      ensure((await dappRequest(ctx.dapp, 'wallet_switchEthereumChain', [{ chainId: CHAIN }])).result === null, `could not switch back to ${CHAIN}`);
    },
  },

  // ---- Read-only methods: passed to the chain's node (hardhat 2 here). Mainnet blocks, hashes and filter ids of
  // the examples do not exist on this chain (the answer would be a trivially valid null, or an error), so they are
  // replaced by the block and transaction that eth_sendTransaction mined and filters made here.
  eth_chainId: { check: `schema uint; ${CHAIN} (the example's 0x1 is mainnet)`, verify: (result) => ensure(result === CHAIN, `got ${String(result)}`) },
  web3_clientVersion: { check: "schema string (the node's version; the examples are MetaMask's own)" },
  eth_blockNumber: { check: 'schema uint' },
  eth_call: { check: 'as given; schema bytes; literal 0x (the address has no code)', literal: true },
  eth_estimateGas: {
    check: 'from -> wallet (the example sender has no ether here); schema uint; at least 0x5208 (hardhat says 0x5209, geth the literal 0x5208)',
    params: (_example, ctx, original) => [{ ...(positional(original)[0] as object), from: ctx.wallet.address }],
    verify: (result) => ensure(BigInt(result as string) >= 21_000n, `got ${String(result)}`),
  },
  eth_feeHistory: { check: 'as given; schema (the example value itself says `oldestblock`, which its schema does not allow)' },
  eth_gasPrice: { check: 'schema uint' },
  eth_getBalance: { check: 'as given; schema uint (0x0 here)' },
  eth_getBlockByHash: {
    check: 'hash -> the block eth_sendTransaction mined; schema Block (not null); its hash',
    params: (_example, ctx) => [needSent(ctx).blockHash, false],
    verify: (result, ctx) => ensure(same((result as { hash?: string } | null)?.hash, needSent(ctx).blockHash), 'another block'),
  },
  eth_getBlockByNumber: {
    check: 'number -> that block; schema Block (not null); its number',
    params: (_example, ctx) => [needSent(ctx).blockNumber, false],
    verify: (result, ctx) => ensure((result as { number?: string } | null)?.number === needSent(ctx).blockNumber, 'another block'),
  },
  eth_getBlockTransactionCountByHash: {
    check: 'hash -> that block; schema uint; literal would be 0x8: here 0x1',
    params: (_example, ctx) => [needSent(ctx).blockHash],
    verify: (result) => ensure(result === '0x1', `got ${String(result)}`),
  },
  eth_getBlockTransactionCountByNumber: {
    check: 'number -> that block; schema uint; 0x1',
    params: (_example, ctx) => [needSent(ctx).blockNumber],
    verify: (result) => ensure(result === '0x1', `got ${String(result)}`),
  },
  eth_getCode: { check: 'as given; schema bytes (0x: no code here)' },
  eth_getStorageAt: { check: 'as given; schema bytes; literal (32 zero bytes)', literal: true },
  eth_getTransactionByBlockHashAndIndex: {
    check: 'block hash and index -> the transaction sent; schema TransactionInfo (not null); its hash',
    params: (_example, ctx) => [needSent(ctx).blockHash, needSent(ctx).transactionIndex],
    verify: (result, ctx) => ensure(same((result as { hash?: string } | null)?.hash, needSent(ctx).hash), 'another transaction'),
  },
  eth_getTransactionByBlockNumberAndIndex: {
    check: 'block number and index -> the transaction sent; schema TransactionInfo (not null); its hash',
    params: (_example, ctx) => [needSent(ctx).blockNumber, needSent(ctx).transactionIndex],
    verify: (result, ctx) => ensure(same((result as { hash?: string } | null)?.hash, needSent(ctx).hash), 'another transaction'),
  },
  eth_getTransactionByHash: {
    check: 'hash -> the transaction sent; schema TransactionInfo (not null)',
    params: (_example, ctx) => [needSent(ctx).hash],
    verify: (result, ctx) => ensure(same((result as { hash?: string } | null)?.hash, needSent(ctx).hash), 'another transaction'),
  },
  eth_getTransactionCount: { check: 'as given; schema uint (0x0 here)' },
  eth_getTransactionReceipt: {
    check: 'hash -> the transaction sent; schema ReceiptInfo (not null); status 0x1',
    params: (_example, ctx) => [needSent(ctx).hash],
    verify: (result) => ensure((result as { status?: string } | null)?.status === '0x1', 'not a successful receipt'),
  },
  eth_getUncleCountByBlockHash: { check: 'hash -> that block; schema uint; 0x0 (no uncles after the merge)', params: (_example, ctx) => [needSent(ctx).blockHash], verify: (result) => ensure(result === '0x0', `got ${String(result)}`) },
  eth_getUncleCountByBlockNumber: { check: 'number -> that block; schema uint; 0x0', params: (_example, ctx) => [needSent(ctx).blockNumber], verify: (result) => ensure(result === '0x0', `got ${String(result)}`) },
  eth_getLogs: {
    check: 'address -> the FOO token, blocks 0x0..latest (the example names mainnet WETH and blocks); schema FilterResults; its mint Transfer log',
    params: (_example, ctx) => [{ fromBlock: '0x0', toBlock: 'latest', address: ctx.token, topics: [] }],
    verify: (result, ctx) => ensure(Array.isArray(result) && result.length > 0 && same((result[0] as { address: string }).address, ctx.token), `got ${JSON.stringify(result)}`),
  },
  eth_newFilter: {
    check: 'the same filter as eth_getLogs; schema uint',
    params: (_example, ctx) => [{ fromBlock: '0x0', toBlock: 'latest', address: ctx.token, topics: [] }],
    verify: (result, ctx) => {
      ctx.logFilter = result as string;
    },
  },
  eth_getFilterLogs: {
    check: 'id -> that filter; schema FilterResults; the Transfer log (an empty list would match both of the schema`s oneOf branches and fail it)',
    params: (_example, ctx) => [ctx.logFilter],
    verify: (result) => ensure(Array.isArray(result) && result.length > 0, 'no logs'),
  },
  eth_newBlockFilter: {
    check: 'schema uint',
    verify: (result, ctx) => {
      ctx.blockFilter = result as string;
    },
  },
  eth_sendRawTransaction: {
    check: "raw -> a transfer signed here by hardhat's first test account (the example's signer has no ether); schema hash32; keccak256 of the raw bytes",
    params: async (_example, ctx) => {
      const account = privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY);
      const nonce = Number((await dappRequest(ctx.dapp, 'eth_getTransactionCount', [account.address, 'pending'])).result);
      const raw = await account.signTransaction({ chainId: 31337, type: 'eip1559', to: ctx.wallet.address, value: 1n, gas: 21_000n, maxFeePerGas: parseUnits('50', 9), maxPriorityFeePerGas: 1n, nonce });
      return [raw];
    },
    verify: async (result, ctx, params) => {
      ensure(result === keccak256(positional(params)[0] as Hex), 'not the hash of the raw transaction');
      await receiptOf(ctx, result as Hex);
    },
  },
  eth_getFilterChanges: {
    check: 'id -> the block filter (a block was mined since); schema FilterResults; a block hash',
    params: (_example, ctx) => [ctx.blockFilter],
    verify: (result) => ensure(Array.isArray(result) && result.length > 0, 'no new blocks'),
  },
  eth_uninstallFilter: { check: 'id -> the block filter; schema boolean; literal true', literal: true, params: (_example, ctx) => [ctx.blockFilter] },
  eth_newPendingTransactionFilter: { check: 'schema uint' },
  eth_syncing: { check: 'schema SyncingStatus (false here)' },
  eth_getProof: {
    check: 'the malformed second storage key of the example ("0x283s…", not hex) dropped; schema AccountProof',
    params: (_example, _ctx, original) => {
      const [address, keys, block] = positional(original) as [string, string[], string];
      return [address, keys.filter((key) => /^0x[0-9a-f]*$/i.test(key)), block];
    },
  },
};

// Read-only methods Tandem passes to the chain's node.
for (const [name, plan] of Object.entries(RUN)) if (/^(eth_|web3_)/.test(name) && !plan.approval && !['eth_chainId', 'eth_accounts', 'eth_requestAccounts', 'eth_signTypedData_v4'].includes(name)) plan.node = true;

const DEPRECATED = 'refused on purpose: deprecated by MetaMask itself, and a split key has no x25519 encryption key to hand out';
const SKIP: Record<string, SkipPlan> = {
  eth_decrypt: { skip: DEPRECATED, refusedWith: 4200 },
  eth_getEncryptionPublicKey: { skip: DEPRECATED, refusedWith: 4200 },
  wallet_registerOnboarding: { skip: "MetaMask's own onboarding hand-off (@metamask/onboarding); not for other wallets", refusedWith: 4200 },
  wallet_scanQRCode: { skip: 'MetaMask Mobile only (a camera); no examples', refusedWith: 4200 },
  wallet_requestExecutionPermissions: { skip: 'ERC-7715 needs a smart account / EIP-7702 delegation; Tandem is a plain EOA', refusedWith: 4200 },
  wallet_getGrantedExecutionPermissions: { skip: 'ERC-7715, as above', refusedWith: 4200 },
  wallet_getSupportedExecutionPermissions: { skip: 'ERC-7715, as above', refusedWith: 4200 },
  eth_subscribe: { skip: "not implemented: needs the provider's `message` event and a push channel from the node; dapps poll or use filters", refusedWith: 4200 },
  eth_unsubscribe: { skip: 'not implemented, as eth_subscribe', refusedWith: 4200 },
  eth_coinbase: { skip: 'not implemented: not in Tandem\'s read-only list (MetaMask answers the selected account)', refusedWith: 4200 },
};

/** The answer to `method(params)`; with `approval`, the popup it opens is approved (an immediate answer is taken as is). */
async function send(ctx: RunContext, method: string, params: unknown, approval: boolean, key: string): Promise<DemoAnswer> {
  if (!approval) return dappRequest(ctx.dapp, method, params);
  const popup = nextApproval(ctx.tandem);
  popup.catch(() => undefined);
  await startDappRequest(ctx.dapp, key, method, params);
  const first = await Promise.race([popup.then((page) => ({ page })), settledDappRequest(ctx.dapp, key).then((answer) => ({ answer }))]);
  if ('answer' in first) return first.answer;
  await first.page.getByTestId('approve').click();
  const answer = await dappAnswer(ctx.dapp, key, 60_000);
  if (answer === 'pending') throw new Error('no answer within 60 s of approving');
  return answer;
}

const describeError = (error: DemoAnswer['error']) => `error ${error?.code} ${error?.message}`;

type Outcome = { kind: 'passed' } | { kind: 'failed'; message: string } | { kind: 'node'; message: string; unsupported: boolean };

/** The chain node's own answer to a request, straight over HTTP, bypassing Tandem. */
async function nodeAnswer(url: string, method: string, params: unknown): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
}

/** Methods the node answers can lose uniqueness: only side-effect-free reads are asked again of the node. */
const NODE_UNSUPPORTED = new Set([-32004, -32601]);

async function runExample(ctx: RunContext, schemas: ResultSchemas, method: OpenRpcMethod, plan: RunPlan, example: OpenRpcExample, key: string): Promise<Outcome> {
  const original = exampleParams(method, example);
  const params = plan.params ? await plan.params(example, ctx, original) : original;
  const answer = await send(ctx, method.name, params, plan.approval ?? false, key);
  const failed = (message: string): Outcome => ({ kind: 'failed', message: `${example.name}: ${message}` });
  // A read passed to the node: when Tandem's answer is the node's own, a deviation is the node's, not Tandem's.
  const nodeSays = async (deviation: string, unsupported: boolean): Promise<Outcome | undefined> => {
    if (!plan.node) return undefined;
    const direct = await nodeAnswer(ctx.stack.chain.url, method.name, params);
    // Errors by code: Tandem keeps the node's code, and its message may be viem's shorter wording.
    const same = answer.error ? direct.error?.code === answer.error.code : JSON.stringify(direct.result) === JSON.stringify(answer.result);
    return same ? { kind: 'node', message: deviation, unsupported } : undefined;
  };
  if (answer.error) {
    const unsupported = NODE_UNSUPPORTED.has(answer.error.code);
    return (await nodeSays(`hardhat ${unsupported ? 'does not implement it' : 'answers an error'} (${describeError(answer.error)}); Tandem passed it through`, unsupported)) ?? failed(describeError(answer.error));
  }
  const schemaError = schemas.check(method.name, answer.result, plan.adjustSchema);
  if (schemaError) {
    return (await nodeSays(`hardhat's answer, passed through unchanged, deviates from the schema: ${schemaError}`, false)) ?? failed(`result ${JSON.stringify(answer.result).slice(0, 200)} does not match the result schema: ${schemaError}`);
  }
  if (plan.literal && JSON.stringify(answer.result) !== JSON.stringify(example.result?.value)) {
    return failed(`${JSON.stringify(answer.result)} is not the example's ${JSON.stringify(example.result?.value)}`);
  }
  try {
    await plan.verify?.(answer.result, ctx, params);
  } catch (error) {
    return failed((error as Error).message);
  }
  return { kind: 'passed' };
}

/** Removes a chain from the wallet's settings (IndexedDB `tandem`, store `settings`), from one of the extension's pages. */
async function forgetChain(tandem: TandemBrowser, chainId: number, fallbackChainId: number): Promise<number[]> {
  const page = await tandem.context.newPage();
  try {
    await page.goto(tandem.popupUrl('/'));
    return await page.evaluate(
      async ([id, fallback]) => {
        const done = <T>(request: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((request.onsuccess = () => resolve(request.result)), (request.onerror = () => reject(request.error))));
        const db = await done(indexedDB.open('tandem'));
        const tx = db.transaction('settings', 'readwrite');
        const store = tx.objectStore('settings');
        const settings = (await done(store.get('settings'))) as { chains: { id: number }[]; currentChainId: number } | undefined;
        if (settings) {
          settings.chains = settings.chains.filter((chain) => chain.id !== id);
          if (settings.currentChainId === id) settings.currentChainId = fallback!;
          await done(store.put(settings, 'settings'));
        }
        db.close();
        return settings?.chains.map((chain) => chain.id) ?? [];
      },
      [chainId, fallbackChainId] as const,
    );
  } finally {
    await page.close();
  }
}

test("MetaMask's api-specs OpenRPC examples through Tandem's provider", async ({ tandem, wallet, dapp, stack }) => {
  test.setTimeout(180_000);
  const { document, packageVersion } = loadMetaMaskOpenRpc();
  const schemas = new ResultSchemas(document);
  const byName = new Map(document.methods.map((method) => [method.name, method]));

  // Disconnected to begin with, so that connecting goes through the popup.
  await dappRequest(dapp, 'wallet_revokePermissions', [{ eth_accounts: {} }]);
  const [token, chain100] = await Promise.all([
    deployTestToken({ rpcUrl: stack.chain.url, deployer: privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY), name: 'Foo', symbol: 'FOO', supply: parseUnits('1000', 18), owner: wallet.address }),
    startHardhatNode({ chainId: EXAMPLE_ADDED_CHAIN_ID }),
  ]);
  const ctx: RunContext = { tandem, wallet, dapp, stack, token, chain100 };
  const rows = new Map<string, MethodRow>();

  try {
    let counter = 0;
    for (const [name, plan] of Object.entries(RUN)) {
      const method = byName.get(name);
      if (!method) continue; // A method this version of the document does not have.
      const examples = method.examples ?? [];
      const row: MethodRow = { method: name, examples: examples.length, run: 0, passed: 0, skipped: 0, node: 0, note: plan.check, failures: [] };
      rows.set(name, row);
      const skipNotes: string[] = [];
      for (const example of examples) {
        const skip = plan.skipExample?.(example);
        if (skip) {
          row.skipped += 1;
          skipNotes.push(skip.reason);
          const refusal = await dappRequest(dapp, name, exampleParams(method, example));
          if (refusal.error?.code !== skip.refusedWith) row.failures.push(`${example.name} is skipped as refused with ${skip.refusedWith}, but Tandem answered ${JSON.stringify(refusal)}`);
          continue;
        }
        const outcome = await runExample(ctx, schemas, method, plan, example, `${name}-${(counter += 1)}`).catch((error: Error): Outcome => ({ kind: 'failed', message: `${example.name}: ${error.message}` }));
        if (outcome.kind === 'node' && outcome.unsupported) {
          row.skipped += 1;
          skipNotes.push(outcome.message);
          continue;
        }
        row.run += 1;
        if (outcome.kind === 'failed') row.failures.push(outcome.message);
        else if (outcome.kind === 'node') {
          row.node += 1;
          skipNotes.push(outcome.message);
        } else row.passed += 1;
      }
      if (skipNotes.length) row.note += ` || ${skipNotes.join('; ')}`;
    }

    for (const method of document.methods) {
      if (rows.has(method.name)) continue;
      const plan = SKIP[method.name];
      const examples = method.examples?.length ?? 0;
      if (!plan) {
        rows.set(method.name, { method: method.name, examples, run: 0, passed: 0, skipped: 0, node: 0, note: 'NO PLAN', failures: ['the document has this method but the runner has no plan for it: add a RUN or SKIP entry'] });
        continue;
      }
      const row: MethodRow = { method: method.name, examples, run: 0, passed: 0, skipped: examples, node: 0, note: `skipped: ${plan.skip}`, failures: [] };
      const first = method.examples?.[0];
      const refusal = await dappRequest(dapp, method.name, first ? exampleParams(method, first) : []);
      if (refusal.error?.code !== plan.refusedWith) row.failures.push(`skipped as refused with ${plan.refusedWith}, but Tandem answered ${JSON.stringify(refusal).slice(0, 300)}`);
      rows.set(method.name, row);
    }
  } finally {
    // Leave the worker as the other specs expect it: on the first chain, without chain 100, disconnected.
    await dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: CHAIN }]);
    expect(await forgetChain(tandem, EXAMPLE_ADDED_CHAIN_ID, Number.parseInt(CHAIN, 16))).not.toContain(EXAMPLE_ADDED_CHAIN_ID);
    await dappRequest(dapp, 'wallet_revokePermissions', [{ eth_accounts: {} }]);
    await chain100.stop();
  }

  const ordered = document.methods.map((method) => rows.get(method.name)!).filter(Boolean);
  const totals = ordered.reduce((sum, row) => ({ run: sum.run + row.run, passed: sum.passed + row.passed, skipped: sum.skipped + row.skipped, node: sum.node + row.node }), { run: 0, passed: 0, skipped: 0, node: 0 });
  console.log(
    `\n@metamask/api-specs ${packageVersion} (${document.info.title} ${document.info.version}, ${document.methods.length} methods): ` +
      `${totals.run} examples run, ${totals.passed} passed, ${totals.skipped} skipped, ${totals.node} answered by the node against the spec\n${formatTable(ordered)}\n`,
  );
  expect(await dappRequest(dapp, 'eth_chainId')).toEqual({ result: CHAIN });
  expect(await dappRequest(dapp, 'eth_accounts')).toEqual({ result: [] });
  expect(ordered.flatMap((row) => row.failures.map((failure) => `${row.method}: ${failure}`))).toEqual([]);
});
