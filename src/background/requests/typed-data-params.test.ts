import { describe, expect, it } from 'vitest';
import { hashTypedData, verifyTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { EIP712_DOMAIN_TYPE, mailTypedData } from '../../client/testing/mail-typed-data.js';
import { expectInvalidParams } from './expect-invalid-params.js';
import { MAX_TYPED_DATA_JSON, parseTypedDataV4 } from './params.js';
import { reviveTypedData } from './typed-data-params.js';

const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const SPENDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

/** An EIP-2612 permit as dapps send it over JSON: EIP712Domain spelled out, integers as strings. */
function permitJson(overrides: { message?: Record<string, unknown>; domain?: Record<string, unknown>; types?: Record<string, unknown> } = {}) {
  return {
    types: {
      EIP712Domain: EIP712_DOMAIN_TYPE,
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
      ...overrides.types,
    },
    primaryType: 'Permit',
    domain: { name: 'Test Token', version: '1', chainId: '0x7a69', verifyingContract: TOKEN.toLowerCase(), ...overrides.domain },
    message: {
      owner: ALICE.toLowerCase(),
      spender: SPENDER,
      value: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
      nonce: 0,
      deadline: '0x7fffffff',
      ...overrides.message,
    },
  };
}

describe('parseTypedDataV4: what it accepts', () => {
  it('reads a JSON string and signs exactly what the dapp built', async () => {
    const original = mailTypedData({ chainId: 31337, contents: 'Hello, Bob!' });
    const { address, typedData } = parseTypedDataV4([ALICE.toLowerCase(), JSON.stringify(original)]);
    expect(address).toBe(ALICE);
    expect(typedData.primaryType).toBe('Mail');
    expect(typedData.domain?.chainId).toBe(31337n);
    // EIP712Domain was left out: it is derived from the domain's fields, as viem and ethers do.
    expect(typedData.types.EIP712Domain?.map((f) => f.name)).toEqual(['name', 'version', 'chainId', 'verifyingContract']);
    expect(hashTypedData(typedData)).toBe(hashTypedData(original));

    const account = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
    const signature = await account.signTypedData(typedData);
    expect(await verifyTypedData({ ...original, address: account.address, signature })).toBe(true);
  });

  it('turns integers sent as decimal or hex strings into bigints and hashes them as numbers', () => {
    const { typedData } = parseTypedDataV4([ALICE, permitJson()]);
    expect(typedData.message).toEqual({ owner: ALICE, spender: SPENDER, value: (1n << 256n) - 1n, nonce: 0n, deadline: 0x7fffffffn });
    expect(typedData.domain).toEqual({ name: 'Test Token', version: '1', chainId: 31337n, verifyingContract: TOKEN });
    const withBigints = {
      ...typedData,
      message: { owner: ALICE, spender: SPENDER, value: (1n << 256n) - 1n, nonce: 0n, deadline: 2147483647n },
    };
    expect(hashTypedData(typedData)).toBe(hashTypedData(withBigints));
  });

  it('reads nested structs, arrays, bytes, bools and signed integers', () => {
    const { typedData } = parseTypedDataV4([
      ALICE,
      {
        types: {
          Order: [
            { name: 'items', type: 'Item[]' },
            { name: 'pair', type: 'int16[2]' },
            { name: 'salt', type: 'bytes32' },
            { name: 'extra', type: 'bytes' },
            { name: 'ok', type: 'bool' },
          ],
          Item: [
            { name: 'token', type: 'address' },
            { name: 'amount', type: 'uint96' },
          ],
        },
        primaryType: 'Order',
        domain: { name: 'Market' },
        message: {
          items: [{ token: TOKEN.toLowerCase(), amount: '5' }],
          pair: [-3, '-32768'],
          salt: `0x${'AB'.repeat(32)}`,
          extra: '0x',
          ok: true,
        },
      },
    ]);
    expect(typedData.message).toEqual({ items: [{ token: TOKEN, amount: 5n }], pair: [-3n, -32768n], salt: `0x${'ab'.repeat(32)}`, extra: '0x', ok: true });
    expect(typedData.types.EIP712Domain).toEqual([{ name: 'name', type: 'string' }]);
  });

  it('drops fields the types do not declare, since they would not be signed', () => {
    const { typedData } = parseTypedDataV4([ALICE, permitJson({ message: { note: 'not signed' }, domain: { salt: `0x${'00'.repeat(32)}` } })]);
    expect(typedData.message).not.toHaveProperty('note');
    expect(typedData.domain).not.toHaveProperty('salt');
  });
});

describe('parseTypedDataV4: what it refuses', () => {
  it('refuses params that are not [address, typed data]', () => {
    expectInvalidParams(() => parseTypedDataV4([permitJson(), ALICE]), /eth_signTypedData_v4 address \(params\[0\]\) must be a 0x-prefixed 20-byte address string, got an object/);
    expectInvalidParams(() => parseTypedDataV4([ALICE]), /expects \[address, typedData\], got 1 param/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, '{not json']), /is a string but not valid JSON/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, 5]), /must be a JSON string or an object, got the number 5/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, '[1,2]']), /typed data \(params\[1\]\) must be an object, got an array/);
  });

  it('refuses typed data over the size cap, as text or as an object', () => {
    const big = permitJson({ message: {}, types: {}, domain: { name: 'x'.repeat(MAX_TYPED_DATA_JSON) } });
    expectInvalidParams(() => parseTypedDataV4([ALICE, JSON.stringify(big)]), /characters; at most 65536 are accepted/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, big]), /characters as JSON; at most 65536 are accepted/);
  });

  it('refuses a missing or unknown primaryType, and domain-only signatures', () => {
    expectInvalidParams(() => parseTypedDataV4([ALICE, { ...permitJson(), primaryType: undefined }]), /needs a primaryType string/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, { ...permitJson(), primaryType: 'Mail' }]), /primaryType "Mail" is not defined in types \(defined: EIP712Domain, Permit\)/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, { ...permitJson(), primaryType: 'EIP712Domain' }]), /domain-only signature\) is not supported/);
  });

  it('refuses a missing domain or message, and malformed types', () => {
    expectInvalidParams(() => parseTypedDataV4([ALICE, { ...permitJson(), domain: undefined }]), /typed data domain must be an object, got nothing/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, { ...permitJson(), message: 'hi' }]), /typed data message must be an object, got the string "hi"/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, { ...permitJson(), types: [] }]), /typed data types must be an object, got an array/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ types: { Permit: { owner: 'address' } } })]), /types.Permit must be an array of \{ name, type \}/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ types: { Permit: [{ name: 'a', type: 'Missing' }] } })]), /type "Missing" of Permit.a is neither a Solidity type nor defined in types/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ types: { Permit: [{ name: 'a', type: 'uint' }] } })]), /type "uint" of Permit.a is neither a Solidity type/);
    expectInvalidParams(
      () => parseTypedDataV4([ALICE, permitJson({ types: { Permit: [{ name: 'a', type: 'string' }, { name: 'a', type: 'string' }] } })]),
      /Permit declares the field "a" twice/,
    );
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ types: { address: [] } })]), /type name "address" is a Solidity type/);
  });

  it('refuses a message or domain field that is missing or has the wrong kind of value', () => {
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ message: { deadline: undefined } })]), /message.deadline \(uint256\) is missing/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ domain: { version: undefined } })]), /domain.version \(string\) is missing/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ message: { spender: '0x1234' } })]), /message.spender is not a valid address/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ message: { nonce: '1.5' } })]), /message.nonce \(uint256\) must be an integer, a decimal string or a 0x hex string, got the string "1.5"/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ message: { nonce: -1 } })]), /message.nonce is -1, out of range for uint256/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ message: { nonce: 2 ** 60 } })]), /not a safe integer; send large numbers as decimal strings/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, permitJson({ message: { value: (1n << 256n).toString() } })]), /message.value is .* out of range for uint256/);
  });

  it('refuses bad bytes, bools, arrays and nested structs', () => {
    const order = (message: Record<string, unknown>) => ({
      types: {
        Order: [
          { name: 'pair', type: 'uint8[2]' },
          { name: 'salt', type: 'bytes32' },
          { name: 'ok', type: 'bool' },
          { name: 'item', type: 'Item' },
        ],
        Item: [{ name: 'id', type: 'uint8' }],
      },
      primaryType: 'Order',
      domain: {},
      message: { pair: [1, 2], salt: `0x${'00'.repeat(32)}`, ok: false, item: { id: 1 }, ...message },
    });
    expect(parseTypedDataV4([ALICE, order({})]).typedData.message).toEqual({ pair: [1n, 2n], salt: `0x${'00'.repeat(32)}`, ok: false, item: { id: 1n } });
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ pair: [1, 2, 3] })]), /message.pair must have exactly 2 items \(uint8\[2\]\), got 3/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ pair: [1, 256] })]), /message.pair\[1\] is 256, out of range for uint8 \(0 to 255\)/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ pair: '1,2' })]), /message.pair must be an array/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ salt: '0x1234' })]), /message.salt must be exactly 32 bytes \(bytes32\), got 2/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ salt: '0x123' })]), /message.salt must be 0x-prefixed hex with whole bytes/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ ok: 'false' })]), /message.ok must be true or false \(bool\)/);
    expectInvalidParams(() => parseTypedDataV4([ALICE, order({ item: [1] })]), /message.item must be an object of type Item, got an array/);
  });

  it('refuses nesting deeper than it walks', () => {
    let message: Record<string, unknown> = { child: [] };
    for (let depth = 0; depth < 40; depth++) message = { child: [message] };
    const nested = { types: { Node: [{ name: 'child', type: 'Node[]' }] }, primaryType: 'Node', domain: {}, message };
    expectInvalidParams(() => parseTypedDataV4([ALICE, nested]), /nests deeper than 32 levels/);
  });
});

