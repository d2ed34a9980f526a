/**
 * What happened to signing requests under faults: each ends as completed (its signature recovers
 * to the wallet), failed with a clear error (a typed error with a code and a message), failed
 * unclearly, or lost (no answer in time). Across all of them no two signatures may share a nonce
 * point R, which a reused presignature would.
 */
import { recoverMessageAddress, type Hex } from 'viem';
import type { TandemDevice } from '../../client/tandem-device.js';

export interface Outcomes {
  runs: number;
  completed: number;
  failed_clear: number;
  failed_unclear: number;
  lost: number;
  /** How many failures had each error code. */
  codes: Record<string, number>;
  /** The first message seen for each code. */
  messages: Record<string, string>;
}

export const newOutcomes = (): Outcomes => ({ runs: 0, completed: 0, failed_clear: 0, failed_unclear: 0, lost: 0, codes: {}, messages: {} });

/** Devices signing one after another each, until stop(). */
export interface SigningLoops {
  stop(): Promise<void>;
}

export class Ledger {
  readonly #nonces = new Map<string, string>();
  signatures = 0;
  bad = 0;
  reused = 0;
  unclear: string[] = [];

  /** Runs one signing and files its outcome. */
  async sign(device: TandemDevice, message: string, outcomes: Outcomes, lostAfterMs: number): Promise<void> {
    outcomes.runs++;
    let timer: NodeJS.Timeout | undefined;
    const lost = new Promise<'lost'>((resolve) => (timer = setTimeout(() => resolve('lost'), lostAfterMs)));
    const result = await Promise.race([
      device.signMessage(message).then(
        (signature) => ({ signature }),
        (error: unknown) => ({ error }),
      ),
      lost,
    ]).finally(() => clearTimeout(timer));
    if (result === 'lost') {
      outcomes.lost++;
      return;
    }
    if ('error' in result) {
      const code = (result.error as { code?: unknown }).code;
      const text = result.error instanceof Error ? result.error.message : String(result.error);
      if (typeof code === 'string' && code.length > 0 && text.length > 0) {
        outcomes.failed_clear++;
        outcomes.codes[code] = (outcomes.codes[code] ?? 0) + 1;
        outcomes.messages[code] ??= text.split('\n')[0]!.slice(0, 200);
      } else {
        outcomes.failed_unclear++;
        this.unclear.push(text.slice(0, 200));
      }
      return;
    }
    this.signatures++;
    const signature = result.signature as Hex;
    if ((await recoverMessageAddress({ message, signature })) !== device.address) this.bad++;
    const r = signature.slice(2, 66);
    const earlier = this.#nonces.get(r);
    if (earlier !== undefined && earlier !== message) this.reused++;
    this.#nonces.set(r, message);
    outcomes.completed++;
  }

  /** Every device signs in a loop, its outcomes filed under `outcomes`, until stop(). */
  signWhile(devices: TandemDevice[], label: string, outcomes: Outcomes, lostAfterMs: number): SigningLoops {
    let signing = true;
    const loops = devices.map(async (device, index) => {
      for (let n = 0; signing; n++) {
        const failedBefore = outcomes.failed_clear + outcomes.failed_unclear;
        await this.sign(device, `${label} device ${index} signature ${n}`, outcomes, lostAfterMs);
        // A device that just failed (its broker or co-signer away) waits a moment before it asks again, as a wallet would.
        if (outcomes.failed_clear + outcomes.failed_unclear > failedBefore) await new Promise((resolve) => setTimeout(resolve, 250));
      }
    });
    return {
      async stop() {
        signing = false;
        await Promise.all(loops);
      },
    };
  }
}
