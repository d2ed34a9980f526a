/**
 * The extension in headless Chromium against a real local stack (co-signer on its embedded
 * broker, hardhat 2, the demo dapp):
 *   sw_cold_start_ms         service worker stopped -> first provider answer (eth_chainId) in the page
 *   rpc_roundtrip_ms         eth_chainId from the page, worker warm
 *   approve_to_signature_ms  personal_sign: click on Approve -> the dapp holds the signature
 *   unlock_ms                the password KDF plus opening the vault, in the worker
 *   bundle_kb                gzipped size per entry point
 *   kit_onboard_ms, kit_test_overhead_ms   the dapp-test kit (see kit-session.ts)
 *
 *   npm run bench:extension             human table
 *   npm run bench:extension -- --json   one JSON line of medians (progress on stderr)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { recoverMessageAddress, toHex } from 'viem';
import type { Page } from '@playwright/test';
import { buildExtension } from '../scripts/build-extension.js';
import { startStack } from '../e2e/stack/stack.js';
import { answerApproval, launchWithTandem, nextApproval, onboard, stopServiceWorker } from '../e2e/tandem.js';
import { buildKit, measureKitSession } from './kit-session.js';

const json = process.argv.includes('--json');
const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 15);
const ROUNDTRIPS = 60;
const SIGNATURES = Number(process.env.BENCH_SIGNATURES ?? 12);
const KIT_SESSIONS = Number(process.env.BENCH_KIT_SESSIONS ?? 3);

const progress = (line: string) => process.stderr.write(`bench:extension: ${line}\n`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (value: number) => Math.round(value * 100) / 100;

type Demo = { tandemDemo: { provider: { request(args: { method: string; params?: unknown }): Promise<unknown> }; ready: Promise<void> } };

/** Timed inside the page: what a dapp waits for. */
function timedChainId(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const started = performance.now();
    await (window as unknown as Demo).tandemDemo.provider.request({ method: 'eth_chainId' });
    return performance.now() - started;
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-ext-'));
progress('building and starting the stack');
const { dappDir } = await buildExtension({ outDir: join(dir, 'dapp-build'), defaults: {} });
const stack = await startStack({ dataDir: dir, dappDir, cosigner: { env: { TANDEM_MASTER_KEY: '42'.repeat(32) }, log: () => undefined } });
try {
  const { chromeDir } = await buildExtension({
    outDir: join(dir, 'build'),
    dapp: false,
    defaults: { cosignerUrl: stack.cosigner.url, chains: [{ id: 31337, name: 'Hardhat', rpcUrl: stack.chain.url, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }] },
  });
  const tandem = await launchWithTandem({ userDataDir: join(dir, 'profile'), extensionDir: chromeDir, spkiHash: stack.cosigner.spkiHash });
  try {
    progress('onboarding a wallet');
    const wallet = await onboard(tandem, { password: 'bench password 1', cosignerUrl: stack.cosigner.url, saveDir: dir });
    const dapp = await tandem.context.newPage();
    await dapp.goto(stack.dapp.url);
    await dapp.evaluate(() => (window as unknown as Demo).tandemDemo.ready);
    await answerApproval(tandem, () => dapp.evaluate(() => void (window as unknown as Demo).tandemDemo.provider.request({ method: 'eth_requestAccounts' })), 'approve');
    await dapp.waitForFunction(async () => ((await (window as unknown as Demo).tandemDemo.provider.request({ method: 'eth_accounts' })) as string[]).length === 1);

    progress(`cold starts x${COLD_STARTS}`);
    const coldStarts: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      await stopServiceWorker(tandem, dapp);
      // Let the kill land: the next message must find no worker.
      await new Promise((resolve) => setTimeout(resolve, 300));
      coldStarts.push(await timedChainId(dapp));
    }

    progress(`eth_chainId round trips x${ROUNDTRIPS}`);
    const roundTrips: number[] = [];
    for (let i = 0; i < ROUNDTRIPS; i++) roundTrips.push(await timedChainId(dapp));

    progress(`personal_sign approvals x${SIGNATURES}`);
    const approvals: number[] = [];
    let verified = 0;
    for (let i = 0; i < SIGNATURES; i++) {
      // The pool refills between signatures, as it does while a user reads the next popup.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const message = `bench ${i} ${Date.now()}`;
      const popupOpened = nextApproval(tandem);
      await dapp.evaluate(
        ([hex, address]) => {
          const page = window as unknown as Demo & { benchResult?: { signature: string; at: number } };
          page.benchResult = undefined;
          void page.tandemDemo.provider.request({ method: 'personal_sign', params: [hex, address] }).then((signature) => {
            page.benchResult = { signature: signature as string, at: performance.timeOrigin + performance.now() };
          });
        },
        [toHex(message), wallet.address] as const,
      );
      const popup = await popupOpened;
      const approve = popup.getByTestId('approve');
      await approve.waitFor();
      await popup.evaluate(() => {
        document.querySelector('[data-testid="approve"]')!.addEventListener('click', () => ((window as unknown as { clickedAt: number }).clickedAt = performance.timeOrigin + performance.now()), { capture: true });
      });
      await approve.click();
      const clickedAt = await popup.evaluate(() => (window as unknown as { clickedAt: number }).clickedAt).catch(() => undefined);
      const result = (await dapp.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, undefined, { timeout: 60_000 }).then((handle) => handle.jsonValue())) as {
        signature: `0x${string}`;
        at: number;
      };
      if ((await recoverMessageAddress({ message, signature: result.signature })) === wallet.address) verified++;
      if (clickedAt !== undefined) approvals.push(result.at - clickedAt);
    }

    progress('unlock (scrypt N=2^17, r=8) x3');
    const extensionPage = await tandem.context.newPage();
    await extensionPage.goto(tandem.popupUrl('/'));
    const unlocks: number[] = [];
    for (let i = 0; i < 3; i++) {
      unlocks.push(
        // No helper functions inside: tsx would wrap them in a __name() the page does not have.
        await extensionPage.evaluate(async (password) => {
          const runtime = (globalThis as unknown as { chrome: { runtime: { sendMessage(m: unknown): Promise<{ ok: boolean }> } } }).chrome.runtime;
          await runtime.sendMessage({ kind: 'popup', action: 'lock' });
          const started = performance.now();
          const reply = await runtime.sendMessage({ kind: 'popup', action: 'unlock', password });
          if (!reply.ok) throw new Error('unlock failed');
          return performance.now() - started;
        }, wallet.password),
      );
    }
    await extensionPage.close();

    progress(`the dapp-test kit: launch, connect, one signature x${KIT_SESSIONS}`);
    buildKit();
    const kitOnboards: number[] = [];
    const kitTests: number[] = [];
    let kitVerified = 0;
    for (let i = 0; i < KIT_SESSIONS; i++) {
      const kit = await measureKitSession({ rpcUrl: stack.chain.url, dappUrl: stack.dapp.url });
      kitOnboards.push(kit.onboardMs);
      kitTests.push(kit.testMs);
      if (kit.verified) kitVerified++;
    }

    const bundle: Record<string, number> = {};
    const gzipKb = (path: string) => round(gzipSync(readFileSync(path)).length / 1024);
    bundle.background = gzipKb(join(chromeDir, 'background.js'));
    bundle.content_provider = gzipKb(join(chromeDir, 'content/provider.js'));
    bundle.content_relay = gzipKb(join(chromeDir, 'content/relay.js'));
    bundle.popup = round(
      readdirSync(join(chromeDir, 'popup-assets'))
        .filter((file) => /\.(js|css)$/.test(file))
        .reduce((total, file) => total + gzipKb(join(chromeDir, 'popup-assets', file)), 0),
    );

    const result = {
      sw_cold_start_ms: round(median(coldStarts)),
      rpc_roundtrip_ms: round(median(roundTrips)),
      approve_to_signature_ms: round(median(approvals)),
      approve_samples: approvals.length,
      unlock_ms: round(median(unlocks)),
      signatures_verified: verified,
      cold_start_samples: coldStarts.length,
      kit_onboard_ms: round(median(kitOnboards)),
      kit_test_overhead_ms: round(median(kitTests)),
      kit_samples: kitOnboards.length,
      kit_signatures_verified: kitVerified,
      bundle_kb: bundle,
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      console.table({
        'service worker cold start -> first answer (ms)': { median: result.sw_cold_start_ms, floor: '<= 150' },
        'eth_chainId round trip (ms)': { median: result.rpc_roundtrip_ms, floor: '' },
        'Approve click -> signature in the dapp (ms)': { median: result.approve_to_signature_ms, floor: '<= 150' },
        'unlock: scrypt N=2^17 r=8 + vault open (ms)': { median: result.unlock_ms, floor: '' },
        'kit: launchTandem -> connected dapp (ms)': { median: result.kit_onboard_ms, floor: '<= 5000' },
        'kit: one-signature dapp test, end to end (ms)': { median: result.kit_test_overhead_ms, floor: '' },
      });
      console.table(Object.fromEntries(Object.entries(bundle).map(([entry, kb]) => [entry, { 'gzipped KB': kb }])));
      console.log(`${verified}/${SIGNATURES} signatures verified with viem against ${wallet.address}`);
    }
  } finally {
    await tandem.close();
  }
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
