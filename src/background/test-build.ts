declare const __TANDEM_TEST_KDF__: boolean | undefined;

/**
 * True only in the dapp-test kit's build (scripts/build-extension.ts `testKdf`, packages/playwright):
 * its throwaway wallets must onboard in about a second, so the vault's KDF is cheap, and the popup
 * says on every page that this is a test build. Every other build, and Node, gets the full cost.
 */
export const WEAK_TEST_KDF = typeof __TANDEM_TEST_KDF__ !== 'undefined' && __TANDEM_TEST_KDF__ === true;
