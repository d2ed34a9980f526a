import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, encodeAbiParameters, encodeDeployData, InternalRpcError, RpcRequestError, encodeFunctionData, erc20Abi, formatUnits, http, maxUint256, parseEther, parseUnits, type Abi, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createRequire } from 'node:module';
import { deployTestToken, HARDHAT_FIRST_ACCOUNT_KEY } from '../../../e2e/stack/erc20-token.js';
import { startHardhatNode, type HardhatNode } from '../../client/testing/hardhat-node.js';
import type { ChainConfig } from '../api.js';
import { expectInvalidParamsAsync } from './expect-invalid-params.js';
import { RequestError } from './errors.js';
import { FALLBACK_GAS, failureReason, prepareTransaction } from './prepare-transaction.js';

const wallet = privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY);
const FROM = wallet.address;
const BOB: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const SPENDER: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const SUPPLY = parseUnits('1000', 18);

let node: HardhatNode;
let client: PublicClient;
let chain: ChainConfig;
let token: Address;

beforeAll(async () => {
  node = await startHardhatNode();
  client = createPublicClient({ transport: http(node.url), pollingInterval: 100 });
  chain = { id: 31337, name: 'Hardhat', rpcUrl: node.url, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } };
  token = await deployTestToken({ rpcUrl: node.url, deployer: wallet, name: 'Tandem Test Token', symbol: 'TDT', supply: SUPPLY, owner: FROM });
});

afterAll(async () => {
  await node?.stop();
});

describe('deployTestToken', () => {
  it('deploys an ERC-20 with the whole supply at the owner', async () => {
    const read = (functionName: 'symbol' | 'decimals' | 'totalSupply') => client.readContract({ address: token, abi: erc20Abi, functionName });
    expect(await read('symbol')).toBe('TDT');
    expect(await read('decimals')).toBe(18);
    expect(await client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [FROM] })).toBe(SUPPLY);
  });
});

