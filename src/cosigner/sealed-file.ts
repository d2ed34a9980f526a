/**
 * Secrets the co-signer keeps beside its database (its identity key, the device-token signing
 * key): generated on first run and stored sealed under the master key (envelope encryption,
 * bound to the file's name), 0600, never in plaintext.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvelopeCipher } from './store/envelope.js';
import type { MasterKey } from './store/master-key.js';

export function loadOrCreateSealed(dataDir: string, name: string, masterKey: MasterKey, create: () => Uint8Array): Uint8Array {
  const path = join(dataDir, `${name}.sealed`);
  const cipher = new EnvelopeCipher(masterKey);
  const context = ['sealed-file', name] as const;
  if (existsSync(path)) return cipher.open(readFileSync(path), context);
  const secret = create();
  writeFileSync(path, cipher.seal(secret, context), { mode: 0o600, flag: 'wx' });
  return secret;
}
