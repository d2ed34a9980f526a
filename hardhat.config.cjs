// A local chain for tests and the demo: hardhat 2 defaults (funded accounts). TANDEM_CHAIN_ID picks
// another chain id, so the e2e specs can add a second chain to the wallet.
module.exports = { networks: { hardhat: { chainId: Number(process.env.TANDEM_CHAIN_ID ?? 31337) } } };
