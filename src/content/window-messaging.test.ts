import { describe, expect, it } from 'vitest';
import { PAGE_SOURCE, RELAY_SOURCE } from '../background/api.js';
import type { BackgroundToRelay, RpcRequestMessage } from '../background/api.js';
import { createPageTransport, listenForPageRequests, postToPage, targetOriginOf } from './window-messaging.js';
import type { MessageWindow } from './window-messaging.js';

/** A window whose postMessage delivers to its own listeners, like a page posting to itself. */
class FakeWindow implements MessageWindow {
  readonly posts: { message: unknown; targetOrigin: string }[] = [];
  readonly #events = new EventTarget();
  constructor(readonly location: { origin: string }) {}
  postMessage(message: unknown, targetOrigin: string): void {
    this.posts.push({ message, targetOrigin });
    this.deliver(message, this);
  }
  deliver(data: unknown, source: unknown): void {
    this.#events.dispatchEvent(Object.assign(new Event('message'), { data, source }));
  }
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void {
    this.#events.addEventListener(type, listener as unknown as EventListener);
  }
}

const request: RpcRequestMessage = { kind: 'rpc', id: 'a', method: 'eth_chainId' };
const answer: BackgroundToRelay = { kind: 'response', id: 'a', result: '0x1' };

describe('window messaging', () => {
  it('posts to its own origin, and to * only for an opaque origin', () => {
    expect(targetOriginOf(new FakeWindow({ origin: 'https://app.example' }))).toBe('https://app.example');
    expect(targetOriginOf(new FakeWindow({ origin: 'null' }))).toBe('*');
  });

  it('carries a request from the page transport to the relay listener and the answer back', () => {
    const win = new FakeWindow({ origin: 'http://127.0.0.1:5173' });
    const relayed: RpcRequestMessage[] = [];
    const toProvider: BackgroundToRelay[] = [];
    listenForPageRequests(win, (message) => relayed.push(message));
    const transport = createPageTransport(win);
    transport.subscribe((message) => toProvider.push(message));

    transport.send(request);
    expect(win.posts[0]).toEqual({ message: { source: PAGE_SOURCE, message: request }, targetOrigin: 'http://127.0.0.1:5173' });
    expect(relayed).toEqual([request]);
    expect(toProvider).toEqual([]);

    postToPage(win, answer);
    expect(toProvider).toEqual([answer]);
    expect(relayed).toHaveLength(1);
  });

  it('ignores messages from other windows (frames) and envelopes that fail the shape check', () => {
    const win = new FakeWindow({ origin: 'https://app.example' });
    const relayed: RpcRequestMessage[] = [];
    const toProvider: BackgroundToRelay[] = [];
    listenForPageRequests(win, (message) => relayed.push(message));
    createPageTransport(win).subscribe((message) => toProvider.push(message));

    const otherFrame = {};
    win.deliver({ source: PAGE_SOURCE, message: request }, otherFrame);
    win.deliver({ source: RELAY_SOURCE, message: answer }, otherFrame);
    win.deliver({ source: PAGE_SOURCE, message: { kind: 'rpc', id: 'a' } }, win);
    win.deliver({ source: RELAY_SOURCE, message: { kind: 'event', event: 'message', data: 'x' } }, win);
    expect(relayed).toEqual([]);
    expect(toProvider).toEqual([]);
  });
});
