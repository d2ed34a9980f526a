import { describe, expect, it } from 'vitest';
import { installWindowEthereum } from './window-ethereum.js';

describe('installWindowEthereum', () => {
  it('sets window.ethereum when it is free', () => {
    const win: { ethereum?: unknown } = {};
    const provider = { isTandem: true };
    expect(installWindowEthereum(win, provider)).toBe(true);
    expect(win.ethereum).toBe(provider);
  });

  it('leaves another wallet\u2019s window.ethereum alone', () => {
    const other = { isOther: true };
    const win: { ethereum?: unknown } = { ethereum: other };
    expect(installWindowEthereum(win, { isTandem: true })).toBe(false);
    expect(win.ethereum).toBe(other);
  });

  it('hands the slot to a wallet that assigns later, without throwing in strict mode', () => {
    'use strict';
    const win: { ethereum?: unknown } = {};
    installWindowEthereum(win, { isTandem: true });
    const later = { isLater: true };
    expect(() => {
      win.ethereum = later;
    }).not.toThrow();
    expect(win.ethereum).toBe(later);
    const redefined = { isRedefined: true };
    Object.defineProperty(win, 'ethereum', { value: redefined, configurable: true });
    expect(win.ethereum).toBe(redefined);
  });
});
