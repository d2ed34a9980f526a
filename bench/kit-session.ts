/**
 * The dapp-test kit's costs, measured through its public launchTandem() from the built package
 * (packages/playwright/dist, built here first) against a chain the bench already runs:
 *   kit_onboard_ms        launchTandem() -> a dapp page holding the connected account
 *   kit_test_overhead_ms  the whole of a one-signature dapp test: launch, connect, one personal_sign
 *                         approved and verified, everything stopped
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoverMessageAddress, toHex } from 'viem';

type KitModule = typeof import('../packages/playwright/src/index.js');
type Requester = { ethereum: { request(args: { method: string; params?: unknown }): Promise<unknown> } };

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '../packages/playwright');

export function buildKit(): void {
  execFileSync('npm', ['run', 'build'], { cwd: packageDir, stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function measureKitSession(chain: { rpcUrl: string; dappUrl: string }): Promise<{ onboardMs: number; testMs: number; verified: boolean }> {
  const kit = (await import(join(packageDir, 'dist/index.js'))) as KitModule;
  const started = performance.now();
  const tandem = await kit.launchTandem({ rpcUrl: chain.rpcUrl, chainId: 31337 });
  let onboardMs: number;
  let verified = false;
  try {
    const page = await tandem.context.newPage();
    await page.goto(chain.dappUrl);
    const connecting = page.evaluate(() => (window as unknown as Requester).ethereum.request({ method: 'eth_requestAccounts' }));
    await tandem.connect();
    const accounts = (await connecting) as string[];
    if (accounts[0]?.toLowerCase() !== tandem.address.toLowerCase()) throw new Error(`the dapp got ${accounts.join(',')}, not ${tandem.address}`);
    onboardMs = performance.now() - started;
    const message = `kit bench ${Date.now()}`;
    const signing = page.evaluate(([hex, address]) => (window as unknown as Requester).ethereum.request({ method: 'personal_sign', params: [hex, address] }), [toHex(message), tandem.address] as const);
    await tandem.approve({ kind: 'message' });
    verified = (await recoverMessageAddress({ message, signature: (await signing) as `0x${string}` })) === tandem.address;
  } finally {
    await tandem.close();
  }
  return { onboardMs, testMs: performance.now() - started, verified };
}
