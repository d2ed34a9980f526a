export { DkgParty, THRESHOLD, type DkgOptions } from './dkg.js';
export { SignParty, type SignOptions, type SignResult } from './sign.js';
export { exportKeyShare, importKeyShare, keyShareAddress, type KeyShare, type PairMaterial } from './keyshare.js';
export { payloadDigest, toViemSignature, type SignablePayload } from './ethereum.js';
export { encodeMessage, decodeMessage, type ProtocolMessage, type ProtocolName } from './message.js';
export type { RecoverableSignature } from './ecdsa.js';
export type { Step } from './party.js';
export * from './errors.js';
