import { describe, expect, it } from 'vitest';
import { mailTypedData } from '../../client/testing/mail-typed-data.js';
import { describeTypedData } from './describe-typed-data.js';
import { parseTypedDataV4 } from './params.js';

const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

function batchTypedData(chainId: string | undefined) {
  return {
    types: {
      Batch: [
        { name: 'amounts', type: 'uint256[]' },
        { name: 'legs', type: 'Leg[]' },
        { name: 'memo', type: 'string' },
      ],
      Leg: [
        { name: 'token', type: 'address' },
        { name: 'delta', type: 'int64' },
      ],
    },
    primaryType: 'Batch',
    domain: { name: 'Router', ...(chainId === undefined ? {} : { chainId }) },
    message: {
      amounts: ['1000000000000000000000000', '0x10'],
      legs: [{ token: TOKEN, delta: -5 }],
      memo: 'two legs',
    },
  };
}

describe('describeTypedData', () => {
  it('renders every integer as a decimal string, in nested structs and arrays', () => {
    const { address, typedData } = parseTypedDataV4([ALICE, batchTypedData('0x7a69')]);
    const { details, warnings } = describeTypedData(address, typedData, 31337);
    expect(details).toEqual({
      kind: 'typedData',
      address: ALICE,
      primaryType: 'Batch',
      domain: { name: 'Router', chainId: '31337' },
      message: { amounts: ['1000000000000000000000000', '16'], legs: [{ token: TOKEN, delta: '-5' }], memo: 'two legs' },
      currentChainId: 31337,
    });
    expect(JSON.parse(JSON.stringify(details))).toEqual(details);
    expect(warnings).toEqual([]);
  });

  it('renders plain numbers too, when given typed data that was not parsed', () => {
    const { details } = describeTypedData(ALICE, mailTypedData({ chainId: 1, contents: 'hi' }), 1);
    expect(details.domain.chainId).toBe('1');
  });

  it('warns when the domain is for another chain', () => {
    const { typedData } = parseTypedDataV4([ALICE, batchTypedData('0x1')]);
    expect(describeTypedData(ALICE, typedData, 31337).warnings).toEqual([
      { code: 'CHAIN_MISMATCH', message: 'This signature is for chain 1 but you are on chain 31337.' },
    ]);
  });

  it('does not warn when the domain names no chain', () => {
    const { typedData } = parseTypedDataV4([ALICE, batchTypedData(undefined)]);
    const { details, warnings } = describeTypedData(ALICE, typedData, 31337);
    expect(details.domain).toEqual({ name: 'Router' });
    expect(warnings).toEqual([]);
  });
});

describe('hidden characters in typed data', () => {
  it('warns when a string field carries a direction override, and not for plain text', () => {
    const plain = describeTypedData('0x70997970C51812dc3A010C7d01b50e0d17dc79C8', mailTypedData({ chainId: 1, contents: 'pay 10' }), 1);
    expect(plain.warnings.map((w) => w.code)).not.toContain('NOT_TEXT');
    const reordered = describeTypedData('0x70997970C51812dc3A010C7d01b50e0d17dc79C8', mailTypedData({ chainId: 1, contents: 'pay \u202E01' }), 1);
    expect(reordered.warnings.map((w) => w.code)).toContain('NOT_TEXT');
  });
});
