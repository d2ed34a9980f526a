/**
 * The co-signer's identity key: generated on first run, kept sealed under the master key in
 * the data directory (0600). Devices pin its public half at enrollment, so it must survive restarts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Identity } from '../channel/identity.js';
import { EnvelopeCipher } from './store/envelope.js';
import type { MasterKey } from './store/master-key.js';

export const IDENTITY_FILE = 'cosigner-identity.sealed';
const CONTEXT = ['cosigner-identity', 1] as const;

export function loadOrCreateIdentity(dataDir: string, masterKey: MasterKey): Identity {
  const path = join(dataDir, IDENTITY_FILE);
  const cipher = new EnvelopeCipher(masterKey);
  if (existsSync(path)) return Identity.fromSecretKey(cipher.open(readFileSync(path), CONTEXT));
  const identity = Identity.generate();
  const secret = identity.exportSecretKey();
  writeFileSync(path, cipher.seal(secret, CONTEXT), { mode: 0o600, flag: 'wx' });
  secret.fill(0);
  return identity;
}
