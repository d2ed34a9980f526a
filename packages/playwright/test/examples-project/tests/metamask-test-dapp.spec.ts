/**
 * MetaMask's own e2e dapp, @metamask/test-dapp (pinned in package.json), driven headless against Tandem through
 * @tandem-wallet/playwright: every flow an EVM wallet that is not MetaMask should support, on a hardhat chain.
 *
 * Its built `dist/` is served from a local static server. The dapp wires its buttons only when the provider says
 * `isMetaMask`; Tandem deliberately does not claim to be MetaMask, so this spec marks Tandem's provider object in the
 * page (see `markProviderAsMetaMask`). Nothing else in the dapp or the wallet is changed. Requests to anything but
 * 127.0.0.1 (fonts, CSS CDNs, WalletConnect) are aborted: the run needs no network.
 *
 * The flows run in order in one tab (one connection, contracts deployed earlier are used later). At the end a table
 * of the flows (passed / skipped and why) is printed.
 */
import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, type Tandem } from '@tandem-wallet/playwright';

const DAPP_DIST = join(dirname(createRequire(import.meta.url).resolve('@metamask/test-dapp/package.json')), 'dist');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** Where the test-dapp sends its ETH and tokens, and the spender it approves (constants of the dapp). */
const RECIPIENT = '0x0c54FcCd2e384b4BB6f2E405Bf5Cbc15a017AaFb';
const TOKEN_RECIPIENT = '0x2f318C334780961FB129D2a6c30D0763d9a5C970';
const SPENDER = '0x9bc5baF874d2DA8D216aE9f137804184EE5AfEF4';
/** The chain the dapp's "Add Localhost 8546" button adds (fixed in the dapp). */
const ADDED_CHAIN = { id: 1338, hex: '0x53a', port: 8546, name: 'Localhost 8546' };

// The kit starts hardhat (this project's own `hardhat` devDependency) on a free port, chain 31337, and funds the wallet.
test.use({ tandemOptions: { hardhat: true } });
test.describe.configure({ mode: 'serial' });

let server: Server;
let dappUrl: string;
let page: Page;
let rpcUrl: string;
/** The dapp's console lines and uncaught errors (its send buttons only log the hash, or throw). */
const consoleLines: string[] = [];
const pageErrors: string[] = [];
const results: { flow: string; result: string }[] = [];

function serveDist(): Promise<string> {
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(DAPP_DIST, path === '/' ? 'index.html' : path);
    if (!file.startsWith(DAPP_DIST) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)));
}

/** A JSON-RPC call to the hardhat node the wallet uses. */
async function rpc<T = any>(method: string, params: unknown[] = [], url = rpcUrl): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

async function receipt(hash: string) {
  await expect.poll(() => rpc('eth_getTransactionReceipt', [hash]), { timeout: 15_000 }).not.toBeNull();
  return rpc('eth_getTransactionReceipt', [hash]);
}

/** eth_call of a view function taking address/uint arguments, answered as a bigint. */
async function call(to: string, selector: string, ...args: (string | bigint)[]): Promise<bigint> {
  const data = selector + args.map((arg) => (typeof arg === 'bigint' ? arg.toString(16) : arg.slice(2).toLowerCase()).padStart(64, '0')).join('');
  return BigInt(await rpc<string>('eth_call', [{ to, data }, 'latest']));
}

/** The next transaction hash the dapp logs (its send buttons console.log the result). */
async function nextLoggedHash(after: number): Promise<string> {
  let hash: string | undefined;
  await expect
    .poll(() => (hash = consoleLines.slice(after).map((line) => /0x[0-9a-f]{64}/i.exec(line)?.[0]).find(Boolean)), { timeout: 30_000, message: 'the dapp logs the transaction hash' })
    .toBeTruthy();
  return hash!;
}

