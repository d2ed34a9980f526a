import { describe, expect, it } from 'vitest';
import { expectInvalidParams } from '../requests/expect-invalid-params.js';
import { parseWatchAsset } from './params.js';

const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const options = { address: TOKEN, symbol: 'TTK', decimals: 18 };

describe('wallet_watchAsset params (EIP-747, ERC-20)', () => {
  it('reads the object form and the one-element array form', () => {
    expect(parseWatchAsset({ type: 'ERC20', options })).toEqual({ address: TOKEN, symbol: 'TTK', decimals: 18 });
    expect(parseWatchAsset([{ type: 'ERC20', options: { ...options, address: TOKEN.toLowerCase(), image: 'https://x.test/t.png' } }])).toEqual({
      address: TOKEN,
      symbol: 'TTK',
      decimals: 18,
      image: 'https://x.test/t.png',
    });
  });

  it('accepts decimals 0 and 36 and an 11-character symbol', () => {
    expect(parseWatchAsset({ type: 'ERC20', options: { ...options, decimals: 0 } }).decimals).toBe(0);
    expect(parseWatchAsset({ type: 'ERC20', options: { ...options, decimals: 36, symbol: 'ABCDEFGHIJK' } }).symbol).toBe('ABCDEFGHIJK');
  });

  it.each([
    [undefined, /must be an object/],
    [[], /expects/],
    [{ type: 'ERC721', options }, /Tandem watches "ERC20" tokens only/],
    [{ type: 'ERC20' }, /options must be an object/],
    [{ type: 'ERC20', options: { ...options, address: '0x1234' } }, /options\.address must be/],
    [{ type: 'ERC20', options: { ...options, address: '0x5FbDB2315678afecb367f032d93F642f64180AA3' } }, /wrong EIP-55 checksum/],
    [{ type: 'ERC20', options: { ...options, symbol: '' } }, /symbol must be 1 to 11/],
    [{ type: 'ERC20', options: { ...options, symbol: 'ABCDEFGHIJKL' } }, /symbol must be 1 to 11/],
    [{ type: 'ERC20', options: { ...options, symbol: 7 } }, /symbol must be a string/],
    [{ type: 'ERC20', options: { ...options, decimals: 37 } }, /decimals must be an integer from 0 to 36/],
    [{ type: 'ERC20', options: { ...options, decimals: -1 } }, /decimals must be an integer/],
    [{ type: 'ERC20', options: { ...options, decimals: 1.5 } }, /decimals must be an integer/],
    [{ type: 'ERC20', options: { ...options, image: 'javascript:alert(1)' } }, /image must be an https/],
    [{ type: 'ERC20', options: { ...options, extra: 1 } }, /unexpected field "extra"/],
  ])('refuses %j with -32602', (params, message) => {
    expectInvalidParams(() => parseWatchAsset(params), message);
  });
});
