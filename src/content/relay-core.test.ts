import { describe, expect, it } from 'vitest';
import type { BackgroundToRelay, RelayToBackground } from '../background/api.js';
import { EXTENSION_GONE_MESSAGE } from './provider-rpc-error.js';
import { createRelay } from './relay-core.js';
import type { RelayPort } from './relay-core.js';

class FakePort implements RelayPort {
  readonly posted: RelayToBackground[] = [];
  dead = false;
  readonly #onMessage: ((message: unknown) => void)[] = [];
  readonly #onDisconnect: (() => void)[] = [];

  postMessage(message: RelayToBackground): void {
    if (this.dead) throw new Error('Attempting to use a disconnected port object');
    this.posted.push(message);
  }
  onMessage(listener: (message: unknown) => void): void {
    this.#onMessage.push(listener);
  }
  onDisconnect(listener: () => void): void {
    this.#onDisconnect.push(listener);
  }
  /** The worker answers on this port. */
  receive(message: unknown): void {
    for (const listener of this.#onMessage) listener(message);
  }
  /** The worker was killed. */
  drop(): void {
    this.dead = true;
    for (const listener of this.#onDisconnect) listener();
  }
}

function setup(options: { quickFailureMs?: number; maxQuickFailures?: number } = {}) {
  const ports: FakePort[] = [];
  const toPage: BackgroundToRelay[] = [];
  const env = { alive: true, time: 0, refuseConnect: false, deadOnConnect: false };
  const relay = createRelay(
    {
      connect() {
        if (env.refuseConnect) throw new Error('Extension context invalidated.');
        const port = new FakePort();
        port.dead = env.deadOnConnect;
        ports.push(port);
        return port;
      },
      isExtensionAlive: () => env.alive,
      toPage: (message) => toPage.push(message),
      now: () => env.time,
    },
    options,
  );
  const lastPort = (): FakePort => {
    const port = ports.at(-1);
    if (!port) throw new Error('no port was opened');
    return port;
  };
  return { relay, ports, toPage, env, lastPort };
}

const rpc = (id: string, method = 'eth_chainId') => ({ kind: 'rpc' as const, id, method });
const STATE = { chainId: '0x1', networkVersion: '1', accounts: [], isUnlocked: false };

describe('relay', () => {
  it('opens no port until the page asks, then forwards the request on it', () => {
    const { relay, ports, lastPort } = setup();
    expect(ports).toHaveLength(0);
    expect(relay.state).toBe('idle');
    relay.fromPage(rpc('a'));
    expect(ports).toHaveLength(1);
    expect(lastPort().posted).toEqual([rpc('a')]);
    relay.fromPage(rpc('b'));
    expect(ports).toHaveLength(1);
    expect(lastPort().posted).toEqual([rpc('a'), rpc('b')]);
  });

  it('ignores page messages that are not rpc requests and duplicate ids', () => {
    const { relay, ports, lastPort } = setup();
    relay.fromPage({ kind: 'resume', ids: ['x'] });
    relay.fromPage({ kind: 'rpc', id: 'a' });
    expect(ports).toHaveLength(0);
    relay.fromPage(rpc('a'));
    relay.fromPage(rpc('a', 'eth_sendTransaction'));
    expect(lastPort().posted).toEqual([rpc('a')]);
  });

  it('passes answers to the page once and forgets the id; answers for unknown ids are dropped', () => {
    const { relay, toPage, lastPort } = setup();
    relay.fromPage(rpc('a'));
    lastPort().receive({ kind: 'response', id: 'a', result: '0x1' });
    lastPort().receive({ kind: 'response', id: 'a', result: '0x2' });
    lastPort().receive({ kind: 'response', id: 'zzz', result: '0x3' });
    lastPort().receive({ kind: 'response', id: 'b', nonsense: true });
    expect(toPage).toEqual([{ kind: 'response', id: 'a', result: '0x1' }]);
    expect(relay.waiting).toBe(0);
  });

  it('passes worker events to the page, from the port and from runtime messages', () => {
    const { relay, toPage, lastPort } = setup();
    relay.fromPage(rpc('a'));
    lastPort().receive({ kind: 'event', event: 'chainChanged', data: '0x89' });
    relay.fromBackground({ kind: 'event', event: 'accountsChanged', data: [] });
    relay.fromBackground({ kind: 'response', id: 'a', result: 'forged' });
    expect(toPage).toEqual([
      { kind: 'event', event: 'chainChanged', data: '0x89' },
      { kind: 'event', event: 'accountsChanged', data: [] },
    ]);
  });

  it('reconnects at once when the worker dies with requests waiting and resumes them first', () => {
    const { relay, ports, toPage, env, lastPort } = setup();
    relay.fromPage(rpc('a', 'personal_sign'));
    relay.fromPage(rpc('b', 'eth_sendTransaction'));
    lastPort().receive({ kind: 'response', id: 'b', result: '0xhash' });
    env.time = 5000;
    ports[0]!.drop();
    expect(ports).toHaveLength(2);
    expect(lastPort().posted[0]).toEqual({ kind: 'resume', ids: ['a'] });
    lastPort().receive({ kind: 'response', id: 'a', result: '0xsig' });
    expect(toPage.at(-1)).toEqual({ kind: 'response', id: 'a', result: '0xsig' });
    expect(relay.waiting).toBe(0);
  });

  it('after a reconnect asks for the state again and turns it into events, without showing the page that request', () => {
    const { relay, ports, toPage, env, lastPort } = setup();
    relay.fromPage(rpc('a'));
    env.time = 5000;
    ports[0]!.drop();
    const resync = lastPort().posted.find((m): m is ReturnType<typeof rpc> => m.kind === 'rpc' && m.method === 'tandem_providerState');
    expect(resync).toBeDefined();
    lastPort().receive({ kind: 'response', id: resync!.id, result: { ...STATE, chainId: '0x89' } });
    expect(toPage).toEqual([
      { kind: 'event', event: 'chainChanged', data: '0x89' },
      { kind: 'event', event: 'accountsChanged', data: [] },
    ]);
  });

  it('stays disconnected when the worker dies with nothing waiting, and reconnects for the next request', () => {
    const { relay, ports, lastPort } = setup();
    relay.fromPage(rpc('a'));
    lastPort().receive({ kind: 'response', id: 'a', result: '0x1' });
    ports[0]!.drop();
    expect(ports).toHaveLength(1);
    expect(relay.state).toBe('idle');
    relay.fromPage(rpc('b'));
    expect(ports).toHaveLength(2);
    expect(lastPort().posted[0]).toEqual(rpc('b'));
  });

  it('sends a request again (not as resume) when posting on a dead port threw', () => {
    const { relay, ports, lastPort } = setup();
    relay.fromPage(rpc('a'));
    lastPort().receive({ kind: 'response', id: 'a', result: '0x1' });
    ports[0]!.dead = true;
    relay.fromPage(rpc('b'));
    expect(ports).toHaveLength(2);
    expect(lastPort().posted[0]).toEqual(rpc('b'));
    expect(lastPort().posted.some((m) => m.kind === 'resume')).toBe(false);
  });

  it('answers everything waiting and everything later with 4900 and tells the page once the extension is gone', () => {
    const { relay, ports, toPage, env } = setup();
    relay.fromPage(rpc('a'));
    relay.fromPage(rpc('b'));
    env.alive = false;
    ports[0]!.drop();
    expect(ports).toHaveLength(1);
    const gone = { code: 4900, message: EXTENSION_GONE_MESSAGE };
    expect(toPage).toEqual([
      { kind: 'response', id: 'a', error: gone },
      { kind: 'response', id: 'b', error: gone },
      { kind: 'event', event: 'disconnect', data: gone },
    ]);
    relay.fromPage(rpc('c'));
    expect(toPage.at(-1)).toEqual({ kind: 'response', id: 'c', error: gone });
    expect(toPage.filter((m) => m.kind === 'event')).toHaveLength(1);
    expect(relay.state).toBe('gone');
  });

  it('notices a vanished extension on the next request even without a port', () => {
    const { relay, ports, toPage, env } = setup();
    env.alive = false;
    relay.fromPage(rpc('a'));
    expect(ports).toHaveLength(0);
    expect(toPage.map((m) => m.kind)).toEqual(['event', 'response']);
    expect(toPage[1]).toMatchObject({ id: 'a', error: { code: 4900 } });
  });

  it('treats a connect that throws after the extension vanished as gone', () => {
    const { relay, toPage, env } = setup();
    env.refuseConnect = true;
    relay.fromPage(rpc('a'));
    // connect threw while runtime.id still looked fine: the request still gets an answer.
    expect(toPage).toEqual([{ kind: 'response', id: 'a', error: expect.objectContaining({ code: 4900 }) }]);
    env.alive = false;
    relay.fromPage(rpc('b'));
    expect(relay.state).toBe('gone');
  });

  it('gives up with an error after ports keep dying at once, instead of waking the worker forever', () => {
    const { relay, ports, toPage } = setup({ quickFailureMs: 1000, maxQuickFailures: 3 });
    relay.fromPage(rpc('a'));
    for (let i = 0; i < 10 && relay.waiting > 0; i += 1) ports.at(-1)!.drop();
    // The first port and two retries, each dying at once: three quick failures.
    expect(ports).toHaveLength(3);
    expect(toPage).toEqual([{ kind: 'response', id: 'a', error: expect.objectContaining({ code: 4900 }) }]);
    expect(relay.state).toBe('idle');
  });

  it('keeps resuming a long approval across many worker restarts that are not quick failures', () => {
    const { relay, ports, toPage, env } = setup({ quickFailureMs: 1000, maxQuickFailures: 3 });
    relay.fromPage(rpc('a', 'personal_sign'));
    for (let i = 0; i < 6; i += 1) {
      env.time += 30_000;
      ports.at(-1)!.drop();
    }
    expect(ports).toHaveLength(7);
    expect(toPage).toEqual([]);
    expect(ports.at(-1)!.posted[0]).toEqual({ kind: 'resume', ids: ['a'] });
  });
});
