import { randomBytes } from 'node:crypto';
import type { TandemDevice } from '../../src/client/tandem-device.js';
import { timed } from './stats.js';

export interface SustainedRun {
  latencies: number[];
  errors: string[];
  /** The first `keepSamples` signatures, to verify after the timing. */
  samples: Array<{ device: TandemDevice; message: string; signature: `0x${string}` }>;
  /** Signatures still in flight at the deadline are counted, and so is the time they took. */
  seconds: number;
}

/** Every device signs (full protocol) one message after another until `seconds` have passed. */
export async function sustainedSigning(devices: TandemDevice[], seconds: number, keepSamples: number): Promise<SustainedRun> {
  const run: SustainedRun = { latencies: [], errors: [], samples: [], seconds: 0 };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    devices.map(async (device) => {
      while (performance.now() < deadline) {
        const message = `tandem bench sustained ${randomBytes(8).toString('hex')}`;
        try {
          const signed = await timed(() => device.signMessage(message));
          run.latencies.push(signed.ms);
          if (run.samples.length < keepSamples) run.samples.push({ device, message, signature: signed.value });
        } catch (error) {
          run.errors.push((error as Error).message.split('\n')[0]!);
        }
      }
    }),
  );
  run.seconds = (performance.now() - start) / 1000;
  return run;
}
