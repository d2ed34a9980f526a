/**
 * The local stack the extension talks to: the co-signer on its embedded broker, hardhat 2 chains
 * and the demo dapp. `npm start` and the Playwright specs both run it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startCosigner, type CosignerConfig, type RunningCosigner } from '../../src/cosigner/service.js';
import { HARDHAT_CHAIN_ID, startHardhatNode, type HardhatNode } from '../../src/client/testing/hardhat-node.js';
import { serveStatic, type StaticServer } from './static-server.js';

export interface StackOptions {
  dataDir: string;
  dappDir: string;
  /** 8884 for npm start (the extension's default); 0 in tests. */
  cosignerPort?: number;
  /** 8545 for npm start (the extension's default chain); a free one in tests. */
  chainPort?: number;
  dappPort?: number;
  /** Also start a second chain (id 31338), for the add-chain spec. */
  secondChain?: boolean;
  cosigner?: Partial<CosignerConfig>;
  log?: (line: string) => void;
}

export interface Stack {
  cosigner: RunningCosigner;
  chain: HardhatNode;
  secondChain: HardhatNode | undefined;
  dapp: StaticServer;
  /** Stops the co-signer (its embedded broker too), as an operator restarting it would. */
  stopCosigner(): Promise<void>;
  /**
   * Starts it again on the same port and data (same identity, same certificate). `change` applies to
   * this run only (e.g. `{ chainRpcUrls: {} }`: a co-signer that sends nothing); the next restart without it is as configured.
   */
  restartCosigner(change?: Partial<CosignerConfig>): Promise<RunningCosigner>;
  stop(): Promise<void>;
}

export const SECOND_CHAIN_ID = 31338;

export async function startStack(options: StackOptions): Promise<Stack> {
  const cosignerDir = join(options.dataDir, 'cosigner');
  mkdirSync(cosignerDir, { recursive: true });
  const log = options.log ?? (() => undefined);
  const [chain, secondChain, dapp] = await Promise.all([
    startHardhatNode(options.chainPort ? { port: options.chainPort } : {}),
    options.secondChain ? startHardhatNode({ chainId: SECOND_CHAIN_ID }) : Promise.resolve(undefined),
    serveStatic(options.dappDir, options.dappPort ?? 0),
  ]);
  // The co-signer sends the transactions that approvers let through (policy `approvals`) on these chains.
  const chainRpcUrls: Record<number, string> = { [HARDHAT_CHAIN_ID]: chain.url };
  if (secondChain) chainRpcUrls[SECOND_CHAIN_ID] = secondChain.url;
  const config: CosignerConfig = { dataDir: cosignerDir, port: options.cosignerPort ?? 0, log, chainRpcUrls, ...options.cosigner };
  const cosigner = await startCosigner(config).catch(async (error: unknown) => {
    await Promise.allSettled([chain.stop(), secondChain?.stop(), dapp.stop()]);
    throw error;
  });
  const port = Number(new URL(cosigner.url).port);
  const stack: Stack = {
    cosigner,
    chain,
    secondChain,
    dapp,
    async stopCosigner() {
      await stack.cosigner.stop();
    },
    async restartCosigner(change = {}) {
      stack.cosigner = await startCosigner({ ...config, ...change, port });
      return stack.cosigner;
    },
    async stop() {
      await Promise.allSettled([stack.cosigner.stop(), chain.stop(), secondChain?.stop(), dapp.stop()]);
    },
  };
  return stack;
}
