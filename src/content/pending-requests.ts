import type { RpcRequestMessage } from '../background/api.js';

interface PendingEntry {
  message: RpcRequestMessage;
  /** postMessage on a port returned without throwing: the worker may have it (and persisted it). */
  delivered: boolean;
}

/**
 * The relay's list of page requests still waiting for the service worker's answer. It survives
 * the port: after a worker restart the delivered ones are resumed by id (the worker persisted
 * them), and the ones that never left are sent again.
 */
export class PendingRequests {
  readonly #entries = new Map<string, PendingEntry>();

  get size(): number {
    return this.#entries.size;
  }

  /** False for an id already waiting: a second request under one id would settle the first. */
  add(message: RpcRequestMessage): boolean {
    if (this.#entries.has(message.id)) return false;
    this.#entries.set(message.id, { message, delivered: false });
    return true;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  markDelivered(id: string): void {
    const entry = this.#entries.get(id);
    if (entry) entry.delivered = true;
  }

  /** Removes the id once its answer came; false when it was not waiting. */
  settle(id: string): boolean {
    return this.#entries.delete(id);
  }

  /** What a fresh port must send first: one resume for what the worker saw, then what it never got. */
  replayPlan(): { resume: string[]; resend: RpcRequestMessage[] } {
    const resume: string[] = [];
    const resend: RpcRequestMessage[] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.delivered) resume.push(id);
      else resend.push(entry.message);
    }
    return { resume, resend };
  }

  /** Forgets every request and returns their ids, oldest first, so each can be answered. */
  drain(): string[] {
    const ids = [...this.#entries.keys()];
    this.#entries.clear();
    return ids;
  }
}
