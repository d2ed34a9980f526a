import { describe, expect, it } from 'vitest';
import { expectInvalidParams } from '../requests/expect-invalid-params.js';
import { MAX_ID_BYTES, newBundleId, parseCallsId, parseGetCapabilities, parseSendCalls } from './params.js';

const TO = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const FROM = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const base = { version: '2.0.0', chainId: '0x7a69', atomicRequired: false, calls: [{ to: TO, value: '0x1' }] };

describe('wallet_sendCalls params', () => {
  it('reads the EIP-5792 2.0.0 shape', () => {
    const parsed = parseSendCalls([{ ...base, id: 'abc', from: FROM.toLowerCase(), calls: [{ to: TO, value: '0x10' }, { to: TO, data: '0xa9059cbb' }] }]);
    expect(parsed).toEqual({
      id: 'abc',
      from: FROM,
      chainId: 31337,
      chainIdHex: '0x7a69',
      atomicRequired: false,
      calls: [{ to: TO, value: 16n }, { to: TO, data: '0xa9059cbb' }],
      requiredCapabilities: [],
    });
  });

  it('keeps atomicRequired: true for the handler to refuse with 5760', () => {
    expect(parseSendCalls([{ ...base, atomicRequired: true }]).atomicRequired).toBe(true);
  });

  it('collects required capabilities and ignores optional ones', () => {
    const parsed = parseSendCalls([
      { ...base, capabilities: { paymasterService: { url: 'https://x' }, auxiliaryFunds: { optional: true } }, calls: [{ to: TO, capabilities: { permissions: {} } }] },
    ]);
    expect(parsed.requiredCapabilities).toEqual(['paymasterService', 'permissions']);
  });

  it.each([
    [undefined, /params to be an array/],
    [[], /got 0 params/],
    [[{ ...base, version: '1.0' }], /version must be "2.0.0"/],
    [[{ ...base, atomicRequired: undefined }], /atomicRequired must be true or false/],
    [[{ ...base, atomicRequired: 'false' }], /atomicRequired must be true or false/],
    [[{ ...base, chainId: 31337 }], /chainId must be a 0x-prefixed hex quantity/],
    [[{ ...base, chainId: '0x07a69' }], /leading zeros/],
    [[{ ...base, calls: [] }], /calls must be a non-empty array/],
    [[{ ...base, calls: [{ to: '0x1234' }] }], /calls\[0\]\.to is not a valid address/],
    [[{ ...base, calls: [{ to: TO, value: 5 }] }], /calls\[0\]\.value must be a 0x-prefixed hex quantity/],
    [[{ ...base, calls: [{ to: TO, data: '0xabc' }] }], /calls\[0\]\.data has an odd number/],
    [[{ ...base, calls: [{ value: '0x1' }] }], /no "to"/],
    [[{ ...base, calls: [{ to: TO, gas: '0x1' }] }], /unexpected field "gas"/],
    [[{ ...base, nonce: '0x1' }], /unexpected field "nonce"/],
    [[{ ...base, id: '' }], /id must be a non-empty string/],
    [[{ ...base, id: 'x'.repeat(MAX_ID_BYTES + 1) }], /at most 4096/],
    [[{ ...base, capabilities: { paymasterService: true } }], /capabilities\.paymasterService must be an object/],
    [[{ ...base, from: '0xnothex' }], /from is not a valid address/],
  ])('refuses %j with -32602', (params, message) => {
    expectInvalidParams(() => parseSendCalls(params), message);
  });
});

describe('wallet_getCallsStatus / wallet_showCallsStatus / wallet_getCapabilities params', () => {
  it('reads [id]', () => {
    expect(parseCallsId('wallet_getCallsStatus', ['0xabc'])).toBe('0xabc');
    expectInvalidParams(() => parseCallsId('wallet_getCallsStatus', []), /\[id\]/);
    expectInvalidParams(() => parseCallsId('wallet_getCallsStatus', [42]), /id must be a non-empty string/);
  });

  it('reads [address, chainIds?]', () => {
    expect(parseGetCapabilities([FROM])).toEqual({ address: FROM });
    expect(parseGetCapabilities([FROM, ['0x1', '0x7a69']])).toEqual({ address: FROM, chainIds: [1, 31337] });
    expectInvalidParams(() => parseGetCapabilities([]), /\[address, chainIds\?\]/);
    expectInvalidParams(() => parseGetCapabilities([FROM, '0x1']), /chainIds must be an array/);
    expectInvalidParams(() => parseGetCapabilities(['nope']), /address is not a valid address/);
  });

  it('makes ids of 32 random bytes that read as a hex number too (no leading zero)', () => {
    const id = newBundleId();
    expect(id).toMatch(/^0x[0-9a-f]{64}$/);
    expect(newBundleId()).not.toBe(id);
    for (let i = 0; i < 64; i++) expect(newBundleId()).toMatch(/^0x[1-9a-f]/);
  });
});
