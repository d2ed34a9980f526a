import type { Address, Hex } from 'viem';
import { encodeFunctionData, parseAbi, parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import { PolicyRequestError } from './errors.js';
import { evaluatePolicy } from './evaluate.js';
import { decodeTokenCall } from './token-calls.js';
import type { PolicyContext, PolicyRequest, PolicyRule, WalletPolicy } from './types.js';
import { validatePolicy } from './validate.js';

const ALICE: Address = '0x52908400098527886E0F7030069857D2E4169EE7';
const BOB: Address = '0x8617E340B3D01FA5F11F306F4090FD50E238070D';
const TOKEN: Address = '0xde709f2102306220921060314715629080e2fb77';
const ROUTER: Address = '0x27b1fdb04752bbc536007a920d24acb045561c26';

const erc20 = parseAbi([
  'function transfer(address to, uint256 amount)',
  'function approve(address spender, uint256 amount)',
  'function transferFrom(address from, address to, uint256 amount)',
  'function increaseAllowance(address spender, uint256 addedValue)',
  'function swap(address to, uint256 amount)',
]);
const transferTo = (to: Address, amount = 1n) => encodeFunctionData({ abi: erc20, functionName: 'transfer', args: [to, amount] });
const approveFor = (spender: Address, amount = 2n ** 256n - 1n) => encodeFunctionData({ abi: erc20, functionName: 'approve', args: [spender, amount] });
const transferFromTo = (to: Address) => encodeFunctionData({ abi: erc20, functionName: 'transferFrom', args: [ALICE, to, 5n] });
const increaseFor = (spender: Address) => encodeFunctionData({ abi: erc20, functionName: 'increaseAllowance', args: [spender, 5n] });
const swapTo = (to: Address) => encodeFunctionData({ abi: erc20, functionName: 'swap', args: [to, 5n] });

const tx = (fields: Partial<Extract<PolicyRequest, { kind: 'transaction' }>> = {}): PolicyRequest => ({ kind: 'transaction', chainId: 1, to: BOB, value: 0n, ...fields });
const spent = (wei: bigint): PolicyContext => ({ spentTodayWei: wei });
const policy = (input: unknown): WalletPolicy => validatePolicy(input);

type Row = [name: string, policy: WalletPolicy, request: PolicyRequest, context: PolicyContext | undefined, expected: 'allowed' | PolicyRule];

const rows: Row[] = [
  // messages
  ['a message under the strictest policy', policy({ allowedChainIds: [], allowedRecipients: [], allowedContracts: [], maxValuePerTxWei: '0', dailyLimitWei: '0' }), { kind: 'message' }, undefined, 'allowed'],
  // no policy
  ['anything under the empty policy', {}, tx({ value: parseEther('1000'), data: swapTo(BOB), to: ROUTER }), undefined, 'allowed'],
  ['contract creation under the empty policy', {}, tx({ to: undefined, data: '0x6000' }), undefined, 'allowed'],
  // chain
  ['a transaction on an allowed chain', policy({ allowedChainIds: [1, 10] }), tx({ chainId: 10 }), undefined, 'allowed'],
  ['a transaction on another chain', policy({ allowedChainIds: [1, 10] }), tx({ chainId: 137 }), undefined, 'chain'],
  ['any chain when the chain list is empty', policy({ allowedChainIds: [] }), tx(), undefined, 'chain'],
  // per-transaction limit
  ['value equal to the per-tx limit', policy({ maxValuePerTxWei: '1000' }), tx({ value: 1000n }), undefined, 'allowed'],
  ['value one wei above the per-tx limit', policy({ maxValuePerTxWei: '1000' }), tx({ value: 1001n }), undefined, 'per-tx-limit'],
  ['zero value under a zero per-tx limit', policy({ maxValuePerTxWei: '0' }), tx({ value: 0n }), undefined, 'allowed'],
  // daily limit (boundary: spent + value may equal the limit)
  ['spent + value exactly at the daily limit', policy({ dailyLimitWei: '1000' }), tx({ value: 400n }), spent(600n), 'allowed'],
  ['spent + value one wei over the daily limit', policy({ dailyLimitWei: '1000' }), tx({ value: 401n }), spent(600n), 'daily-limit'],
  ['a transaction after the daily limit was already overspent', policy({ dailyLimitWei: '1000' }), tx({ value: 1n }), spent(2000n), 'daily-limit'],
  ['a zero-value call when the daily limit is used up', policy({ dailyLimitWei: '1000' }), tx({ value: 0n }), spent(1000n), 'allowed'],
  // recipients: plain transfers
  ['a plain transfer to an allowed recipient (any case)', policy({ allowedRecipients: [BOB] }), tx({ to: BOB.toLowerCase() as Address, value: 5n }), undefined, 'allowed'],
  ['a plain transfer to someone else', policy({ allowedRecipients: [BOB] }), tx({ to: ALICE, value: 5n }), undefined, 'recipient'],
  ['a transfer with empty calldata 0x to someone else', policy({ allowedRecipients: [BOB] }), tx({ to: ALICE, data: '0x' }), undefined, 'recipient'],
  // recipients: ERC-20 calldata
  ['an ERC-20 transfer to an allowed recipient', policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferTo(BOB) }), undefined, 'allowed'],
  ['an ERC-20 transfer to someone else', policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferTo(ALICE) }), undefined, 'recipient'],
  ['an ERC-20 approve for an allowed spender', policy({ allowedRecipients: [ROUTER] }), tx({ to: TOKEN, data: approveFor(ROUTER) }), undefined, 'allowed'],
  ['an ERC-20 approve for someone else', policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: approveFor(ALICE) }), undefined, 'recipient'],
  ['a transferFrom to someone else', policy({ allowedRecipients: [ALICE] }), tx({ to: TOKEN, data: transferFromTo(BOB) }), undefined, 'recipient'],
  ['a transferFrom to an allowed recipient', policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferFromTo(BOB) }), undefined, 'allowed'],
  ['an increaseAllowance for someone else', policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: increaseFor(ALICE) }), undefined, 'recipient'],
  ['a transfer whose arguments are cut short', policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferTo(BOB).slice(0, 40) as Hex }), undefined, 'recipient'],
  ['an unknown call when only recipients are listed', policy({ allowedRecipients: [BOB] }), tx({ to: ROUTER, data: swapTo(ALICE) }), undefined, 'allowed'],
  ['an ERC-20 transfer when no recipient list is set', policy({ allowedContracts: [TOKEN] }), tx({ to: TOKEN, data: transferTo(ALICE) }), undefined, 'allowed'],
  // contracts
  ['a call to an allowed contract', policy({ allowedContracts: [ROUTER] }), tx({ to: ROUTER, data: swapTo(ALICE) }), undefined, 'allowed'],
  ['a call to another contract', policy({ allowedContracts: [ROUTER] }), tx({ to: TOKEN, data: swapTo(ALICE) }), undefined, 'contract'],
  ['a token transfer on a token not on the contract list', policy({ allowedContracts: [ROUTER], allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferTo(BOB) }), undefined, 'contract'],
  ['a token transfer on an allowed token to an allowed recipient', policy({ allowedContracts: [TOKEN], allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferTo(BOB) }), undefined, 'allowed'],
  ['a contract deployment when contracts are listed', policy({ allowedContracts: [ROUTER] }), tx({ to: undefined, data: '0x6000' }), undefined, 'contract'],
  ['a contract deployment with to: null when contracts are listed', policy({ allowedContracts: [ROUTER] }), tx({ to: null, data: '0x6000' }), undefined, 'contract'],
  ['a contract deployment when only recipients are listed', policy({ allowedRecipients: [BOB] }), tx({ to: undefined, data: '0x6000' }), undefined, 'allowed'],
  ['a plain transfer when only contracts are listed', policy({ allowedContracts: [ROUTER] }), tx({ to: ALICE, value: 1n }), undefined, 'allowed'],
  // typed data
  ['typed data on an allowed chain for an allowed contract', policy({ allowedChainIds: [1], allowedContracts: [ROUTER] }), { kind: 'typedData', domain: { chainId: 1n, verifyingContract: ROUTER } }, undefined, 'allowed'],
  ['typed data for another chain', policy({ allowedChainIds: [1] }), { kind: 'typedData', domain: { chainId: 5 } }, undefined, 'chain'],
  ['typed data for another contract', policy({ allowedContracts: [ROUTER] }), { kind: 'typedData', domain: { chainId: 1, verifyingContract: TOKEN } }, undefined, 'contract'],
  ['typed data with no chain id or contract in its domain', policy({ allowedChainIds: [1], allowedContracts: [ROUTER] }), { kind: 'typedData', domain: {} }, undefined, 'allowed'],
  ['a permit for a spender not on the recipient list', policy({ allowedRecipients: [BOB] }), { kind: 'typedData', domain: { chainId: 1, verifyingContract: TOKEN }, primaryType: 'Permit', message: { owner: ALICE, spender: ALICE, value: 1n } }, undefined, 'recipient'],
  ['a permit for an allowed spender', policy({ allowedRecipients: [BOB] }), { kind: 'typedData', domain: { chainId: 1, verifyingContract: TOKEN }, primaryType: 'Permit', message: { owner: ALICE, spender: BOB.toLowerCase(), value: 1n } }, undefined, 'allowed'],
];

