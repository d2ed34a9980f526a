/** The EIP-5792 error codes (https://eips.ethereum.org/EIPS/eip-5792#error-codes) Tandem answers with. */
import { ProviderRpcError } from '../errors.js';

export const EIP5792_CODES = {
  /** The wallet does not support a capability that was not marked optional. */
  unsupportedNonOptionalCapability: 5700,
  /** The wallet does not support the requested chain. */
  unsupportedChainId: 5710,
  /** A bundle with this id was already submitted (by this app). */
  duplicateId: 5720,
  /** No bundle with this id (from this app). */
  unknownBundleId: 5730,
  /** More calls than the wallet handles in one bundle. */
  bundleTooLarge: 5740,
  /** atomicRequired: true, and the wallet cannot execute atomically. */
  atomicityNotSupported: 5760,
} as const;

export const unsupportedCapability = (names: string[]) =>
  new ProviderRpcError(EIP5792_CODES.unsupportedNonOptionalCapability, `Unsupported non-optional capability: ${names.map((name) => `"${name}"`).join(', ')}. Tandem supports none; mark a capability optional to have it ignored.`);
export const unsupportedChain = (chainId: string) =>
  new ProviderRpcError(EIP5792_CODES.unsupportedChainId, `Unsupported chain id ${chainId}: add it with wallet_addEthereumChain first.`);
export const duplicateId = (id: string) => new ProviderRpcError(EIP5792_CODES.duplicateId, `Duplicate id: this site already submitted a bundle with id "${id.length > 48 ? `${id.slice(0, 48)}…` : id}".`);
export const unknownBundle = () => new ProviderRpcError(EIP5792_CODES.unknownBundleId, 'Unknown bundle id: this site submitted no bundle with this id to Tandem.');
export const bundleTooLarge = (count: number, max: number) => new ProviderRpcError(EIP5792_CODES.bundleTooLarge, `Bundle too large: ${count} calls; Tandem takes at most ${max} in one bundle.`);
export const atomicityNotSupported = () =>
  new ProviderRpcError(
    EIP5792_CODES.atomicityNotSupported,
    'Atomicity not supported: Tandem is an externally owned account and sends the calls one after the other (wallet_getCapabilities reports atomic "unsupported"). Send with atomicRequired: false.',
  );
