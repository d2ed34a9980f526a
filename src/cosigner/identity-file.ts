/** The co-signer's identity key: devices pin its public half at enrollment, so it must survive restarts. */
import { Identity } from '../channel/identity.js';
import { loadOrCreateSealed } from './sealed-file.js';
import type { MasterKey } from './store/master-key.js';

export function loadOrCreateIdentity(dataDir: string, masterKey: MasterKey): Identity {
  const secret = loadOrCreateSealed(dataDir, 'cosigner-identity', masterKey, () => Identity.generate().exportSecretKey());
  const identity = Identity.fromSecretKey(secret);
  secret.fill(0);
  return identity;
}