describe('evaluatePolicy', () => {
  it.each(rows)('%s', (_name, walletPolicy, request, context, expected) => {
    const decision = evaluatePolicy(walletPolicy, request, context);
    if (expected === 'allowed') {
      expect(decision).toEqual({ allowed: true });
    } else {
      expect(decision).toMatchObject({ allowed: false, rule: expected });
      if (!decision.allowed) {
        expect(decision.reason.length).toBeGreaterThan(30);
        expect(decision.reason).toMatch(/\.$/);
      }
    }
  });

  it('explains a refusal with the numbers and what to do', () => {
    const perTx = evaluatePolicy(policy({ maxValuePerTxWei: parseEther('1').toString() }), tx({ value: parseEther('1.5') }));
    expect(perTx).toMatchObject({ allowed: false, rule: 'per-tx-limit' });
    expect(!perTx.allowed && perTx.reason).toContain('1.5 (1500000000000000000 wei)');
    expect(!perTx.allowed && perTx.reason).toMatch(/ask the operator to raise the limit/);

    const daily = evaluatePolicy(policy({ dailyLimitWei: '1000' }), tx({ value: 500n }), spent(700n));
    expect(!daily.allowed && daily.reason).toContain('300 wei');

    const token = evaluatePolicy(policy({ allowedRecipients: [BOB] }), tx({ to: TOKEN, data: transferTo(ALICE.toLowerCase() as Address) }));
    expect(!token.allowed && token.reason).toContain(ALICE);
    expect(!token.allowed && token.reason).toContain('transfer');
  });

  it('needs the spent amount when the policy has a daily limit', () => {
    expect(() => evaluatePolicy(policy({ dailyLimitWei: '1' }), tx())).toThrow(PolicyRequestError);
    expect(evaluatePolicy(policy({ dailyLimitWei: '1' }), { kind: 'message' })).toEqual({ allowed: true });
  });

  it('throws on a malformed request rather than deciding', () => {
    expect(() => evaluatePolicy({}, tx({ value: -1n }))).toThrow(PolicyRequestError);
    expect(() => evaluatePolicy({}, tx({ chainId: 0 }))).toThrow(PolicyRequestError);
    expect(() => evaluatePolicy(policy({ allowedRecipients: [BOB] }), tx({ to: '0x123' as Address }))).toThrow(PolicyRequestError);
    expect(() => evaluatePolicy({}, tx({ data: 'abc' as Hex }))).toThrow(PolicyRequestError);
    expect(() => evaluatePolicy({}, { kind: 'blob' } as unknown as PolicyRequest)).toThrow(PolicyRequestError);
  });
});

describe('decodeTokenCall', () => {
  it('decodes the counterparty and amount of the token calls, and nothing else', () => {
    expect(decodeTokenCall(transferTo(BOB, 7n))).toEqual({ functionName: 'transfer', role: 'recipient', counterparty: BOB, amount: 7n });
    expect(decodeTokenCall(approveFor(ALICE, 9n))).toEqual({ functionName: 'approve', role: 'spender', counterparty: ALICE, amount: 9n });
    expect(decodeTokenCall(transferFromTo(BOB))).toMatchObject({ functionName: 'transferFrom', counterparty: BOB });
    expect(decodeTokenCall(swapTo(BOB))).toBeUndefined();
    expect(decodeTokenCall('0x')).toBeUndefined();
    expect(decodeTokenCall(transferTo(BOB).slice(0, 12) as Hex)).toBe('malformed');
  });
});
