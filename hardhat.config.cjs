// A local chain for tests and the demo: hardhat 2 defaults (chain id 31337, funded accounts).
module.exports = {};