describe('prepareTransaction', () => {
  it('fills in an ETH transfer that signs and is mined as prepared', async () => {
    const pendingNonce = await client.getTransactionCount({ address: FROM, blockTag: 'pending' });
    // Hardhat's estimate for a plain transfer is 21001, not 21000: compare with the node's own answer.
    const estimate = await client.estimateGas({ account: FROM, to: BOB, value: parseEther('1.5') });
    const { transaction, details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, value: parseEther('1.5') } });

    expect(transaction).toMatchObject({ type: 'eip1559', chainId: 31337, nonce: pendingNonce, to: BOB, value: parseEther('1.5'), data: '0x', gas: estimate });
    if (transaction.type !== 'eip1559') throw new Error('not EIP-1559');
    expect(transaction.maxFeePerGas).toBeGreaterThan(0n);
    expect(transaction.maxPriorityFeePerGas).toBeLessThanOrEqual(transaction.maxFeePerGas);
    expect(details).toEqual({
      kind: 'transaction',
      from: FROM,
      chain: { id: 31337, name: 'Hardhat', symbol: 'ETH' },
      to: BOB,
      toIsContract: false,
      value: '1500000000000000000',
      valueFormatted: '1.5 ETH',
      data: '0x',
      nonce: pendingNonce,
      gas: estimate.toString(),
      maxFeePerGas: transaction.maxFeePerGas.toString(),
      maxPriorityFeePerGas: transaction.maxPriorityFeePerGas.toString(),
      maxFeeFormatted: `${formatUnits(estimate * transaction.maxFeePerGas, 18)} ETH`,
      simulation: { ok: true, gasUsed: estimate.toString() },
    });
    expect(warnings).toEqual([]);

    const before = await client.getBalance({ address: BOB });
    const hash = await client.sendRawTransaction({ serializedTransaction: await wallet.signTransaction(transaction) });
    const receipt = await client.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect((await client.getBalance({ address: BOB })) - before).toBe(parseEther('1.5'));
  });

  it('decodes an ERC-20 transfer with the token symbol and decimals read from the chain', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, parseUnits('12.5', 18)] });
    const { details, warnings, transaction } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, data } });
    expect(details.toIsContract).toBe(true);
    expect(details.decoded).toEqual({
      name: 'transfer',
      signature: 'transfer(address,uint256)',
      token: { address: token, symbol: 'TDT', decimals: 18 },
      args: [
        { name: 'recipient', type: 'address', value: BOB },
        { name: 'amount', type: 'uint256', value: '12500000000000000000', formatted: '12.5 TDT' },
      ],
    });
    expect(details.simulation.ok).toBe(true);
    expect(transaction.gas).toBeGreaterThan(21_000n);
    expect(details.gas).toBe(transaction.gas.toString());
    expect(warnings).toEqual([]);
  });

  it('warns about an unlimited approval, naming the spender and the token', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [SPENDER, maxUint256] });
    const { details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, data } });
    expect(details.decoded?.name).toBe('approve');
    expect(details.decoded?.args[1]).toEqual({ name: 'amount', type: 'uint256', value: maxUint256.toString(), formatted: 'Unlimited TDT' });
    expect(warnings).toEqual([{ code: 'UNLIMITED_APPROVAL', message: `This lets ${SPENDER} take all of your TDT, now and later.` }]);
  });

  it('does not warn about a bounded approval', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [SPENDER, parseUnits('5', 18)] });
    const { details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, data } });
    expect(details.decoded?.args[1]?.formatted).toBe('5 TDT');
    expect(warnings).toEqual([]);
  });

  it('decodes transferFrom and reports its revert without throwing', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transferFrom', args: [BOB, SPENDER, 1n] });
    const { details, warnings, transaction } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, data } });
    expect(details.decoded?.signature).toBe('transferFrom(address,address,uint256)');
    expect(details.decoded?.args.map((arg) => arg.name)).toEqual(['sender', 'recipient', 'amount']);
    expect(details.simulation).toEqual({ ok: false, error: 'reverted: ERC20: insufficient allowance' });
    expect(transaction.gas).toBe(FALLBACK_GAS);
    expect(warnings).toEqual([{ code: 'SIMULATION_FAILED', message: 'This transaction is expected to fail: reverted: ERC20: insufficient allowance' }]);
  });

  it('reports a transfer above the balance as a failed simulation with the revert reason', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, SUPPLY * 2n] });
    const { details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, data } });
    expect(details.simulation).toEqual({ ok: false, error: 'reverted: ERC20: transfer amount exceeds balance' });
    expect(details.gas).toBe(FALLBACK_GAS.toString());
    expect(details.maxFeeFormatted).toBe(`${formatUnits(FALLBACK_GAS * BigInt(details.maxFeePerGas), 18)} ETH`);
    expect(warnings.map((w) => w.code)).toEqual(['SIMULATION_FAILED']);
  });

  it('warns about sending ETH to a contract with no call data', async () => {
    const { details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, value: 1n } });
    expect(details.toIsContract).toBe(true);
    expect(details.decoded).toBeUndefined();
    expect(warnings).toContainEqual({ code: 'EMPTY_CALLDATA_TO_CONTRACT', message: 'You are sending to a contract with no call data; funds may be stuck.' });
    // The token has no receive function, so the simulation fails too, in the node's words.
    expect(details.simulation).toEqual({ ok: false, error: 'Transaction reverted without a reason string' });
    expect(warnings.map((w) => w.code)).toContain('SIMULATION_FAILED');
  });

  it('decodes ERC-20 call data sent to an account without code, but claims no token', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 7n] });
    const { details } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: SPENDER, data } });
    expect(details.toIsContract).toBe(false);
    expect(details.decoded).toEqual({
      name: 'transfer',
      signature: 'transfer(address,uint256)',
      args: [
        { name: 'recipient', type: 'address', value: BOB },
        { name: 'amount', type: 'uint256', value: '7' },
      ],
    });
  });

  it('keeps the nonce, gas and fees the dapp gave', async () => {
    const request = { from: FROM, to: BOB, nonce: 999, gas: 50_000n, maxFeePerGas: 7_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n };
    const { transaction, details } = await prepareTransaction({ client, chain, from: FROM, request });
    expect(transaction).toMatchObject({ nonce: 999, gas: 50_000n, maxFeePerGas: 7_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n });
    expect(details.simulation.ok).toBe(true);
    expect(details.gas).toBe('50000');
    expect(details.maxFeeFormatted).toBe('0.00035 ETH');
  });

  it('reports a gas limit below the estimate as a failed simulation', async () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    const { details, warnings, transaction } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: token, data, gas: 21_000n } });
    expect(transaction.gas).toBe(21_000n);
    expect(details.simulation).toMatchObject({ ok: false, error: expect.stringMatching(/^out of gas: the site set a gas limit of 21000 but this needs about \d+\.$/) });
    expect(warnings.map((w) => w.code)).toEqual(['SIMULATION_FAILED']);
  });

  it('takes a site gas limit below the estimate when the call runs within it (a plain transfer at 21000)', async () => {
    const estimate = await client.estimateGas({ account: FROM, to: BOB, value: 1n });
    expect(estimate).toBeGreaterThan(21_000n); // hardhat answers 21001: the case this covers
    const { details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, value: 1n, gas: 21_000n } });
    expect(details.simulation).toEqual({ ok: true, gasUsed: estimate.toString() });
    expect(warnings).toEqual([]);
  });

  it('prepares a legacy (type 0) transaction with the gas price given or the node\'s, which signs and is mined', async () => {
    const given = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, value: 5n, legacy: true, gasPrice: 3_000_000_000n } });
    expect(given.transaction).toMatchObject({ type: 'legacy', chainId: 31337, gasPrice: 3_000_000_000n, value: 5n });
    expect(given.transaction).not.toHaveProperty('maxFeePerGas');
    expect(given.details).toMatchObject({ gasPrice: '3000000000', maxFeePerGas: '3000000000', maxFeeFormatted: `${formatUnits(given.transaction.gas * 3_000_000_000n, 18)} ETH` });

    const fromNode = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, value: 7n, legacy: true } });
    expect(fromNode.transaction).toMatchObject({ type: 'legacy', gasPrice: await client.getGasPrice() });
    const hash = await client.sendRawTransaction({ serializedTransaction: await wallet.signTransaction(fromNode.transaction) });
    const receipt = await client.waitForTransactionReceipt({ hash });
    expect(receipt).toMatchObject({ status: 'success', type: 'legacy' });
  });

  it('reports a value above the balance as a failed simulation, even where the node does not check', async () => {
    const balance = await client.getBalance({ address: FROM });
    const { details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, value: balance + 1n } });
    expect(details.simulation.ok).toBe(false);
    expect(details.simulation).toMatchObject({ error: expect.stringMatching(/^insufficient funds: this needs up to [\d.]+ ETH \(value plus maximum fee\) but the account holds [\d.]+ ETH\.$/) });
    expect(warnings.map((w) => w.code)).toEqual(['SIMULATION_FAILED']);
  });

  it('fills the missing half of the fees around the one the dapp gave', async () => {
    const tipOnly = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, maxPriorityFeePerGas: 3n } });
    expect(tipOnly.transaction.maxPriorityFeePerGas).toBe(3n);
    expect(tipOnly.transaction.maxFeePerGas).toBeGreaterThan(3n);
    const capOnly = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, maxFeePerGas: 1n } });
    expect(capOnly.transaction).toMatchObject({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
  });

  it('prepares a contract creation', async () => {
    const artifact = createRequire(import.meta.url)('@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json') as { abi: Abi; bytecode: Hex };
    const data = encodeDeployData({ abi: artifact.abi, bytecode: artifact.bytecode, args: ['Other', 'OTH', 1n, FROM] });
    const { transaction, details, warnings } = await prepareTransaction({ client, chain, from: FROM, request: { from: FROM, data } });
    expect(transaction.to).toBeUndefined();
    expect(details.to).toBeUndefined();
    expect(details.toIsContract).toBe(false);
    expect(details.simulation.ok).toBe(true);
    expect(BigInt(details.gas)).toBeGreaterThan(500_000n);
    expect(warnings).toEqual([]);
  });

  it('refuses a request from another address or for another chain', async () => {
    await expectInvalidParamsAsync(() => prepareTransaction({ client, chain, from: FROM, request: { from: BOB, to: FROM } }), new RegExp(`from ${BOB} is not this wallet's address ${FROM}`));
    await expectInvalidParamsAsync(
      () => prepareTransaction({ client, chain, from: FROM, request: { from: FROM, to: BOB, chainId: 1 } }),
      /chainId 1 differs from the current chain 31337; switch chains first/,
    );
  });

  it('fails with CHAIN_UNAVAILABLE when the chain cannot be reached', async () => {
    const closed = createPublicClient({ transport: http('http://127.0.0.1:9', { retryCount: 0, timeout: 2_000 }) });
    const unreachable = { ...chain, rpcUrl: 'http://127.0.0.1:9' };
    const error = await prepareTransaction({ client: closed, chain: unreachable, from: FROM, request: { from: FROM, to: BOB } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).code).toBe('CHAIN_UNAVAILABLE');
    expect((error as RequestError).shortMessage).toBe('Could not read from Hardhat (http://127.0.0.1:9). Check the network and try again.');
  });
});

describe('failureReason', () => {
  // As geth answers a revert: code 3, "execution reverted", the revert data in `data`.
  const nodeError = (data: unknown, message = 'execution reverted') =>
    new InternalRpcError(new RpcRequestError({ body: {}, error: { code: 3, message, data }, url: 'http://node.example' }));

  it('decodes a Panic code', () => {
    const panic = `0x4e487b71${encodeAbiParameters([{ type: 'uint256' }], [0x11n]).slice(2)}` as const;
    expect(failureReason(nodeError(panic))).toBe('reverted with panic code 17');
  });

  it('names a custom error by its selector', () => {
    expect(failureReason(nodeError('0xfb8f41b2000000000000000000000000'))).toBe('reverted with custom error 0xfb8f41b2');
  });

  it('falls back to the node message, clipped to one short line', () => {
    expect(failureReason(nodeError(undefined, 'Error: insufficient funds for gas * price + value'))).toBe('insufficient funds for gas * price + value');
    expect(failureReason(nodeError(undefined, `out of gas\n${'x'.repeat(300)}`))).toHaveLength(201);
  });
});
