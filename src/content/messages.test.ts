import { describe, expect, it } from 'vitest';
import { PAGE_SOURCE, RELAY_SOURCE } from '../background/api.js';
import { isBackgroundToRelay, isHexChainId, isPageToRelay, isProviderState, isRelayToPage, isRpcRequestMessage } from './messages.js';

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

describe('message shape checks', () => {
  it('accepts an rpc request and refuses one without id, method or the right kind', () => {
    expect(isRpcRequestMessage({ kind: 'rpc', id: 'a', method: 'eth_chainId' })).toBe(true);
    expect(isRpcRequestMessage({ kind: 'rpc', id: 'a', method: 'eth_call', params: [{}] })).toBe(true);
    expect(isRpcRequestMessage({ kind: 'rpc', id: '', method: 'eth_chainId' })).toBe(false);
    expect(isRpcRequestMessage({ kind: 'rpc', id: 'a', method: 42 })).toBe(false);
    expect(isRpcRequestMessage({ kind: 'resume', ids: ['a'] })).toBe(false);
    expect(isRpcRequestMessage({ kind: 'rpc', id: 'x'.repeat(129), method: 'eth_chainId' })).toBe(false);
    expect(isRpcRequestMessage(null)).toBe(false);
  });

  it('accepts worker answers with a result or an error body, and the four events only', () => {
    expect(isBackgroundToRelay({ kind: 'response', id: 'a', result: null })).toBe(true);
    expect(isBackgroundToRelay({ kind: 'response', id: 'a', error: { code: 4001, message: 'no' } })).toBe(true);
    expect(isBackgroundToRelay({ kind: 'response', id: 'a', error: { code: '4001', message: 'no' } })).toBe(false);
    expect(isBackgroundToRelay({ kind: 'response', id: 'a' })).toBe(false);
    expect(isBackgroundToRelay({ kind: 'event', event: 'chainChanged', data: '0x1' })).toBe(true);
    expect(isBackgroundToRelay({ kind: 'event', event: 'message', data: {} })).toBe(false);
  });

  it('tells the page and relay envelopes apart by source', () => {
    const request = { kind: 'rpc', id: 'a', method: 'eth_chainId' };
    const answer = { kind: 'response', id: 'a', result: '0x1' };
    expect(isPageToRelay({ source: PAGE_SOURCE, message: request })).toBe(true);
    expect(isPageToRelay({ source: RELAY_SOURCE, message: request })).toBe(false);
    expect(isRelayToPage({ source: RELAY_SOURCE, message: answer })).toBe(true);
    expect(isRelayToPage({ source: PAGE_SOURCE, message: answer })).toBe(false);
  });

  it('checks chain ids and the provider state', () => {
    expect(isHexChainId('0x7a69')).toBe(true);
    expect(isHexChainId('31337')).toBe(false);
    expect(isHexChainId('0x')).toBe(false);
    expect(isProviderState({ chainId: '0x7a69', networkVersion: '31337', accounts: [ADDRESS], isUnlocked: true })).toBe(true);
    expect(isProviderState({ chainId: '0x7a69', networkVersion: '31337', accounts: ['0x12'], isUnlocked: true })).toBe(false);
    expect(isProviderState({ chainId: '0x7a69', networkVersion: '31337', accounts: [] })).toBe(false);
  });
});
