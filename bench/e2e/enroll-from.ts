/**
 * Enrollment over HTTPS (challenge, proof of possession, enroll) from a chosen loopback source
 * address, without writing a wallet file: what thousands of idle devices need and nothing more.
 *
 * Why not TandemDevice.enroll: the co-signer rate-limits challenges per source address
 * (120 a minute, in http-api.ts), which is right for real devices, each with its own address,
 * but would stretch 2,000 enrollments from one address over 17 minutes. Spreading them over
 * 127.0.0.x addresses is what 2,000 real devices look like to the co-signer.
 */
import { Agent, request } from 'node:https';
import { CHALLENGE_PATH, ENROLL_PATH, enrollProofMessage, type ChallengeResponse, type EnrollRequest, type EnrollResponse } from '../../src/channel/enrollment.js';
import { Identity } from '../../src/channel/identity.js';
import { COSIGNER_PARTY, DEVICE_PARTY } from '../../src/channel/cosigner-protocol.js';
import { bytesToHex } from '../../src/mpc/bytes.js';
import { BenchError } from './errors.js';

export interface EnrolledDevice {
  deviceId: string;
  walletId: string;
  token: string;
  brokerUrl: string;
}

export class SourceAddressEnroller {
  readonly #cosignerUrl: string;
  readonly #caPem: string;
  readonly #agents = new Map<string, Agent>();

  constructor(cosignerUrl: string, caPem: string) {
    this.#cosignerUrl = cosignerUrl;
    this.#caPem = caPem;
  }

  /** Enrolls a fresh 2-of-2 device identity from `localAddress` (e.g. 127.0.0.7). */
  async enroll(localAddress: string): Promise<EnrolledDevice> {
    const identity = Identity.generate();
    try {
      const parties = [DEVICE_PARTY, COSIGNER_PARTY];
      const { challenge } = await this.#post<ChallengeResponse>(localAddress, CHALLENGE_PATH, {});
      const body: EnrollRequest = {
        identityPublicKey: identity.publicKeyHex,
        challenge,
        signature: bytesToHex(identity.sign('enroll', enrollProofMessage(challenge, identity.publicKeyHex, parties))),
        parties,
      };
      const enrolled = await this.#post<EnrollResponse>(localAddress, ENROLL_PATH, body);
      return { deviceId: enrolled.deviceId, walletId: enrolled.walletId, token: enrolled.token, brokerUrl: enrolled.brokerUrl };
    } finally {
      identity.destroy();
    }
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  #agent(localAddress: string): Agent {
    let agent = this.#agents.get(localAddress);
    if (!agent) {
      agent = new Agent({ keepAlive: true, maxSockets: 4, ca: this.#caPem, localAddress });
      this.#agents.set(localAddress, agent);
    }
    return agent;
  }

  #post<T>(localAddress: string, path: string, body: unknown): Promise<T> {
    const payload = JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(path, this.#cosignerUrl),
        { method: 'POST', agent: this.#agent(localAddress), headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) {
              reject(new BenchError('BENCH_ENROLL', `Enrollment step ${path} answered HTTP ${res.statusCode}.`, { details: text.slice(0, 300) }));
              return;
            }
            try {
              resolve(JSON.parse(text) as T);
            } catch (cause) {
              reject(new BenchError('BENCH_ENROLL', `Enrollment step ${path} answered something that is not JSON.`, { cause }));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (cause) => reject(new BenchError('BENCH_ENROLL', `Enrollment step ${path} failed from ${localAddress}.`, { cause })));
      req.end(payload);
    });
  }
}
