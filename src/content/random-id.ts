/**
 * A v4 UUID for request ids and the EIP-6963 uuid. crypto.randomUUID exists only in secure contexts,
 * and the provider also runs on plain-http pages (a dapp on a LAN address), where only
 * crypto.getRandomValues is available; so the fallback builds the same format from 16 random bytes.
 */
export function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return uuidFromRandomBytes(crypto.getRandomValues(new Uint8Array(16)));
}

export function uuidFromRandomBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError('A UUID needs exactly 16 random bytes.');
  const b = Uint8Array.from(bytes);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
