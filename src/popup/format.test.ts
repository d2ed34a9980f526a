import { describe, expect, it } from 'vitest';
import type { DecodedCall } from '../background/api.js';
import {
  approvalStageLabel,
  decodedCallSummary,
  errorReason,
  hexByteLength,
  leafToString,
  queueLabel,
  shortenAddress,
  truncateHex,
  weiToGwei,
  withSymbol,
} from './format.js';

const alice = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const token = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

describe('shortenAddress', () => {
  it('keeps the 0x prefix, four leading and four trailing digits', () => {
    expect(shortenAddress(alice)).toBe('0x7099…79C8');
  });
  it('leaves short strings whole', () => {
    expect(shortenAddress('0x1234')).toBe('0x1234');
  });
});

describe('weiToGwei', () => {
  it('formats whole and fractional gwei', () => {
    expect(weiToGwei('1000000000')).toBe('1 gwei');
    expect(weiToGwei('1500000000')).toBe('1.5 gwei');
    expect(weiToGwei('1')).toBe('0.000000001 gwei');
    expect(weiToGwei('0')).toBe('0 gwei');
  });
  it('shows anything that is not a decimal wei amount as it came', () => {
    expect(weiToGwei('0x10')).toBe('0x10');
    expect(weiToGwei('')).toBe('');
  });
});

describe('withSymbol', () => {
  it('appends the symbol once', () => {
    expect(withSymbol('1.5', 'ETH')).toBe('1.5 ETH');
    expect(withSymbol('1.5 ETH', 'ETH')).toBe('1.5 ETH');
    expect(withSymbol('1.5', undefined)).toBe('1.5');
  });
});

describe('hex helpers', () => {
  it('counts bytes with or without the prefix', () => {
    expect(hexByteLength('0x')).toBe(0);
    expect(hexByteLength('0xa9059cbb')).toBe(4);
    expect(hexByteLength('a9059cbb00')).toBe(5);
  });
  it('truncates to whole bytes and says how many were hidden', () => {
    expect(truncateHex('0xa9059cbb0000', 4)).toEqual({ shown: '0xa9059cbb…', hiddenBytes: 2 });
    expect(truncateHex('0xa9059cbb', 4)).toEqual({ shown: '0xa9059cbb', hiddenBytes: 0 });
  });
});

describe('leafToString', () => {
  it('shows every kind of leaf as text', () => {
    expect(leafToString('Bob')).toBe('Bob');
    expect(leafToString(12)).toBe('12');
    expect(leafToString(true)).toBe('true');
    expect(leafToString(10n ** 30n)).toBe('1000000000000000000000000000000');
    expect(leafToString(null)).toBe('null');
  });
});

describe('queueLabel', () => {
  it('names the position only when several requests wait', () => {
    expect(queueLabel({ position: 2, total: 3 })).toBe('Request 2 of 3');
    expect(queueLabel({ position: 1, total: 1 })).toBeUndefined();
  });
});

describe('approvalStageLabel', () => {
  it('says the co-signer is offline while waiting for it', () => {
    expect(approvalStageLabel('waiting-cosigner')).toMatch(/offline/);
    expect(approvalStageLabel('waiting-cosigner')).toMatch(/complete when it returns/);
  });
});

describe('errorReason', () => {
  it('reads the reason from the reply or from error.data', () => {
    expect(errorReason({ code: 4001, message: 'Refused', reason: 'daily limit' })).toBe('daily limit');
    expect(errorReason({ code: 4001, message: 'Refused', data: { reason: 'recipient not allowed' } })).toBe('recipient not allowed');
    expect(errorReason({ code: -32603, message: 'Failed', data: 'oops' })).toBeUndefined();
  });
});

describe('decodedCallSummary', () => {
  const transfer: DecodedCall = {
    name: 'transfer',
    signature: 'transfer(address,uint256)',
    token: { address: token, symbol: 'TKN', decimals: 18 },
    args: [
      { name: 'to', type: 'address', value: alice },
      { name: 'amount', type: 'uint256', value: '12500000000000000000', formatted: '12.5' },
    ],
  };

  it('reads an ERC-20 transfer as a token transfer', () => {
    expect(decodedCallSummary(transfer)).toBe('Token transfer: 12.5 TKN to 0x7099…79C8');
  });

  it('does not repeat a symbol the formatted amount already carries', () => {
    const args = [transfer.args[0]!, { ...transfer.args[1]!, formatted: '12.5 TKN' }];
    expect(decodedCallSummary({ ...transfer, args })).toBe('Token transfer: 12.5 TKN to 0x7099…79C8');
  });

  it('reads an ERC-20 approve as a token approval', () => {
    const approve: DecodedCall = {
      ...transfer,
      name: 'approve',
      signature: 'approve(address,uint256)',
      args: [
        { name: 'spender', type: 'address', value: alice },
        { name: 'amount', type: 'uint256', value: '5', formatted: 'unlimited' },
      ],
    };
    expect(decodedCallSummary(approve)).toBe('Token approval: 0x7099…79C8 may spend unlimited TKN');
  });

  it('shows any other call as name(args) with the raw amount when nothing formatted it', () => {
    const call: DecodedCall = {
      name: 'deposit',
      signature: 'deposit(address,uint256)',
      args: [
        { name: 'who', type: 'address', value: alice },
        { name: 'amount', type: 'uint256', value: '7' },
      ],
    };
    expect(decodedCallSummary(call)).toBe('deposit(0x7099…79C8, 7)');
  });
});
