import { describe, expect, it } from 'vitest';
import type { PopupRequest, WalletOverview } from '../background/api.js';
import { PopupError } from './errors.js';
import { createCall } from './worker-call.js';

const overview: WalletOverview = {
  status: 'locked',
  emergency: false,
  walletKind: '2of3',
  chainId: 31337,
  chains: [],
  cosignerUrl: 'wss://localhost:8884',
  cosignerStatus: 'unknown',
  autoLockMinutes: 15,
  connectedOrigins: [],
  pendingApprovals: [],
  recoveryKit: 'saved',
};

/** A stand-in for runtime.sendMessage that answers from a script and records what it was sent. */
function scripted(answers: (() => Promise<unknown>)[]) {
  const sent: PopupRequest[] = [];
  const send = (message: PopupRequest) => {
    sent.push(message);
    const next = answers.shift();
    if (!next) throw new Error('no more scripted answers');
    return next();
  };
  return { sent, send };
}

const gone = () => Promise.reject(new Error('Could not establish connection. Receiving end does not exist.'));

describe('createCall', () => {
  it('returns the value of an ok reply', async () => {
    const { send, sent } = scripted([async () => ({ ok: true, value: overview })]);
    const value = await createCall(send)({ kind: 'popup', action: 'overview' });
    expect(value).toEqual(overview);
    expect(sent).toEqual([{ kind: 'popup', action: 'overview' }]);
  });

  it('throws a PopupError with the code, message and reason of an error reply', async () => {
    const { send } = scripted([async () => ({ ok: false, error: { code: 4001, message: 'The co-signer refused', reason: 'daily limit' } })]);
    const error = await createCall(send)({ kind: 'popup', action: 'decide', id: 'a', approve: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PopupError);
    expect(error).toMatchObject({ code: 4001, shortMessage: 'The co-signer refused', reason: 'daily limit' });
  });

  it('sends once more when the worker was restarted, and only once', async () => {
    const { send, sent } = scripted([gone, async () => ({ ok: true, value: overview })]);
    await expect(createCall(send)({ kind: 'popup', action: 'overview' })).resolves.toEqual(overview);
    expect(sent).toHaveLength(2);

    const twice = scripted([gone, () => Promise.reject(new Error('The message port closed before a response was received.')), async () => ({ ok: true, value: overview })]);
    const error = await createCall(twice.send)({ kind: 'popup', action: 'overview' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PopupError);
    expect(twice.sent).toHaveLength(2);
  });

  it('treats a missing answer as a restarted worker', async () => {
    const { send, sent } = scripted([async () => undefined, async () => ({ ok: true, value: overview })]);
    await expect(createCall(send)({ kind: 'popup', action: 'overview' })).resolves.toEqual(overview);
    expect(sent).toHaveLength(2);
  });

  it('does not retry other failures or error replies', async () => {
    const other = scripted([() => Promise.reject(new Error('Extension context invalidated.')), async () => ({ ok: true, value: overview })]);
    await expect(createCall(other.send)({ kind: 'popup', action: 'overview' })).rejects.toBeInstanceOf(PopupError);
    expect(other.sent).toHaveLength(1);

    const refused = scripted([async () => ({ ok: false, error: { code: 4100, message: 'Locked' } }), async () => ({ ok: true, value: overview })]);
    await expect(createCall(refused.send)({ kind: 'popup', action: 'overview' })).rejects.toMatchObject({ code: 4100 });
    expect(refused.sent).toHaveLength(1);
  });

  it('refuses an answer that is not a reply', async () => {
    const { send } = scripted([async () => ({ status: 'locked' })]);
    await expect(createCall(send)({ kind: 'popup', action: 'overview' })).rejects.toBeInstanceOf(PopupError);
  });
});
