import { describe, expect, it } from 'vitest';
import type { BackgroundToRelay, ProviderState, RpcRequestMessage } from '../background/api.js';
import { ProviderRpcError } from './provider-rpc-error.js';
import { createTandemProvider, PROVIDER_STATE_METHOD } from './tandem-provider.js';
import type { ProviderTransport, RequestArguments } from './tandem-provider.js';

const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const BOB = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const STATE: ProviderState = { chainId: '0x7a69', networkVersion: '31337', accounts: [], isUnlocked: true };

function setup() {
  const sent: RpcRequestMessage[] = [];
  let listener: ((message: BackgroundToRelay) => void) | undefined;
  const transport: ProviderTransport = {
    send: (message) => sent.push(message),
    subscribe: (l) => {
      listener = l;
    },
  };
  let counter = 0;
  const listenerErrors: unknown[] = [];
  const provider = createTandemProvider(transport, { newId: () => `id-${(counter += 1)}`, onListenerError: (e) => listenerErrors.push(e) });
  const deliver = (message: BackgroundToRelay): void => listener!(message);
  const lastSent = (): RpcRequestMessage => sent.at(-1)!;
  const answer = (result: unknown, id = lastSent().id): void => deliver({ kind: 'response', id, result });
  const recorded: { event: string; data: unknown }[] = [];
  for (const event of ['connect', 'disconnect', 'chainChanged', 'accountsChanged']) provider.on(event, (data: unknown) => recorded.push({ event, data }));
  return { provider, sent, deliver, lastSent, answer, recorded, listenerErrors };
}

/** Answers the start-up tandem_providerState and waits for it to land. */
async function started(state: ProviderState = STATE) {
  const s = setup();
  expect(s.sent[0]?.method).toBe(PROVIDER_STATE_METHOD);
  s.answer(state, s.sent[0]!.id);
  await Promise.resolve();
  await Promise.resolve();
  return s;
}

async function rejection(promise: Promise<unknown>): Promise<ProviderRpcError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderRpcError);
    return error as ProviderRpcError;
  }
  throw new Error('expected the request to reject');
}

