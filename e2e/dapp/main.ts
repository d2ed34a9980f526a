/**
 * Tandem demo dapp: finds the wallet with EIP-6963 (never window.ethereum), then drives it with viem.
 * Also the page the end-to-end tests click through; they read `window.tandemDemo`.
 */
import { createPublicClient, createWalletClient, custom, defineChain, erc20Abi, getAddress, parseEther, parseUnits } from 'viem';
import { mailTypedData } from '../../src/client/testing/mail-typed-data.js';
import type { Address, EIP1193Provider } from 'viem';
import { hardhat } from 'viem/chains';

const TANDEM_RDNS = 'dev.tandem.wallet';

interface Eip6963ProviderInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

interface Eip6963ProviderDetail {
  info: Eip6963ProviderInfo;
  provider: EIP1193Provider;
}

interface RpcErrorSummary {
  code?: number;
  message: string;
  data?: unknown;
}

type Clients = ReturnType<typeof createClients>;

export interface TandemDemo {
  provider: EIP1193Provider | undefined;
  info: Eip6963ProviderInfo | undefined;
  events: { event: string; data: unknown }[];
  /** The raw provider call; never throws. */
  request(method: string, params?: unknown): Promise<{ result: unknown } | { error: RpcErrorSummary }>;
  walletClient: Clients['walletClient'] | undefined;
  publicClient: Clients['publicClient'] | undefined;
  /** Resolves once Tandem has announced itself and the page is wired to it. */
  ready: Promise<void>;
}

declare global {
  interface Window {
    tandemDemo: TandemDemo;
  }
}

function element<T extends HTMLElement>(testId: string): T {
  const found = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (!found) throw new Error(`The page has no [data-testid="${testId}"].`);
  return found;
}

/** Wallets may announce before or after this script runs, so listen first, then ask. */
function discoverTandem(): Promise<Eip6963ProviderDetail> {
  return new Promise((resolve) => {
    window.addEventListener('eip6963:announceProvider', (event) => {
      const detail = (event as CustomEvent<Eip6963ProviderDetail | undefined>).detail;
      if (detail?.info?.rdns === TANDEM_RDNS) resolve(detail);
    });
    window.dispatchEvent(new Event('eip6963:requestProvider'));
  });
}

function createClients(provider: EIP1193Provider) {
  // No chain on the wallet client: every action runs on whatever chain the wallet is on.
  const walletClient = createWalletClient({ transport: custom(provider) });
  // Reads also go through the wallet, which passes them to its current chain's RPC.
  const publicClient = createPublicClient({ chain: hardhat, transport: custom(provider) });
  return { walletClient, publicClient };
}

/** viem wraps what the wallet said; the innermost error with a numeric code is the wallet's own. */
function summariseError(error: unknown): RpcErrorSummary {
  let summary: RpcErrorSummary = { message: error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error) };
  let current: unknown = error;
  for (let depth = 0; depth < 10 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, message, data } = current as { code?: unknown; message?: unknown; data?: unknown };
    if (typeof code === 'number') summary = { code, message: String(message), ...(data === undefined ? {} : { data }) };
    current = (current as { cause?: unknown }).cause;
  }
  return summary;
}

function toText(value: unknown, indent = 2): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item), indent) ?? String(value);
}

function describeEvent(event: string, data: unknown): string {
  if (event === 'connect') return (data as { chainId?: string }).chainId ?? toText(data, 0);
  if (event === 'disconnect') {
    const { code, message } = summariseError(data);
    return `${code ?? ''} ${message}`.trim();
  }
  return toText(data, 0);
}

const result = element<HTMLPreElement>('result');
const status = element<HTMLParagraphElement>('status');
const inputValue = (testId: string): string => element<HTMLInputElement>(testId).value.trim();

function showResult(text: string, state: 'pending' | 'done' | 'error'): void {
  result.textContent = text;
  result.dataset.state = state;
}

let wired: (Clients & { provider: EIP1193Provider }) | undefined;

function connected(): Clients & { provider: EIP1193Provider } {
  if (!wired) throw new Error('Tandem was not found yet.');
  return wired;
}

