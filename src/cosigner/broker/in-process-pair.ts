import { Duplex } from 'node:stream';

/**
 * One end of an in-memory, connected pair of byte streams: what one end writes, the other reads.
 * Node 22 has `stream.duplexPair()`; Node 20 does not, hence this. Closing one end ends the other
 * without an error, as a socket closed by its peer would.
 */
class InProcessEnd extends Duplex {
  peer: InProcessEnd | undefined;
  #blockedWrite: (() => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer!;
    if (peer.destroyed) return callback(new Error('The other end of the in-process stream is closed.'));
    if (peer.push(chunk)) callback();
    else this.#blockedWrite = callback;
  }

  override _read(): void {
    const peer = this.peer!;
    const resume = peer.#blockedWrite;
    peer.#blockedWrite = undefined;
    resume?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peer!.destroyed) this.peer!.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer!;
    this.#blockedWrite = undefined;
    if (!peer.destroyed) {
      peer.push(null);
      peer.destroy();
    }
    callback(error);
  }
}

export function inProcessPair(): [Duplex, Duplex] {
  const a = new InProcessEnd();
  const b = new InProcessEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
