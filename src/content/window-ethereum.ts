/**
 * Sets `window.ethereum` only when no other wallet did. The property is an accessor whose setter
 * quietly hands the slot over: a wallet injected later that assigns `window.ethereum = …` wins
 * without a TypeError (a non-writable value would throw in its strict-mode code). EIP-6963 is how
 * dapps find Tandem next to other wallets anyway.
 */
export function installWindowEthereum(target: object, provider: unknown): boolean {
  if ('ethereum' in target) return false;
  Object.defineProperty(target, 'ethereum', {
    configurable: true,
    enumerable: true,
    get: () => provider,
    set(value: unknown) {
      Object.defineProperty(target, 'ethereum', { configurable: true, enumerable: true, writable: true, value });
    },
  });
  return true;
}