/** No approval window opens for a request Tandem refuses before asking the user. */
async function expectNoApprovalWindow(tandem: Tandem): Promise<void> {
  await expect(tandem.waitForApproval({ timeoutMs: 2_000 })).rejects.toThrow(/no approval window opened/);
}

/**
 * The test-dapp gates every button on `provider.isMetaMask` (`isMetaMaskInstalled()` in its src/index.js). Tandem does
 * not set it, on purpose; mark the provider object, before the dapp's `load` handler picks it (window.ethereum and the
 * EIP-6963 announcement are the same object).
 */
function markProviderAsMetaMask(): void {
  const mark = (provider: any) => {
    if (provider && provider.isTandem === true && !provider.isMetaMask) provider.isMetaMask = true;
  };
  window.addEventListener('eip6963:announceProvider', (event: any) => mark(event.detail?.provider), true);
  document.addEventListener('DOMContentLoaded', () => mark((window as any).ethereum));
}

function skipped(title: string, why: string) {
  test(title, () => test.skip(true, why));
}

test.beforeAll(async ({ tandem }) => {
  dappUrl = await serveDist();
  rpcUrl = tandem.rpcUrl;
  expect(tandem.chainId).toBe(31337);
  expect(BigInt(await rpc<string>('eth_getBalance', [tandem.address, 'latest']))).toBeGreaterThan(0n);
  page = await tandem.context.newPage();
  await page.route(/^(?!https?:\/\/127\.0\.0\.1[:/])[a-z]+:\/\//, (route) => route.abort());
  page.on('console', (message) => consoleLines.push(message.text()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.addInitScript(markProviderAsMetaMask);
});

test.afterEach(async ({}, testInfo) => {
  const why = testInfo.annotations.find((annotation) => annotation.type === 'skip')?.description;
  results.push({ flow: testInfo.title, result: testInfo.status === 'skipped' ? `skipped: ${why ?? ''}` : testInfo.status === testInfo.expectedStatus ? 'passed' : `FAILED (${testInfo.status})` });
});

test.afterAll(async () => {
  await page?.close().catch(() => undefined);
  if (server) {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
  const width = Math.max(...results.map((row) => row.flow.length), 4);
  console.log(['', `${'flow'.padEnd(width)} | result`, `${'-'.repeat(width)}-|-------`, ...results.map((row) => `${row.flow.padEnd(width)} | ${row.result}`)].join('\n'));
});

test('EIP-6963: the dapp finds Tandem', async () => {
  await page.goto(dappUrl);
  await expect(page.locator('#activeProviderName')).toHaveText('Tandem');
  await expect(page.locator('#providers')).toContainText('dev.tandem.wallet');
  await expect(page.locator('#chainId')).toHaveText('0x7a69');
  await expect(page.locator('#network')).toHaveText('31337');
  await expect(page.locator('#connectButton')).toHaveText('Connect');
});

test('connect (eth_requestAccounts)', async ({ tandem }) => {
  await page.click('#connectButton');
  const shown = await tandem.waitForApproval({ kind: 'connect' });
  expect(shown.origin).toContain('127.0.0.1');
  await tandem.connect();
  await expect(page.locator('#accounts')).toHaveText(new RegExp(`^${tandem.address}$`, 'i'));
  await expect(page.locator('#connectButton')).toHaveText('Connected');
  await page.click('#getAccounts');
  await expect(page.locator('#getAccountsResult')).toHaveText(new RegExp(`^${tandem.address}$`, 'i'));
});

test('permissions (wallet_getPermissions / wallet_revokePermissions / wallet_requestPermissions)', async ({ tandem }) => {
  await page.click('#getPermissions');
  await expect(page.locator('#permissionsResult')).toHaveText('eth_accounts');
  await page.click('#revokeAccountsPermission');
  await expect(page.locator('#accounts')).toHaveText('');
  await expect(page.locator('#connectButton')).toHaveText('Connect');
  await page.click('#requestPermissions');
  const shown = await tandem.waitForApproval({ kind: 'connect' });
  expect(shown.origin).toContain('127.0.0.1');
  await tandem.approve({ kind: 'connect' });
  await expect(page.locator('#permissionsResult')).toHaveText('eth_accounts');
  await expect(page.locator('#accounts')).toHaveText(new RegExp(`^${tandem.address}$`, 'i'));
  // Connected: asked again, the permission is answered at once (no window).
  await page.click('#getPermissions');
  await expect(page.locator('#permissionsResult')).toHaveText('eth_accounts');
});

test('personal_sign and verify', async ({ tandem }) => {
  await page.click('#personalSign');
  const shown = await tandem.waitForApproval({ kind: 'message' });
  expect(shown.fields['message-text']).toBe('Example `personal_sign` message');
  await tandem.approve({ kind: 'message' });
  await expect(page.locator('#personalSignResult')).toHaveText(/^0x[0-9a-f]{130}$/i, { timeout: 30_000 });
  const logged = consoleLines.length;
  await page.click('#personalSignVerify');
  // personal_ecRecover answers the signer spelled as eth_accounts spells it (EIP-55), so the dapp's === holds.
  await expect(page.locator('#personalSignVerifyECRecoverResult')).toHaveText(tandem.address);
  // The dapp's own eth-sig-util recovery gives the same address in lowercase and compares it with === to the
  // account Tandem returned (checksummed; MetaMask returns lowercase): the span stays empty and the dapp logs both.
  await expect
    .poll(() => consoleLines.slice(logged).find((line) => line.startsWith('SigUtil ')), { message: 'the dapp logs its eth-sig-util recovery' })
    .toBe(`SigUtil Failed to verify signer when comparing ${tandem.address.toLowerCase()} to ${tandem.address}`);
  await expect(page.locator('#personalSignVerifySigUtilResult')).toHaveText('');
});

test('eth_signTypedData_v4 and verify', async ({ tandem }) => {
  await page.click('#signTypedDataV4');
  const shown = await tandem.waitForApproval({ kind: 'typedData' });
  expect(shown.fields['typed-data-primary-type']).toBe('Mail');
  expect(shown.fields['typed-data-domain']).toContain('Ether Mail');
  expect(shown.fields['typed-data-domain']).toContain('31337');
  expect(shown.fields['typed-data-message']).toContain('Hello, Bob!');
  await tandem.approve({ kind: 'typedData' });
  await expect(page.locator('#signTypedDataV4Result')).toHaveText(/^0x[0-9a-f]{130}$/i, { timeout: 30_000 });
  await page.click('#signTypedDataV4Verify');
  await expect(page.locator('#signTypedDataV4VerifyResult')).toHaveText(new RegExp(`^${tandem.address}$`, 'i'));
});

test('eth_sendTransaction legacy (type 0x0, gasPrice)', async ({ tandem }) => {
  // The dapp's button: type 0x0, gasLimit 21000, gasPrice 10 gwei. Signed and mined as a legacy transaction.
  await expect(page.locator('#sendButton')).toHaveText('Send Legacy Transaction');
  const logged = consoleLines.length;
  await page.click('#sendButton');
  const shown = await tandem.waitForApproval({ kind: 'transaction' });
  expect(shown.fields['tx-to']).toBe(RECIPIENT);
  expect(shown.fields['tx-gas']).toBe('21000');
  expect(shown.fields['tx-gas-price']).toBe('10 gwei');
  expect(shown.fields['tx-max-fee-per-gas']).toBeUndefined();
  // Hardhat estimates 21001 for a plain transfer; the site's 21000 runs, so no out-of-gas warning.
  expect(shown.fields['tx-simulation']).toMatch(/^Succeeds/);
  await tandem.approve({ kind: 'transaction' });
  const hash = await nextLoggedHash(logged);
  const mined = await receipt(hash);
  expect(mined.status).toBe('0x1');
  expect(mined.type).toBe('0x0');
  const tx = await rpc('eth_getTransactionByHash', [hash]);
  expect(tx.gasPrice).toBe('0x2540be400');
  expect(tx.maxFeePerGas).toBeUndefined();
});

test('eth_sendTransaction EIP-1559', async ({ tandem }) => {
  for (const button of ['#sendEIP1559Button', '#sendEIP1559WithoutGasButton']) {
    const logged = consoleLines.length;
    await page.click(button);
    const shown = await tandem.waitForApproval({ kind: 'transaction' });
    expect(shown.fields['tx-to']).toBe(RECIPIENT);
    expect(shown.fields['tx-value']).toBe('0 ETH');
    if (button === '#sendEIP1559Button') {
      expect(shown.fields['tx-gas']).toBe('21000');
      expect(shown.fields['tx-max-fee-per-gas']).toBe('10 gwei');
      expect(shown.fields['tx-max-priority-fee-per-gas']).toBe('1 gwei');
    } else {
      // No gas and no fees from the dapp: Tandem estimates them.
      expect(Number(shown.fields['tx-gas'])).toBeGreaterThanOrEqual(21_000);
      expect(shown.fields['tx-simulation']).toMatch(/^Succeeds/);
    }
    await tandem.approve({ kind: 'transaction' });
    const hash = await nextLoggedHash(logged);
    const mined = await receipt(hash);
    expect(mined.status).toBe('0x1');
    expect(mined.type).toBe('0x2');
    expect(mined.to.toLowerCase()).toBe(RECIPIENT.toLowerCase());
  }
});

let token: string;

test('ERC-20 deploy, transfer, approve', async ({ tandem }) => {
  await page.click('#createToken');
  const deploy = await tandem.waitForApproval({ kind: 'transaction' });
  expect(deploy.fields['tx-to']).toBe('New contract (deployment)');
  await tandem.approve({ kind: 'transaction' });
  await expect(page.locator('#erc20TokenAddresses')).toHaveText(/^0x[0-9a-fA-F]{40}$/, { timeout: 30_000 });
  token = (await page.locator('#erc20TokenAddresses').innerText()).trim();
  expect(await rpc('eth_getCode', [token, 'latest'])).not.toBe('0x');
  // 10 TST with 4 decimals, minted to the deployer.
  expect(await call(token, '0x70a08231', tandem.address)).toBe(100_000n);

  await page.click('#transferTokens');
  const transfer = await tandem.waitForApproval({ kind: 'transaction' });
  expect(transfer.fields['tx-to'].toLowerCase()).toBe(token.toLowerCase());
  expect(transfer.fields['decoded-call']).toContain('Token transfer: 1.5 TST to 0x2f31…C970');
  expect(transfer.fields['tx-simulation']).toMatch(/^Succeeds/);
  await tandem.approve({ kind: 'transaction' });
  await expect.poll(() => call(token, '0x70a08231', TOKEN_RECIPIENT), { timeout: 30_000 }).toBe(15_000n);

  await page.click('#approveTokens');
  const approve = await tandem.waitForApproval({ kind: 'transaction' });
  expect(approve.fields['decoded-call']).toContain('Token approval: 0x9bc5…fEF4 may spend 7 TST');
  expect(approve.fields['tx-simulation']).toMatch(/^Succeeds/);
  await tandem.approve({ kind: 'transaction' });
  await expect.poll(() => call(token, '0xdd62ed3e', tandem.address, SPENDER), { timeout: 30_000 }).toBe(70_000n);
  await page.fill('#allowanceOwner', tandem.address);
  await page.fill('#allowanceSpender', SPENDER);
  await page.click('#getAllowance');
  await expect(page.locator('#allowanceAmountResult')).toHaveText('7.0000');
});

test('ERC-721 deploy, mint, transfer', async ({ tandem }) => {
  await page.click('#deployNFTsButton');
  const deploy = await tandem.waitForApproval({ kind: 'transaction' });
  expect(deploy.fields['tx-to']).toBe('New contract (deployment)');
  await tandem.approve({ kind: 'transaction' });
  await expect(page.locator('#nftsStatus')).toHaveText('Deployed', { timeout: 30_000 });
  const nfts = (await page.locator('#erc721TokenAddresses').innerText()).trim();
  expect(nfts).toMatch(/^0x[0-9a-fA-F]{40}$/);

  await page.click('#mintButton');
  const mint = await tandem.waitForApproval({ kind: 'transaction' });
  expect(mint.fields['tx-to'].toLowerCase()).toBe(nfts.toLowerCase());
  await tandem.approve({ kind: 'transaction' });
  await expect(page.locator('#nftsStatus')).toHaveText('Mint completed', { timeout: 30_000 });
  expect(await call(nfts, '0x6352211e', 1n)).toBe(BigInt(tandem.address));

  await page.click('#transferFromButton');
  const transfer = await tandem.waitForApproval({ kind: 'transaction' });
  expect(transfer.fields['tx-to'].toLowerCase()).toBe(nfts.toLowerCase());
  // The ERC-721 transferFrom has the ERC-20 selector: shown as the call, without a token amount.
  expect(transfer.fields['decoded-call']).toContain('transferFrom(address,address,uint256)');
  expect(transfer.fields['tx-simulation']).toMatch(/^Succeeds/);
  await tandem.approve({ kind: 'transaction' });
  await expect(page.locator('#nftsStatus')).toHaveText('Transfer From completed', { timeout: 30_000 });
  expect(await call(nfts, '0x6352211e', 1n)).toBe(BigInt(TOKEN_RECIPIENT));
});

test('malformed transactions: a clear error, no window', async ({ tandem }) => {
  const cases: [string, RegExp][] = [
    ['#sendWithInvalidValue', /^Error: Invalid params: eth_sendTransaction value must be a 0x-prefixed hex quantity like "0x1a", got "invalid"\.$/],
    ['#sendWithInvalidTxType', /^Error: Invalid params: eth_sendTransaction type 0x5 is not supported: Tandem signs legacy \(0x0\) and EIP-1559 \(0x2\) transactions; leave type out or send one of those\.$/],
    ['#sendWithInvalidRecipient', /^Error: Invalid params: eth_sendTransaction to is not a valid address: expected 0x followed by 40 hex digits, got "invalid"\.$/],
    ['#sendWithInvalidGasLimit', /^Error: Invalid params: eth_sendTransaction gasLimit must be a 0x-prefixed hex quantity like "0x1a", got "invalid"\.$/],
    ['#sendWithInvalidMaxFeePerGas', /^Error: Invalid params: eth_sendTransaction maxFeePerGas must be a 0x-prefixed hex quantity like "0x1a", got "invalid"\.$/],
  ];
  for (const [button, message] of cases) {
    await page.locator('#sendMalformedResult').evaluate((element) => (element.textContent = ''));
    await page.click(button);
    await expect(page.locator('#sendMalformedResult'), button).toHaveText(message, { timeout: 5_000 });
  }
  await expectNoApprovalWindow(tandem);
});

test('refused on purpose: eth_sign, eth_getEncryptionPublicKey', async ({ tandem }) => {
  await page.click('#ethSign');
  await expect(page.locator('#ethSign')).toHaveText('Error: eth_sign: refused: it signs an arbitrary hash the user cannot read. Use personal_sign or eth_signTypedData_v4.');
  await page.click('#getEncryptionKeyButton');
  await expect(page.locator('#encryptionKeyDisplay')).toHaveText('Error: eth_getEncryptionPublicKey: Tandem does not support this method.');
  await expectNoApprovalWindow(tandem);
});

test('add chain, switch chain (wallet_addEthereumChain / wallet_switchEthereumChain)', async ({ tandem }) => {
  // The dapp adds http://127.0.0.1:8546, chain 1338; Tandem checks the node's chain id before adding it.
  const addedChain = await startAddedChain();
  try {
    await page.click('#addEthereumChain');
    const shown = await tandem.waitForApproval({ kind: 'addChain' });
    expect(shown.fields['chain-id']).toBe(String(ADDED_CHAIN.id));
    expect(shown.fields['chain-name']).toBe(ADDED_CHAIN.name);
    expect(shown.fields['chain-rpc-url']).toBe(`http://127.0.0.1:${ADDED_CHAIN.port}`);
    expect(shown.fields['chain-currency']).toContain('TEST');
    await tandem.approve({ kind: 'addChain' });
    await expect(page.locator('#chainId')).toHaveText(ADDED_CHAIN.hex);

    await tandem.switchChain(31337);
    await expect(page.locator('#chainId')).toHaveText('0x7a69');
    await page.click('#switchEthereumChain'); // a chain the wallet has: no window
    await expect(page.locator('#chainId')).toHaveText(ADDED_CHAIN.hex);
    await expectNoApprovalWindow(tandem);
  } finally {
    await tandem.switchChain(31337);
    await expect(page.locator('#chainId')).toHaveText('0x7a69');
    await addedChain.close();
  }
});

skipped('eth_decrypt', 'Tandem refuses eth_getEncryptionPublicKey (above) and eth_decrypt on purpose: no encryption key is derived from the wallet key.');
skipped('eth_signTypedData v1 / v3, eth_sign permits', 'Tandem signs typed data as eth_signTypedData_v4 only (v1/v3 answer 4200 "use eth_signTypedData_v4").');
skipped('ERC-1155', 'not driven here: the same plain contract calls as ERC-721 (Tandem decodes ERC-20 calls only).');
skipped('wallet_watchAsset ERC-721 (NFTs)', 'Tandem watches ERC-20 tokens only (EIP-747 type ERC20).');
skipped('SDK Connect / WalletConnect', 'other connectors than the injected provider; they need MetaMask Mobile or a relay on the network.');
skipped('PPOM / malicious requests, Snaps, swaps, deeplinks', 'MetaMask-only features (security alerts on mainnet contracts, Snaps, MetaMask swaps, MetaMask Mobile links).');

/**
 * A real hardhat node for chain 1338 on the dapp's fixed port (its "Add chain" button names 127.0.0.1:8546), from this
 * project's hardhat, as the kit's own nodes are. A taken port fails the test with that reason.
 */
async function startAddedChain(): Promise<{ close(): Promise<void> }> {
  const config = join(mkdtempSync(join(tmpdir(), 'test-dapp-chain-')), 'hardhat.config.cjs');
  writeFileSync(config, `module.exports = { networks: { hardhat: { chainId: ${ADDED_CHAIN.id} } } };\n`);
  const bootstrap = createRequire(join(process.cwd(), 'package.json')).resolve('hardhat/internal/cli/bootstrap.js');
  const node = spawn(process.execPath, [bootstrap, '--config', config, 'node', '--hostname', '127.0.0.1', '--port', String(ADDED_CHAIN.port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' } });
  let output = '';
  node.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  node.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()));
  const close = async () => {
    if (node.exitCode === null && node.signalCode === null) node.kill('SIGTERM');
    await exited;
    rmSync(dirname(config), { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const chainId = await fetch(`http://127.0.0.1:${ADDED_CHAIN.port}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) })
      .then(async (response) => ((await response.json()) as { result?: string }).result)
      .catch(() => undefined);
    if (chainId === ADDED_CHAIN.hex) return { close };
    if (chainId !== undefined || node.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`no hardhat node for chain ${ADDED_CHAIN.id} on port ${ADDED_CHAIN.port} (the dapp's fixed port${chainId ? `, taken by a node of chain ${chainId}` : ''}): ${output.slice(-800)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
