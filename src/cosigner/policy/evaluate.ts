import { formatEther, getAddress, isAddress, isHex, type Address } from 'viem';
import { PolicyRequestError } from './errors.js';
import { decodeTokenCall } from './token-calls.js';
import type {
  PolicyContext,
  PolicyDecision,
  PolicyRequest,
  PolicyRule,
  TransactionPolicyRequest,
  TypedDataPolicyRequest,
  WalletPolicy,
} from './types.js';

const ALLOWED: PolicyDecision = { allowed: true };

/**
 * Decides whether the co-signer may sign `request` for a wallet with `policy`. Pure.
 * `request` must be what the co-signer decoded from the payload it hashed itself.
 * Messages (EIP-191) are always allowed: no rule restricts them.
 * `context` is needed for transactions when the policy has a daily limit.
 */
export function evaluatePolicy(policy: WalletPolicy, request: PolicyRequest, context?: PolicyContext): PolicyDecision {
  switch (request.kind) {
    case 'message':
      return ALLOWED;
    case 'typedData':
      return evaluateTypedData(policy, request);
    case 'transaction':
      return evaluateTransaction(policy, request, context);
    default:
      throw new PolicyRequestError(`Unknown request kind ${JSON.stringify((request as { kind: unknown }).kind)}.`);
  }
}

function evaluateTransaction(policy: WalletPolicy, tx: TransactionPolicyRequest, context: PolicyContext | undefined): PolicyDecision {
  if (!Number.isSafeInteger(tx.chainId) || tx.chainId <= 0) throw new PolicyRequestError(`Transaction chain id ${tx.chainId} is not a positive integer.`);
  if (typeof tx.value !== 'bigint' || tx.value < 0n) throw new PolicyRequestError('Transaction value must be a non-negative bigint.');
  if (tx.data !== undefined && !isHex(tx.data, { strict: true })) throw new PolicyRequestError('Transaction data must be 0x-prefixed hex.');

  const chain = checkChain(policy, tx.chainId);
  if (chain) return chain;

  const hasCalldata = tx.data !== undefined && tx.data.length > 2;
  if (tx.to === undefined || tx.to === null) {
    if (policy.allowedContracts) {
      return refuse('contract', 'This transaction deploys a contract, but this wallet may only call the contracts on its allow-list. Ask the operator to remove the contract allow-list to deploy from this wallet.');
    }
  } else {
    const to = requestAddress(tx.to, 'to');
    if (!hasCalldata) {
      if (policy.allowedRecipients && !listed(policy.allowedRecipients, to)) {
        return refuse('recipient', `${to} is not on this wallet's recipient allow-list. Send to an allowed recipient, or ask the operator to add ${to}.`);
      }
    } else {
      if (policy.allowedContracts && !listed(policy.allowedContracts, to)) {
        return refuse('contract', `Contract ${to} is not on this wallet's contract allow-list. Call an allowed contract, or ask the operator to add ${to}.`);
      }
      if (policy.allowedRecipients) {
        const token = decodeTokenCall(tx.data!);
        if (token === 'malformed') {
          return refuse('recipient', `The calldata starts like a token transfer or approval to ${to} but its arguments do not decode, so its recipient cannot be checked against the allow-list. Re-create the transaction.`);
        }
        if (token && !listed(policy.allowedRecipients, token.counterparty)) {
          const who = getAddress(token.counterparty);
          return refuse('recipient', `This ${token.functionName} on token ${to} names ${who} as ${token.role}, and ${who} is not on this wallet's recipient allow-list. Use an allowed ${token.role}, or ask the operator to add ${who}.`);
        }
      }
    }
  }

  if (policy.maxValuePerTxWei !== undefined) {
    const max = BigInt(policy.maxValuePerTxWei);
    if (tx.value > max) {
      return refuse('per-tx-limit', `This transaction sends ${amount(tx.value)}, above this wallet's per-transaction limit of ${amount(max)}. Send at most ${amount(max)}, or ask the operator to raise the limit.`);
    }
  }
  if (policy.dailyLimitWei !== undefined) {
    if (!context || typeof context.spentTodayWei !== 'bigint') {
      throw new PolicyRequestError('This policy has a daily limit: pass context.spentTodayWei (spent on this chain in the last 24 hours).');
    }
    const limit = BigInt(policy.dailyLimitWei);
    const spent = context.spentTodayWei;
    if (spent + tx.value > limit) {
      const left = limit > spent ? limit - spent : 0n;
      return refuse('daily-limit', `This transaction sends ${amount(tx.value)}, but only ${amount(left)} of this wallet's daily limit of ${amount(limit)} on chain ${tx.chainId} is left for the next 24 hours (${amount(spent)} already sent). Send at most ${amount(left)}, wait, or ask the operator to raise the limit.`);
    }
  }
  return ALLOWED;
}

function evaluateTypedData(policy: WalletPolicy, typed: TypedDataPolicyRequest): PolicyDecision {
  const { chainId, verifyingContract } = typed.domain;
  if (chainId !== undefined) {
    if ((typeof chainId !== 'number' && typeof chainId !== 'bigint') || BigInt(chainId) <= 0n) {
      throw new PolicyRequestError('Typed data domain chainId must be a positive number or bigint.');
    }
    const chain = checkChain(policy, chainId);
    if (chain) return chain;
  }
  if (verifyingContract !== undefined && policy.allowedContracts) {
    const contract = requestAddress(verifyingContract, 'domain.verifyingContract');
    if (!listed(policy.allowedContracts, contract)) {
      return refuse('contract', `This typed data is for contract ${contract}, which is not on this wallet's contract allow-list. Ask the operator to add ${contract} if you trust it.`);
    }
  }
  // Permits (EIP-2612, Permit2) hand a spender the tokens: the recipient allow-list covers them.
  const spender = typed.message?.spender;
  if (policy.allowedRecipients && typed.primaryType?.startsWith('Permit') && typeof spender === 'string') {
    const who = requestAddress(spender, 'message.spender');
    if (!listed(policy.allowedRecipients, who)) {
      return refuse('recipient', `This ${typed.primaryType} signature lets ${who} spend this wallet's tokens, and ${who} is not on the recipient allow-list. Ask the operator to add ${who} if you trust it.`);
    }
  }
  return ALLOWED;
}

function checkChain(policy: WalletPolicy, chainId: number | bigint): PolicyDecision | undefined {
  if (!policy.allowedChainIds) return undefined;
  const wanted = BigInt(chainId);
  if (policy.allowedChainIds.some((id) => BigInt(id) === wanted)) return undefined;
  const allowed = policy.allowedChainIds.length === 0 ? 'no chain' : `only chain${policy.allowedChainIds.length > 1 ? 's' : ''} ${policy.allowedChainIds.join(', ')}`;
  return refuse('chain', `Chain ${wanted} is not allowed for this wallet (it may sign for ${allowed}). Switch to an allowed chain, or ask the operator to allow chain ${wanted}.`);
}

function listed(list: readonly Address[], address: Address): boolean {
  const lower = address.toLowerCase();
  return list.some((entry) => entry.toLowerCase() === lower);
}

function requestAddress(value: unknown, field: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new PolicyRequestError(`Request ${field} is not an address: ${JSON.stringify(value)}.`);
  }
  return getAddress(value);
}

function amount(wei: bigint): string {
  return `${formatEther(wei)} (${wei} wei)`;
}

function refuse(rule: PolicyRule, reason: string): PolicyDecision {
  return { allowed: false, rule, reason };
}
