/**
 * Sends a transaction the co-signer signed after its approvers agreed, when the co-signer has no
 * RPC for its chain and left the sending to this browser. The signed bytes are checked first: they
 * must be this wallet's signature over exactly the payload the request holds.
 */
import { keccak256, parseTransaction, recoverTransactionAddress, serializeTransaction, type Hex, type PublicClient, type TransactionSerializable } from 'viem';
import { verifyRequestHashes, type RequestView } from '../../channel/approval-protocol.js';
import type { ChainConfig } from '../api.js';
import { WalletError } from '../errors.js';

/** Throws BAD_SIGNED_TRANSACTION unless `raw` is `address`'s signature over the request's own payload. */
export async function checkSignedTransaction(request: RequestView, raw: Hex, address: Hex): Promise<void> {
  const bad = (why: string) => new WalletError('BAD_SIGNED_TRANSACTION', `The signed transaction for request ${request.requestId} was not sent: ${why}`);
  const wire = (() => {
    try {
      return verifyRequestHashes(request);
    } catch {
      throw bad('the request does not hash to what it claims.');
    }
  })();
  if (wire.kind !== 'transaction') throw bad('the request is not a transaction.');
  let unsigned: TransactionSerializable;
  try {
    const { r: _r, s: _s, v: _v, yParity: _yParity, ...rest } = parseTransaction(raw) as TransactionSerializable & { r?: Hex; s?: Hex; v?: bigint; yParity?: number };
    unsigned = rest;
  } catch {
    throw bad('it does not parse as a transaction.');
  }
  if (keccak256(serializeTransaction(unsigned)) !== request.digest) throw bad('it is not the transaction the request holds.');
  const signer = await recoverTransactionAddress({ serializedTransaction: raw as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] }).catch(() => undefined);
  if (!signer || signer.toLowerCase() !== address.toLowerCase()) throw bad(`it is not signed by this wallet (${address}).`);
}

/** Sends `raw` on its chain; a node that already has it (or mined it) counts as sent. Returns the transaction hash. */
export async function sendSigned(raw: Hex, chainId: number, chains: readonly ChainConfig[], clientFor: (chain: ChainConfig) => PublicClient): Promise<Hex> {
  const chain = chains.find((known) => known.id === chainId);
  if (!chain) throw new WalletError('BAD_SETTING', `Chain ${chainId} is not configured in Tandem, so the signed transaction could not be sent from here. Add the network, then open Activity again.`);
  const client = clientFor(chain);
  const hash = keccak256(raw);
  try {
    return await client.sendRawTransaction({ serializedTransaction: raw });
  } catch (error) {
    const known = await client.getTransaction({ hash }).then(
      () => true,
      () => false,
    );
    if (known) return hash;
    throw error;
  }
}

/**
 * Whether a request is a signed transaction that waits for someone to send it: one that was held
 * for approvers and signed by the co-signer. A transaction signed at once was sent by the dapp's own
 * request, or was only to be signed: never sent from here.
 */
export function leftToThisBrowser(request: RequestView): boolean {
  return request.quorums.length > 0 && request.state === 'signed' && request.decoded.kind === 'transaction' && request.result?.rawTransaction !== undefined;
}
