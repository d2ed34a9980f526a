import { serializeTransaction, stringToHex, type PublicClient, type TransactionSerializable } from 'viem';
import { describe, expect, it, vi } from 'vitest';
import { payloadHash, type RequestView } from '../../channel/approval-protocol.js';
import { payloadToWire } from '../../channel/cosigner-protocol.js';
import { bytesToHex } from '../../mpc/bytes.js';
import { payloadDigest, type SignablePayload } from '../../mpc/ethereum.js';
import type { ChainConfig } from '../api.js';
import { CHAIN_READ_TIMEOUT_MS, describePayload, heldRequestView, type DescribeContext } from './describe-held.js';

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' as const;
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;
const HARDHAT: ChainConfig = { id: 31337, name: 'Hardhat', rpcUrl: 'http://127.0.0.1:1', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } };

/** No chain is read: a recipient without code, and no token. */
const offline: DescribeContext = {
  chains: [HARDHAT],
  currentChainId: 1,
  clientFor: () => ({ getCode: async () => undefined, readContract: async () => Promise.reject(new Error('no')) }) as unknown as PublicClient,
};

function held(payload: SignablePayload, change: Partial<RequestView> = {}): RequestView {
  const payloadJson = JSON.stringify(payloadToWire(payload));
  return {
    requestId: 'ab'.repeat(16),
    walletId: 'w',
    address: ADDRESS,
    deviceId: 'd',
    state: 'pending-approval',
    createdAt: 1,
    expiresAt: 2,
    updatedAt: 1,
    payloadJson,
    digest: `0x${bytesToHex(payloadDigest(payload))}`,
    payloadHash: payloadHash(payloadJson),
    decoded: { kind: 'message', text: null, bytes: 0 },
    quorums: [{ rule: 'large', quorum: 1, approvers: [{ approverId: 'a1', name: 'alice' }] }],
    decisions: [],
    ...change,
  };
}

const transaction: TransactionSerializable = {
  type: 'eip1559',
  chainId: 31337,
  nonce: 3,
  to: RECIPIENT,
  value: 2_000_000_000_000_000_000n,
  gas: 21_000n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000n,
};

describe('a held request, as the approval pages show it', () => {
  it('a transaction: recipient, value, fees, nonce, no simulation', async () => {
    const described = await describePayload(held({ kind: 'transaction', transaction }), offline);
    expect(described.tampered).toBeUndefined();
    expect(described.details).toEqual({
      kind: 'transaction',
      from: ADDRESS,
      chain: { id: 31337, name: 'Hardhat', symbol: 'ETH' },
      to: RECIPIENT,
      toIsContract: false,
      value: '2000000000000000000',
      valueFormatted: '2 ETH',
      data: '0x',
      nonce: 3,
      gas: '21000',
      maxFeePerGas: '2000000000',
      maxPriorityFeePerGas: '1000000',
      maxFeeFormatted: '0.000042 ETH',
    });
  });

  it('a transaction on a chain this browser does not know is still shown, without reading any chain', async () => {
    const described = await describePayload(held({ kind: 'transaction', transaction: { ...transaction, chainId: 10 } }), offline);
    expect(described.details).toMatchObject({ kind: 'transaction', chain: { id: 10, name: 'Chain 10', symbol: '' }, valueFormatted: '2 (native units)' });
  });

  it('a chain that does not answer does not hold the page: shown without its facts, marked to describe again', async () => {
    vi.useFakeTimers();
    try {
      const silent: DescribeContext = { ...offline, clientFor: () => ({ getCode: () => new Promise(() => undefined), readContract: () => new Promise(() => undefined) }) as unknown as PublicClient };
      const described = describePayload(held({ kind: 'transaction', transaction }), silent);
      await vi.advanceTimersByTimeAsync(2 * CHAIN_READ_TIMEOUT_MS);
      expect(await described).toMatchObject({ incomplete: true, details: { kind: 'transaction', toIsContract: false, to: RECIPIENT } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a message as its text, typed data as domain and fields (no chain-mismatch warning: the current chain says nothing here)', async () => {
    const message = await describePayload(held({ kind: 'message', message: { raw: stringToHex('Hello approvers') } }), offline);
    expect(message.details).toMatchObject({ kind: 'message', text: 'Hello approvers' });
    const typed = await describePayload(
      held({
        kind: 'typedData',
        typedData: { domain: { name: 'Mail', chainId: 31337 }, types: { Note: [{ name: 'text', type: 'string' }] }, primaryType: 'Note', message: { text: 'hi' } },
      }),
      offline,
    );
    expect(typed.details).toMatchObject({ kind: 'typedData', primaryType: 'Note', domain: { name: 'Mail', chainId: '31337' }, message: { text: 'hi' } });
    expect(typed.warnings).toEqual([]);
  });

  it('a payload that does not hash to what the co-signer claims is not shown', async () => {
    const genuine = held({ kind: 'transaction', transaction });
    const swapped = { ...genuine, payloadJson: JSON.stringify({ kind: 'transaction', serialized: serializeTransaction({ ...transaction, to: ADDRESS }) }) };
    const described = await describePayload(swapped, offline);
    expect(described.details).toBeUndefined();
    expect(described.tampered).toMatch(/does not hash/);
  });

  it('the view carries decisions, the result and only the extras given', async () => {
    const request = held(
      { kind: 'transaction', transaction },
      {
        state: 'broadcast',
        decisions: [{ approverId: 'a1', name: 'alice', verdict: 'approve', decidedAt: 5, signature: `0x${'11'.repeat(64)}` }],
        result: { transactionHash: `0x${'22'.repeat(32)}`, rawTransaction: '0x02' },
      },
    );
    const view = heldRequestView(request, await describePayload(request, offline), { origin: 'http://dapp.test', yourVerdict: undefined });
    expect(view).toMatchObject({ state: 'broadcast', origin: 'http://dapp.test', transactionHash: `0x${'22'.repeat(32)}`, decisions: [{ approverId: 'a1', name: 'alice', verdict: 'approve', decidedAt: 5 }] });
    expect('yourVerdict' in view).toBe(false);
    expect(JSON.stringify(view)).not.toContain('"signature":"0x1111');
  });
});
