import { keccak256, serializeTransaction, type Hex, type TransactionSerializable } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { payloadHash, type RequestView } from '../../channel/approval-protocol.js';
import { payloadToWire } from '../../channel/cosigner-protocol.js';
import { WalletError } from '../errors.js';
import { checkSignedTransaction, leftToThisBrowser } from './send-signed.js';

const wallet = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const other = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');

const transaction: TransactionSerializable = {
  type: 'eip1559',
  chainId: 31337,
  nonce: 0,
  to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  value: 2n * 10n ** 18n,
  gas: 21_000n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000n,
};

function held(tx: TransactionSerializable): RequestView {
  const payloadJson = JSON.stringify(payloadToWire({ kind: 'transaction', transaction: tx }));
  return {
    requestId: 'cd'.repeat(16),
    walletId: 'w',
    address: wallet.address,
    deviceId: 'd',
    state: 'signed',
    createdAt: 1,
    expiresAt: 2,
    updatedAt: 1,
    payloadJson,
    digest: keccak256(serializeTransaction(tx)),
    payloadHash: payloadHash(payloadJson),
    decoded: { kind: 'transaction', chainId: 31337, to: tx.to ?? null, valueWei: '0', nonce: 0, selector: null, dataBytes: 0 },
    quorums: [],
    decisions: [],
  };
}

async function refusal(work: Promise<unknown>): Promise<string> {
  const error = await work.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(WalletError);
  expect((error as WalletError).code).toBe('BAD_SIGNED_TRANSACTION');
  return (error as WalletError).shortMessage;
}

describe('a signed transaction from the co-signer, before this browser sends it', () => {
  it("passes when it is this wallet's signature over the request's own transaction", async () => {
    const raw = (await wallet.signTransaction(transaction)) as Hex;
    await expect(checkSignedTransaction(held(transaction), raw, wallet.address)).resolves.toBeUndefined();
  });

  it('refuses another transaction, another signer, or bytes that do not parse', async () => {
    const request = held(transaction);
    expect(await refusal(checkSignedTransaction(request, (await wallet.signTransaction({ ...transaction, value: 3n })) as Hex, wallet.address))).toMatch(/not the transaction/);
    expect(await refusal(checkSignedTransaction(request, (await other.signTransaction(transaction)) as Hex, wallet.address))).toMatch(/not signed by this wallet/);
    expect(await refusal(checkSignedTransaction(request, '0x02c0', wallet.address))).toMatch(/parse|not the transaction/);
  });
});

describe('leftToThisBrowser', () => {
  const signed = (request: RequestView): RequestView => ({ ...request, result: { rawTransaction: '0x02f8', transactionHash: '0xab' } });
  const quorum = [{ rule: 'large', quorum: 1, approvers: [{ approverId: 'ab'.repeat(16), name: 'alice' }] }];

  it('is a held transaction the co-signer signed and nobody sent', () => {
    expect(leftToThisBrowser(signed({ ...held(transaction), quorums: quorum }))).toBe(true);
  });

  it('is never a transaction signed at once: the dapp sent it, or only asked for a signature', () => {
    expect(leftToThisBrowser(signed(held(transaction)))).toBe(false);
  });

  it('is not a held one that is broadcast, failed, or not yet signed, nor a message', () => {
    for (const state of ['broadcast', 'failed', 'approved', 'pending-approval'] as const) {
      expect(leftToThisBrowser(signed({ ...held(transaction), quorums: quorum, state }))).toBe(false);
    }
    expect(leftToThisBrowser({ ...held(transaction), quorums: quorum })).toBe(false);
    expect(leftToThisBrowser(signed({ ...held(transaction), quorums: quorum, decoded: { kind: 'message', text: 'hi', bytes: 2 } }))).toBe(false);
  });
});