describe('reviveTypedData', () => {
  it('brings the parsed typed data back, bigints included, from what storage.session keeps', () => {
    const { typedData } = parseTypedDataV4([ALICE, JSON.stringify(permitJson())]);
    // As execute.ts toStorable writes it: bigints as decimal strings.
    const stored = JSON.parse(JSON.stringify(typedData, (_, field: unknown) => (typeof field === 'bigint' ? field.toString() : field))) as unknown;
    expect((stored as { domain: { chainId: unknown } }).domain.chainId).toBe('31337');
    const revived = reviveTypedData(stored);
    expect(revived).toEqual(typedData);
    expect(revived.domain?.chainId).toBe(31337n);
    expect(hashTypedData(revived)).toBe(hashTypedData(typedData));
  });

  it('refuses a stored value that is not typed data', () => {
    expectInvalidParams(() => reviveTypedData('not an object'), /stored eth_signTypedData_v4 typed data must be an object/);
  });
});

describe('object machinery as names', () => {
  it('refuses __proto__, constructor and prototype as field or type names', async () => {
    const { parseTypedDataV4 } = await import('./typed-data-params.js');
    const address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const base = { domain: { name: 'x', chainId: 1 }, primaryType: 'Mail', message: { contents: 'hi' } };
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const field = { ...base, types: { Mail: [{ name: 'contents', type: 'string' }, { name, type: 'string' }] } };
      expect(() => parseTypedDataV4([address, JSON.stringify(field)])).toThrow(/not allowed/);
      const struct = JSON.parse(`{"Mail":[{"name":"contents","type":"string"}],"${name}":[]}`) as Record<string, unknown>;
      expect(() => parseTypedDataV4([address, JSON.stringify({ ...base, types: struct })])).toThrow(/not allowed|must|invalid/i);
    }
  });
});
