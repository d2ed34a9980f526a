/**
 * Deploys a real ERC-20 (OpenZeppelin's ERC20PresetFixedSupply, from its published build artifact) to a
 * local chain, for tests and the e2e stack: the whole supply is minted to `owner`.
 */
import { createRequire } from 'node:module';
import { createPublicClient, createWalletClient, http, type Abi, type Account, type Address, type Hex } from 'viem';

/** Hardhat's first default account (from its public test mnemonic): funded on local chains only. */
export const HARDHAT_FIRST_ACCOUNT_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

interface HardhatArtifact {
  abi: Abi;
  bytecode: Hex;
}

const artifact = createRequire(import.meta.url)('@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json') as HardhatArtifact;

export interface DeployTestTokenOptions {
  rpcUrl: string;
  /** Pays for the deployment, e.g. privateKeyToAccount(HARDHAT_FIRST_ACCOUNT_KEY). */
  deployer: Account;
  name: string;
  symbol: string;
  /** Total supply in the token's smallest unit (18 decimals). */
  supply: bigint;
  /** Receives the whole supply. */
  owner: Address;
}

/** Returns the token's address once the deployment is mined. */
export async function deployTestToken(options: DeployTestTokenOptions): Promise<Address> {
  const transport = http(options.rpcUrl);
  const wallet = createWalletClient({ account: options.deployer, transport });
  const publicClient = createPublicClient({ transport });
  const hash = await wallet.deployContract({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args: [options.name, options.symbol, options.supply, options.owner],
    chain: null,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new Error(`Deploying the ${options.symbol} test token failed (transaction ${hash}, status ${receipt.status}).`);
  }
  return receipt.contractAddress;
}
