import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Hex, TransactionSerializable } from 'viem';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../mpc/bytes.js';
import { payloadDigest, type SignablePayload } from '../mpc/ethereum.js';
import { taggedHash } from '../mpc/hash.js';
import { decisionMessage, payloadHash, signDecision, verifyDecision, verifyRequestHashes, type DecisionFields, type SignedDecision } from './approval-protocol.js';
import { payloadToWire } from './cosigner-protocol.js';
import { ChannelError } from './errors.js';
import { Identity } from './identity.js';

const typedData = {
  domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  types: {
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
} as const;

const transaction: TransactionSerializable = {
  type: 'eip1559',
  chainId: 1,
  nonce: 7,
  to: '0x52908400098527886E0F7030069857D2E4169EE7',
  value: 1_000_000_000_000_000_000n,
  gas: 21_000n,
  maxFeePerGas: 30_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
};

const PAYLOADS: [string, SignablePayload][] = [
  ['a message', { kind: 'message', message: 'Sign in to example.org' }],
  ['typed data', { kind: 'typedData', typedData }],
  ['a transaction', { kind: 'transaction', transaction }],
];

/** A request view as the co-signer builds it: hashes computed from the payload itself. */
function viewOf(payload: SignablePayload): { payloadJson: string; digest: Hex; payloadHash: Hex } {
  const payloadJson = JSON.stringify(payloadToWire(payload));
  return { payloadJson, digest: `0x${bytesToHex(payloadDigest(payload))}`, payloadHash: payloadHash(payloadJson) };
}

function tampered(run: () => unknown): ChannelError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe('CHANNEL_TAMPERED');
    return error as ChannelError;
  }
  throw new Error('expected the request to be refused');
}

/** Flips the last hex digit of a 0x-prefixed hex string. */
function flipLastHex(hex: Hex): Hex {
  const last = hex.at(-1)!;
  return `${hex.slice(0, -1)}${last === '0' ? '1' : '0'}` as Hex;
}

describe('payloadHash', () => {
  it('is a stable 32-byte hex hash of the exact text', () => {
    const json = JSON.stringify({ kind: 'message', message: 'hi' });
    const hash = payloadHash(json);
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(payloadHash(json)).toBe(hash);
    expect(payloadHash(String(json))).toBe(hash);
  });

  it('differs for different JSON, even when it parses to the same value', () => {
    const a = payloadHash('{"kind":"message","message":"hi"}');
    expect(payloadHash('{"kind":"message","message":"ho"}')).not.toBe(a);
    expect(payloadHash('{"message":"hi","kind":"message"}')).not.toBe(a);
    expect(payloadHash('{"kind": "message","message":"hi"}')).not.toBe(a);
    expect(payloadHash('')).not.toBe(a);
  });
});

describe('verifyRequestHashes', () => {
  it.each(PAYLOADS)('accepts a correct view of %s and returns its wire payload', (_name, payload) => {
    const view = viewOf(payload);
    expect(verifyRequestHashes(view)).toEqual(JSON.parse(view.payloadJson));
  });

  it.each(PAYLOADS)('refuses %s whose payload changed under the same hashes', (_name, payload) => {
    const view = viewOf(payload);
    const wire = JSON.parse(view.payloadJson) as Record<string, unknown>;
    const changed = JSON.stringify({ ...wire, extra: true });
    tampered(() => verifyRequestHashes({ ...view, payloadJson: changed }));
  });

  it('refuses a swapped payload with a matching payload hash but the old digest', () => {
    // What a dishonest co-signer would try: show approvers another payload (hashed consistently) for the same digest.
    const shown = viewOf({ kind: 'message', message: 'Harmless login' });
    const signed = viewOf({ kind: 'transaction', transaction });
    const error = tampered(() => verifyRequestHashes({ payloadJson: shown.payloadJson, payloadHash: shown.payloadHash, digest: signed.digest }));
    expect(error.details).toContain('digest');
    // The same for a transaction with a different recipient.
    const redirected = viewOf({ kind: 'transaction', transaction: { ...transaction, to: '0x8617E340B3D01FA5F11F306F4090FD50E238070D' } });
    tampered(() => verifyRequestHashes({ ...redirected, digest: signed.digest }));
    // And typed data with other contents.
    const otherMail = viewOf({ kind: 'typedData', typedData: { ...typedData, message: { ...typedData.message, contents: 'Pay Mallory' } } });
    tampered(() => verifyRequestHashes({ ...otherMail, digest: viewOf({ kind: 'typedData', typedData }).digest }));
  });

  it.each(PAYLOADS)('refuses %s with a changed digest', (_name, payload) => {
    const view = viewOf(payload);
    const error = tampered(() => verifyRequestHashes({ ...view, digest: flipLastHex(view.digest) }));
    expect(error.details).toContain('digest');
  });

  it.each(PAYLOADS)('refuses %s with a changed payload hash', (_name, payload) => {
    const view = viewOf(payload);
    const error = tampered(() => verifyRequestHashes({ ...view, payloadHash: flipLastHex(view.payloadHash) }));
    expect(error.details).toContain('payload hash');
  });

  it('refuses a payload that is not JSON even when its hash matches', () => {
    const payloadJson = '{not json';
    const error = tampered(() => verifyRequestHashes({ payloadJson, payloadHash: payloadHash(payloadJson), digest: `0x${'00'.repeat(32)}` }));
    expect(error.details).toContain('not JSON');
  });

  it('does not accept JSON that is no payload', () => {
    const payloadJson = JSON.stringify({ kind: 'transaction', serialized: '0x1234' });
    expect(() => verifyRequestHashes({ payloadJson, payloadHash: payloadHash(payloadJson), digest: `0x${'00'.repeat(32)}` })).toThrow();
  });
});

