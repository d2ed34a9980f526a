/**
 * Page (MAIN) world at document_start. Built as a classic script: keep it free of runtime imports
 * beyond these small modules (no viem, no webextension-polyfill).
 */
import { announceProvider, createTandemProviderInfo } from './eip6963.js';
import { createTandemProvider } from './tandem-provider.js';
import { createPageTransport } from './window-messaging.js';
import { installWindowEthereum } from './window-ethereum.js';

const provider = createTandemProvider(createPageTransport(window));

if (installWindowEthereum(window, provider)) window.dispatchEvent(new Event('ethereum#initialized'));
announceProvider(window, createTandemProviderInfo(), provider);
