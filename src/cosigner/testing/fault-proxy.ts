/**
 * A TCP proxy between devices and the broker that can cut every connection through it at a chosen
 * moment: after the next `n` writes from the device side (each MQTT publish of a protocol round is
 * one write on loopback), or at once. What it forwards it does not read: the bytes are TLS.
 * A cut destroys both sockets, as a dropped network would; new connections go through again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  /** The port devices connect to (in place of the broker's). */
  port: number;
  /** Device-side writes seen since the last arm() or count reset. */
  readonly writes: number;
  /** Starts counting device-side writes from zero, without cutting: to learn how many writes a request makes. */
  resetCount(): void;
  /** Cuts every open connection after `n` more device-side writes (n >= 1): the n-th is not forwarded. */
  armCut(n: number): void;
  /** Cuts every open connection now. */
  cutNow(): void;
  /** Connections cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const open = new Set<[Socket, Socket]>();
  let writes = 0;
  let cutAt: number | undefined;
  let cuts = 0;

  const cutAll = () => {
    cutAt = undefined;
    for (const pair of open) {
      pair[0].destroy();
      pair[1].destroy();
      cuts++;
    }
    open.clear();
  };

  const server: Server = createServer((device) => {
    const broker = connect(target);
    const pair: [Socket, Socket] = [device, broker];
    open.add(pair);
    const drop = () => {
      open.delete(pair);
      device.destroy();
      broker.destroy();
    };
    device.on('data', (chunk: Buffer) => {
      writes++;
      if (cutAt !== undefined && writes >= cutAt) {
        cutAll();
        return;
      }
      broker.write(chunk);
    });
    broker.on('data', (chunk: Buffer) => device.write(chunk));
    device.on('error', drop);
    broker.on('error', drop);
    device.on('close', drop);
    broker.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    get writes() {
      return writes;
    },
    get cuts() {
      return cuts;
    },
    resetCount() {
      writes = 0;
      cutAt = undefined;
    },
    armCut(n: number) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`armCut takes a positive whole number of writes, not ${n}`);
      writes = 0;
      cutAt = n;
    },
    cutNow: cutAll,
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
