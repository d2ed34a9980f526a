import { build } from 'vite';
import { chromium } from '@playwright/test';
import http from 'node:http';
import fs from 'node:fs';

const root = '/work/main';
const EXT = '/tmp/tandem-ext';
fs.rmSync(EXT, { recursive: true, force: true });
fs.mkdirSync(EXT);
for (const name of ['provider', 'relay']) {
  const out = await build({ root, configFile: false, logLevel: 'warn', build: { write: false, emptyOutDir: false, lib: { entry: `${root}/src/content/${name}.ts`, formats: ['iife'], name: 'tandem_' + name, fileName: 'x' } } });
  fs.writeFileSync(`${EXT}/${name}.js`, (Array.isArray(out) ? out : [out])[0].output[0].code);
}
fs.writeFileSync(`${EXT}/manifest.json`, JSON.stringify({
  manifest_version: 3, name: 'relay smoke', version: '0.0.1',
  background: { service_worker: 'background.js', type: 'module' },
  content_scripts: [
    { matches: ['http://127.0.0.1/*'], js: ['relay.js'], run_at: 'document_start' },
    { matches: ['http://127.0.0.1/*'], js: ['provider.js'], run_at: 'document_start', world: 'MAIN' },
  ],
}));
fs.writeFileSync(`${EXT}/background.js`, `
const started = Date.now();
chrome.runtime.onConnect.addListener((port) => {
  port.onMessage.addListener((m) => {
    if (m.kind === 'resume') { for (const id of m.ids) port.postMessage({ kind: 'response', id, result: 'resumed by worker started ' + started }); return; }
    if (m.method === 'tandem_providerState') port.postMessage({ kind: 'response', id: m.id, result: { chainId: '0x7a69', networkVersion: '31337', accounts: [], isUnlocked: false } });
    else if (m.method === 'eth_chainId') port.postMessage({ kind: 'response', id: m.id, result: '0x7a69' });
    else if (m.method === 'hang') {}
    else if (m.method === 'reload') chrome.management.uninstallSelf({ showConfirmDialog: false });
    else port.postMessage({ kind: 'response', id: m.id, error: { code: 4200, message: 'no ' + m.method } });
  });
});`);

const server = http.createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>t</title><p>hi</p>'); }).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const url = `http://127.0.0.1:${server.address().port}/`;

const ctx = await chromium.launchPersistentContext('', { executablePath: '/usr/bin/chromium', headless: true, args: ['--disable-extensions-except=' + EXT, '--load-extension=' + EXT] });
const sw = ctx.serviceWorkers()[0] ?? await ctx.waitForEvent('serviceworker');
const page = await ctx.newPage();
page.on('console', (m) => console.log('console', m.type(), m.text()));
await page.goto(url);
const t0 = Date.now();
console.log('eth_chainId', await page.evaluate(() => window.ethereum.request({ method: 'eth_chainId' })), Date.now() - t0, 'ms');
console.log('connected', await page.evaluate(() => [window.ethereum.isConnected(), window.ethereum.chainId]));
console.log('6963', await page.evaluate(() => new Promise((r) => { window.addEventListener('eip6963:announceProvider', (e) => r(e.detail.info.rdns)); window.dispatchEvent(new Event('eip6963:requestProvider')); })));
await page.evaluate(() => { window.hung = window.ethereum.request({ method: 'hang' }).then((r) => ({ r }), (e) => ({ e: e.code + ' ' + e.message })); });
await new Promise((r) => setTimeout(r, 200));
const cdp = await ctx.newCDPSession(page);
await cdp.send('ServiceWorker.enable');
await cdp.send('ServiceWorker.stopAllWorkers');
console.log('after SW stop, hung request ->', await page.evaluate(() => window.hung));
const t1 = Date.now();
console.log('eth_chainId after restart', await page.evaluate(() => window.ethereum.request({ method: 'eth_chainId' })), Date.now() - t1, 'ms');
await page.evaluate(() => { window.hung2 = window.ethereum.request({ method: 'hang' }).then((r) => ({ r }), (e) => ({ e: e.code + ' ' + e.message })); window.discon = new Promise((r) => window.ethereum.on('disconnect', (e) => r(e.code + ' ' + e.message))); });
await page.evaluate(() => { window.ethereum.request({ method: 'reload' }).catch(() => {}); });
page.on('close', () => console.log('PAGE CLOSED')); ctx.on('close', () => console.log('CTX CLOSED')); page.on('crash', () => console.log('CRASH'));
await new Promise((r) => setTimeout(r, 1000)); console.log('pages', ctx.pages().length, page.isClosed());
console.log('after reload, pending ->', await page.evaluate(() => window.hung2));
console.log('disconnect event ->', await page.evaluate(() => window.discon));
console.log('later request ->', await page.evaluate(() => window.ethereum.request({ method: 'eth_chainId' }).then((r) => r, (e) => e.code + ' ' + e.message)));
await ctx.close();
server.close();
