import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/** Bundles dapp/<name>.ts (as the dapp's own build would) into a page with every button the specs click, and serves it. */
export async function serveDapp(name: 'ethers-dapp' | 'viem-dapp'): Promise<ServedPage> {
  const bundle = await build({ entryPoints: [fileURLToPath(new URL(`../dapp/${name}.ts`, import.meta.url))], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', write: false, logLevel: 'warning' });
  const script = bundle.outputFiles[0]!.text;
  const ids = ['account', 'chain', 'recovered', 'typed-valid', 'tx-hash', 'receipt-status', 'error'];
  const html = `<!doctype html><meta charset="utf-8"><title>${name}</title>
    ${['connect', 'sign', 'sign-typed', 'send'].map((id) => `<button id="${id}">${id}</button>`).join('\n')}
    ${ids.map((id) => `<p>${id}: <span id="${id}"></span></p>`).join('\n')}
    <script type="module" src="/dapp.js"></script>`;
  return servePage(html, { '/dapp.js': script });
}

/** Serves `html` at every path but the given scripts', on a free port of 127.0.0.1. */
export async function servePage(html: string, scripts: Record<string, string> = {}): Promise<ServedPage> {
  const server: Server = createServer((request, response) => {
    const script = scripts[request.url ?? ''];
    if (script !== undefined) response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else response.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      // The browser keeps its connections open; close() alone would wait for them.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