describe('signDecision and verifyDecision', () => {
  const approver = Identity.generate();
  const other = Identity.generate();
  const view = viewOf({ kind: 'transaction', transaction });
  const fields: DecisionFields = {
    requestId: '0123456789abcdef0123456789abcdef',
    walletId: 'fedcba9876543210fedcba9876543210',
    digest: view.digest,
    payloadHash: view.payloadHash,
    verdict: 'approve',
    decidedAt: Date.UTC(2026, 10, 1, 12, 0, 0),
  };

  it('signs every field and verifies with the approver key', () => {
    const decision = signDecision(approver, fields);
    expect(decision).toMatchObject(fields);
    expect(decision.signature).toMatch(/^0x[0-9a-f]{128}$/);
    expect(verifyDecision(approver.publicKey, decision)).toBe(true);
  });

  it('does not verify with another key', () => {
    const decision = signDecision(approver, fields);
    expect(verifyDecision(other.publicKey, decision)).toBe(false);
    expect(verifyDecision(other.publicKey, signDecision(other, fields))).toBe(true);
  });

  it.each<[keyof DecisionFields, DecisionFields[keyof DecisionFields]]>([
    ['requestId', '0123456789abcdef0123456789abcdee'],
    ['walletId', 'fedcba9876543210fedcba9876543211'],
    ['digest', flipLastHex(view.digest)],
    ['payloadHash', flipLastHex(view.payloadHash)],
    ['verdict', 'reject'],
    ['decidedAt', Date.UTC(2026, 10, 1, 12, 0, 1)],
  ])('does not verify once %s changed', (field, value) => {
    const decision = signDecision(approver, fields);
    expect(decision[field]).not.toEqual(value);
    expect(verifyDecision(approver.publicKey, { ...decision, [field]: value })).toBe(false);
  });

  it('binds digest and payload hash in their places: swapping them does not verify', () => {
    const decision = signDecision(approver, fields);
    expect(verifyDecision(approver.publicKey, { ...decision, digest: decision.payloadHash, payloadHash: decision.digest })).toBe(false);
  });

  it('a rejection signature does not verify as an approval', () => {
    const rejection = signDecision(approver, { ...fields, verdict: 'reject' });
    expect(verifyDecision(approver.publicKey, rejection)).toBe(true);
    expect(verifyDecision(approver.publicKey, { ...rejection, verdict: 'approve' })).toBe(false);
  });

  it('does not accept a signature of the same message made for another purpose', () => {
    const asHello = approver.sign('hello', decisionMessage(fields));
    expect(verifyDecision(approver.publicKey, { ...fields, signature: `0x${bytesToHex(asHello)}` })).toBe(false);
  });

  it('refuses the high-s twin of a valid signature', () => {
    const decision = signDecision(approver, fields);
    const signature = secp256k1.Signature.fromBytes(Buffer.from(decision.signature.slice(2), 'hex'), 'compact');
    const highS = new secp256k1.Signature(signature.r, secp256k1.Point.CURVE().n - signature.s);
    // The twin is a valid ECDSA signature of the same digest; only the low-s rule refuses it.
    const digest = taggedHash('tandem/channel/v1/signature/decision', decisionMessage(fields));
    expect(secp256k1.verify(highS.toBytes('compact'), digest, approver.publicKey, { prehash: false, lowS: false })).toBe(true);
    expect(verifyDecision(approver.publicKey, { ...decision, signature: `0x${highS.toHex('compact')}` })).toBe(false);
  });

  it('returns false, never throws, on malformed signature strings', () => {
    const decision = signDecision(approver, fields);
    const valid = decision.signature;
    const malformed: unknown[] = [
      '',
      '0x',
      valid.slice(2),
      valid.slice(0, -2),
      `${valid}00`,
      `0x${'zz'.repeat(64)}`,
      `0x${'00'.repeat(64)}`,
      `0x${'ff'.repeat(64)}`,
      ` ${valid}`,
      `${valid}\n`,
      undefined,
      null,
      42,
      Buffer.from(valid.slice(2), 'hex'),
    ];
    for (const signature of malformed) {
      expect(verifyDecision(approver.publicKey, { ...decision, signature: signature as Hex }), String(signature)).toBe(false);
    }
    // The valid one still verifies: the refusals above come from the malformations.
    expect(verifyDecision(approver.publicKey, decision)).toBe(true);
  });

  it('returns false on a malformed digest or payload hash instead of throwing', () => {
    const decision = signDecision(approver, fields);
    expect(verifyDecision(approver.publicKey, { ...decision, digest: '0xnothex' as Hex })).toBe(false);
    expect(verifyDecision(approver.publicKey, { ...decision, payloadHash: '0x123' as Hex })).toBe(false);
  });

  it('returns false for a public key that is not 33 bytes', () => {
    const decision: SignedDecision = signDecision(approver, fields);
    expect(verifyDecision(approver.publicKey.subarray(0, 32), decision)).toBe(false);
  });
});
