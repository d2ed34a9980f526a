import type { PopupReplies, PopupReply, PopupRequest } from '../background/api.js';
import { INTERNAL_ERROR, PopupError } from './errors.js';

export type SendMessage = (message: PopupRequest) => Promise<unknown>;

export type Call = <A extends PopupRequest['action']>(request: Extract<PopupRequest, { action: A }>) => Promise<PopupReplies[A]>;

/**
 * What Chrome says when the service worker was stopped between our send and its answer, or was not
 * running yet. The polyfill turns the second into an `undefined` reply, so that counts as well.
 */
const WORKER_GONE = /Receiving end does not exist|message port closed/i;

function isReply(value: unknown): value is PopupReply<PopupRequest['action']> {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

class WorkerGone extends Error {}

async function sendOnce(send: SendMessage, request: PopupRequest): Promise<PopupReply<PopupRequest['action']>> {
  let reply: unknown;
  try {
    reply = await send(request);
  } catch (error) {
    if (error instanceof Error && WORKER_GONE.test(error.message)) throw new WorkerGone(error.message, { cause: error });
    throw new PopupError(INTERNAL_ERROR, 'The wallet could not be reached. Close this window and try again.', { cause: error });
  }
  if (reply === undefined) throw new WorkerGone('The wallet gave no answer.');
  if (!isReply(reply)) throw new PopupError(INTERNAL_ERROR, 'The wallet gave an answer this window does not understand.', { data: reply });
  return reply;
}

/**
 * A typed request to the service worker. A restarted worker loses the request in flight, so it is
 * sent once more in that case only; any other failure is the answer.
 */
export function createCall(send: SendMessage): Call {
  return async (request) => {
    let reply: PopupReply<PopupRequest['action']>;
    try {
      reply = await sendOnce(send, request);
    } catch (first) {
      if (!(first instanceof WorkerGone)) throw first;
      try {
        reply = await sendOnce(send, request);
      } catch (second) {
        if (!(second instanceof WorkerGone)) throw second;
        throw new PopupError(INTERNAL_ERROR, 'The wallet stopped answering. Close this window and try again.', { cause: second });
      }
    }
    if (!reply.ok) throw PopupError.fromReply(reply.error);
    // The worker answers each action with PopupReplies[action]; the message channel cannot carry that type.
    return reply.value as PopupReplies[typeof request.action];
  };
}
