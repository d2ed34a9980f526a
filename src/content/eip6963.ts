import { TANDEM_ICON_DATA_URI } from './icon.js';
import { randomId } from './random-id.js';

export const ANNOUNCE_PROVIDER_EVENT = 'eip6963:announceProvider';
export const REQUEST_PROVIDER_EVENT = 'eip6963:requestProvider';
export const TANDEM_RDNS = 'dev.tandem.wallet';

export interface Eip6963ProviderInfo {
  readonly uuid: string;
  readonly name: string;
  readonly icon: string;
  readonly rdns: string;
}

export interface Eip6963ProviderDetail<Provider> {
  readonly info: Eip6963ProviderInfo;
  readonly provider: Provider;
}

/** One uuid per page load, as EIP-6963 asks. */
export function createTandemProviderInfo(uuid: string = randomId()): Eip6963ProviderInfo {
  return Object.freeze({ uuid, name: 'Tandem', icon: TANDEM_ICON_DATA_URI, rdns: TANDEM_RDNS });
}

/**
 * Announces the provider now and again whenever a dapp dispatches eip6963:requestProvider.
 * Returns a function that stops answering requests.
 */
export function announceProvider<Provider>(target: EventTarget, info: Eip6963ProviderInfo, provider: Provider): () => void {
  const detail: Eip6963ProviderDetail<Provider> = Object.freeze({ info: Object.freeze({ ...info }), provider });
  const announce = (): void => {
    target.dispatchEvent(new CustomEvent(ANNOUNCE_PROVIDER_EVENT, { detail }));
  };
  target.addEventListener(REQUEST_PROVIDER_EVENT, announce);
  announce();
  return () => target.removeEventListener(REQUEST_PROVIDER_EVENT, announce);
}