async function currentAccount(): Promise<Address> {
  const [account] = await connected().walletClient.getAddresses();
  if (!account) throw new Error('Connect first.');
  return account;
}

async function currentChainId(): Promise<number> {
  return connected().walletClient.getChainId();
}

const actions: Record<string, () => Promise<unknown>> = {
  connect: async () => {
    const accounts = await connected().walletClient.requestAddresses();
    status.textContent = `Connected: ${accounts.join(', ')} on chain ${await currentChainId()}`;
    return accounts;
  },
  'sign-message': async () => connected().walletClient.signMessage({ account: await currentAccount(), message: 'Hello from the Tandem demo dapp!' }),
  'sign-typed-data': async () => {
    const account = await currentAccount();
    // The EIP-712 "Ether Mail" example, for the chain the wallet is on.
    return connected().walletClient.signTypedData({ account, ...mailTypedData({ chainId: await currentChainId(), contents: 'Meet me at the tandem bike.', from: account }) });
  },
  'send-eth': async () =>
    connected().walletClient.sendTransaction({
      account: await currentAccount(),
      to: getAddress(inputValue('recipient')),
      value: parseEther(inputValue('amount')),
      chain: null,
    }),
  'send-token': async () =>
    connected().walletClient.writeContract({
      account: await currentAccount(),
      address: getAddress(inputValue('token')),
      abi: erc20Abi,
      functionName: 'transfer',
      args: [getAddress(inputValue('recipient')), parseUnits(inputValue('amount'), 18)],
      chain: null,
    }),
  'switch-chain': async () => {
    await connected().walletClient.switchChain({ id: Number(inputValue('chain-id')) });
    return `switched to ${await currentChainId()}`;
  },
  'add-chain': async () => {
    const id = Number(inputValue('chain-id'));
    const chain = defineChain({
      id,
      name: id === hardhat.id ? 'Hardhat' : `Local chain ${id}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [inputValue('rpc-url')] } },
    });
    await connected().walletClient.addChain({ chain });
    return `added ${id}`;
  },
};

async function run(action: () => Promise<unknown>): Promise<void> {
  showResult('waiting for the wallet…', 'pending');
  try {
    showResult(toText(await action()), 'done');
  } catch (error) {
    const { code, message } = summariseError(error);
    showResult(code === undefined ? `error: ${message}` : `error ${code}: ${message}`, 'error');
  }
}

const events: TandemDemo['events'] = [];

function recordEvent(event: string, data: unknown): void {
  // Errors do not survive structured cloning to the test runner; keep their plain fields.
  const stored = event === 'disconnect' ? summariseError(data) : data;
  events.push({ event, data: stored });
  const item = document.createElement('li');
  item.textContent = `${event} ${describeEvent(event, data)}`;
  element<HTMLUListElement>('events').append(item);
}

function wire(demo: TandemDemo, { info, provider }: Eip6963ProviderDetail): void {
  wired = { provider, ...createClients(provider) };
  Object.assign(demo, { provider, info, walletClient: wired.walletClient, publicClient: wired.publicClient });
  for (const event of ['connect', 'disconnect', 'chainChanged', 'accountsChanged'] as const) {
    provider.on(event, (data: unknown) => recordEvent(event, data));
  }
  for (const [testId, action] of Object.entries(actions)) {
    const button = element<HTMLButtonElement>(testId);
    button.addEventListener('click', () => void run(action));
    button.disabled = false;
  }
  status.textContent = `Found ${info.name} (${info.rdns}).`;
}

const discovery = discoverTandem();

window.tandemDemo = {
  provider: undefined,
  info: undefined,
  events,
  walletClient: undefined,
  publicClient: undefined,
  ready: discovery.then((detail) => wire(window.tandemDemo, detail)),
  async request(method, params) {
    await window.tandemDemo.ready;
    try {
      const args = params === undefined ? { method } : { method, params };
      return { result: await (connected().provider.request as (args: unknown) => Promise<unknown>)(args) };
    } catch (error) {
      return { error: summariseError(error) };
    }
  },
};