describe('createTandemProvider', () => {
  it('asks for the wallet state at start and emits connect with the chain id', async () => {
    const { provider, recorded } = await started({ ...STATE, accounts: [ALICE] });
    expect(recorded).toEqual([{ event: 'connect', data: { chainId: '0x7a69' } }]);
    expect(provider.isConnected()).toBe(true);
    expect(provider.chainId).toBe('0x7a69');
    expect(provider.networkVersion).toBe('31337');
    expect(provider.selectedAddress).toBe(ALICE);
    expect(provider.isTandem).toBe(true);
    expect('isMetaMask' in provider).toBe(false);
  });

  it('stays disconnected when the state request fails', async () => {
    const { provider, sent, deliver, recorded } = setup();
    deliver({ kind: 'response', id: sent[0]!.id, error: { code: -32603, message: 'boom' } });
    await Promise.resolve();
    expect(provider.isConnected()).toBe(false);
    expect(recorded).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['no argument', undefined],
    ['a string', 'eth_chainId'],
    ['an array', [{ method: 'eth_chainId' }]],
    ['a numeric method', { method: 1 }],
    ['an empty method', { method: '' }],
    ['string params', { method: 'eth_call', params: 'x' }],
    ['bigint params', { method: 'eth_call', params: [1n] }],
  ])('rejects %s with -32602 and sends nothing', async (_name, args) => {
    const { provider, sent } = await started();
    const error = await rejection(provider.request(args as RequestArguments));
    expect(error.code).toBe(-32602);
    expect(sent).toHaveLength(1);
  });

  it('sends a request with a fresh id and resolves with the answer for that id only', async () => {
    const { provider, sent, answer } = await started();
    const first = provider.request({ method: 'eth_blockNumber' });
    const second = provider.request({ method: 'eth_getBalance', params: [ALICE, 'latest'] });
    expect(sent.slice(1)).toEqual([
      { kind: 'rpc', id: 'id-2', method: 'eth_blockNumber' },
      { kind: 'rpc', id: 'id-3', method: 'eth_getBalance', params: [ALICE, 'latest'] },
    ]);
    answer('0x10', 'id-3');
    answer('0x5', 'id-2');
    await expect(first).resolves.toBe('0x5');
    await expect(second).resolves.toBe('0x10');
  });

  it('rejects with a ProviderRpcError carrying the code, message and data from the wallet', async () => {
    const { provider, lastSent, deliver } = await started();
    const pending = provider.request({ method: 'personal_sign', params: ['0x00', ALICE] });
    deliver({ kind: 'response', id: lastSent().id, error: { code: 4001, message: 'User rejected the request.', data: { why: 'clicked reject' } } });
    const error = await rejection(pending);
    expect(error.code).toBe(4001);
    expect(error.message).toBe('User rejected the request.');
    expect(error.data).toEqual({ why: 'clicked reject' });
  });

  it('re-emits chainChanged from the wallet only when the chain really changes, and updates the legacy fields', async () => {
    const { provider, deliver, recorded } = await started();
    deliver({ kind: 'event', event: 'chainChanged', data: '0x7a69' });
    deliver({ kind: 'event', event: 'chainChanged', data: '0x89' });
    deliver({ kind: 'event', event: 'chainChanged', data: 'polygon' });
    expect(recorded.slice(1)).toEqual([{ event: 'chainChanged', data: '0x89' }]);
    expect(provider.chainId).toBe('0x89');
    expect(provider.networkVersion).toBe('137');
  });

  it('emits accountsChanged only on an actual change, ignoring letter case', async () => {
    const { provider, deliver, recorded } = await started({ ...STATE, accounts: [ALICE] });
    deliver({ kind: 'event', event: 'accountsChanged', data: [ALICE.toLowerCase()] });
    deliver({ kind: 'event', event: 'accountsChanged', data: [BOB] });
    deliver({ kind: 'event', event: 'accountsChanged', data: [BOB] });
    deliver({ kind: 'event', event: 'accountsChanged', data: [] });
    expect(recorded.slice(1)).toEqual([
      { event: 'accountsChanged', data: [BOB] },
      { event: 'accountsChanged', data: [] },
    ]);
    expect(provider.selectedAddress).toBeNull();
  });

  it('treats an eth_requestAccounts answer as an accounts change, so the later event is not repeated', async () => {
    const { provider, answer, deliver, recorded } = await started();
    const accounts = provider.request({ method: 'eth_requestAccounts' });
    answer([ALICE]);
    await expect(accounts).resolves.toEqual([ALICE]);
    deliver({ kind: 'event', event: 'accountsChanged', data: [ALICE] });
    expect(recorded.slice(1)).toEqual([{ event: 'accountsChanged', data: [ALICE] }]);
    expect(provider.selectedAddress).toBe(ALICE);
  });

  it('on the relay\u2019s 4900 disconnect rejects every pending request, emits disconnect, and fails later requests at once', async () => {
    const { provider, sent, deliver, recorded } = await started();
    const a = provider.request({ method: 'personal_sign', params: ['0x00', ALICE] });
    const b = provider.request({ method: 'eth_chainId' });
    const body = { code: 4900, message: 'The Tandem extension was disconnected from this page. Reload the page.' };
    deliver({ kind: 'event', event: 'disconnect', data: body });
    expect((await rejection(a)).code).toBe(4900);
    expect((await rejection(b)).message).toBe(body.message);
    const disconnect = recorded.at(-1)!;
    expect(disconnect.event).toBe('disconnect');
    expect(disconnect.data).toBeInstanceOf(ProviderRpcError);
    expect((disconnect.data as ProviderRpcError).code).toBe(4900);
    expect(provider.isConnected()).toBe(false);
    const sentBefore = sent.length;
    expect((await rejection(provider.request({ method: 'eth_chainId' }))).code).toBe(4900);
    expect(sent).toHaveLength(sentBefore);
  });

  it('keeps pending requests on a 4901 chain disconnect and comes back with connect', async () => {
    const { provider, deliver, answer, recorded } = await started();
    const pending = provider.request({ method: 'eth_blockNumber' });
    deliver({ kind: 'event', event: 'disconnect', data: { code: 4901, message: 'chain down' } });
    deliver({ kind: 'event', event: 'connect', data: { chainId: '0x7a69' } });
    answer('0x1');
    await expect(pending).resolves.toBe('0x1');
    expect(recorded.map((r) => r.event)).toEqual(['connect', 'disconnect', 'connect']);
    expect(provider.isConnected()).toBe(true);
  });

  it('supports once, removeListener/off and listenerCount, and one throwing listener does not stop the others', async () => {
    const { provider, deliver, listenerErrors } = await started();
    const seen: string[] = [];
    const always = (chainId: string) => seen.push(`always ${chainId}`);
    provider.once('chainChanged', (chainId: string) => seen.push(`once ${chainId}`));
    provider.on('chainChanged', () => {
      throw new Error('dapp bug');
    });
    provider.on('chainChanged', always);
    expect(provider.listenerCount('chainChanged')).toBe(4);
    deliver({ kind: 'event', event: 'chainChanged', data: '0x1' });
    provider.off('chainChanged', always);
    deliver({ kind: 'event', event: 'chainChanged', data: '0x2' });
    expect(seen).toEqual(['once 0x1', 'always 0x1']);
    expect(listenerErrors).toHaveLength(2);
    expect(provider.listenerCount('chainChanged')).toBe(2);
  });

  it('keeps working when request is called detached from the provider, and enable() asks for accounts', async () => {
    const { provider, lastSent, answer } = await started();
    const { request, enable } = provider;
    const chain = request({ method: 'eth_chainId' });
    answer('0x7a69');
    await expect(chain).resolves.toBe('0x7a69');
    const accounts = enable();
    expect(lastSent().method).toBe('eth_requestAccounts');
    answer([ALICE]);
    await expect(accounts).resolves.toEqual([ALICE]);
  });

  it('answers sendAsync callbacks in JSON-RPC form', async () => {
    const { provider, lastSent, answer, deliver } = await started();
    const replies: unknown[] = [];
    provider.sendAsync({ id: 7, jsonrpc: '2.0', method: 'eth_chainId' }, (error, reply) => replies.push([error, reply]));
    answer('0x7a69');
    provider.sendAsync({ id: 8, jsonrpc: '2.0', method: 'eth_sign', params: [] }, (error, reply) => replies.push([error?.code, reply]));
    deliver({ kind: 'response', id: lastSent().id, error: { code: 4200, message: 'eth_sign is not supported.' } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(replies).toEqual([
      [null, { id: 7, jsonrpc: '2.0', result: '0x7a69' }],
      [4200, { id: 8, jsonrpc: '2.0', error: { code: 4200, message: 'eth_sign is not supported.' } }],
    ]);
  });
});
