/**
 * What happened to signing requests under faults: each ends as completed (its signature recovers
 * to the wallet), failed with a clear error (a typed error with a code and a message), failed
 * unclearly, or lost (no answer in time). Across all of them no two signatures may share a nonce
 * point R, which a reused presignature would.
 */
import { parseTransaction, recoverMessageAddress, recoverTransactionAddress, type Hex, type TransactionSerializable } from 'viem';
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

/** Devices signing one after another each, until stop(), which says how many requests each made. */
export interface SigningLoops {
  stop(): Promise<number[]>;
}

export class Ledger {
  readonly #nonces = new Map<string, string>();
  signatures = 0;
  bad = 0;
  reused = 0;
  unclear: string[] = [];

  /** Runs one signing (of a message, or of a transaction) and files its outcome. */
  async sign(device: TandemDevice, payload: string | TransactionSerializable, outcomes: Outcomes, lostAfterMs: number): Promise<void> {
    outcomes.runs++;
    let timer: NodeJS.Timeout | undefined;
    const lost = new Promise<'lost'>((resolve) => (timer = setTimeout(() => resolve('lost'), lostAfterMs)));
    const result = await Promise.race([
      (typeof payload === 'string' ? device.signMessage(payload) : device.signTransaction(payload)).then(
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
    let signer: string;
    let r: string;
    let what: string;
    if (typeof payload === 'string') {
      const signature = result.signature as Hex;
      signer = await recoverMessageAddress({ message: payload, signature });
      r = signature.slice(2, 66);
      what = payload;
    } else {
      const serializedTransaction = result.signature as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'];
      signer = await recoverTransactionAddress({ serializedTransaction });
      r = parseTransaction(serializedTransaction).r!.slice(2).padStart(64, '0');
      what = `${device.address} transaction ${payload.chainId} ${payload.nonce}`;
    }
    if (signer !== device.address) this.bad++;
    const earlier = this.#nonces.get(r);
    if (earlier !== undefined && earlier !== what) this.reused++;
    this.#nonces.set(r, what);
    outcomes.completed++;
  }

  /**
   * Every device signs in a loop, its outcomes filed under `outcomes`, until stop(): messages, or with
   * `transactions` a transaction of that value per request (its n-th with nonce n).
   */
  signWhile(devices: TandemDevice[], label: string, outcomes: Outcomes, lostAfterMs: number, transactions?: { chainId: number; valueWei: bigint }): SigningLoops {
    let signing = true;
    const loops = devices.map(async (device, index) => {
      let n = 0;
      for (; signing; n++) {
        const failedBefore = outcomes.failed_clear + outcomes.failed_unclear;
        const payload = transactions ? transferOf(transactions, n) : `${label} device ${index} signature ${n}`;
        await this.sign(device, payload, outcomes, lostAfterMs);
        // A device that just failed (its broker or co-signer away) waits a moment before it asks again, as a wallet would.
        if (outcomes.failed_clear + outcomes.failed_unclear > failedBefore) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return n;
    });
    return {
      async stop() {
        signing = false;
        return Promise.all(loops);
      },
    };
  }
}

function transferOf({ chainId, valueWei }: { chainId: number; valueWei: bigint }, nonce: number): TransactionSerializable {
  return { type: 'eip1559', chainId, nonce, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: valueWei, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n };
}
