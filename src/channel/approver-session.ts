/**
 * An approver: an identity of its own (never a wallet device), enrolled with a one-time code
 * from the co-signer's operator. It reads the requests it is an approver of from its mailbox
 * (they wait at the broker while it is away), checks that each one's digest and payload hash are
 * those of the payload it shows, and signs its decision over exactly those.
 * Used by the headless client and by the extension: Web APIs only.
 */
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import { signDecision, verifyRequestHashes, type DecisionVerdict, type RequestView } from './approval-protocol.js';
import type { PostJson } from './device-session.js';
import {
  APPROVER_ENROLL_PATH,
  CHALLENGE_PATH,
  approverEnrollProofMessage,
  brokerFieldsOf,
  type BrokerConnection,
  renewBrokerToken,
  type ApproverEnrollRequest,
  type ApproverEnrollResponse,
  type ChallengeResponse,
} from './enrollment.js';
import { ChannelError } from './errors.js';
import { Identity } from './identity.js';
import { Mailbox } from './mailbox.js';
import { TOKEN_RENEW_MARGIN_MS, TokenRenewal } from './token-renewal.js';
import { approverClientId } from './topics.js';
import { MqttTransport, type TlsOptions } from './transport.js';

/** What an approver keeps. `identitySecret` is secret: store it encrypted. */
export interface ApproverRecord extends BrokerConnection {
  identitySecret: string;
  approverId: string;
  name: string;
  token: string;
  tokenExpiresAt: number;
}


export async function enrollApprover(options: { cosignerUrl: string; enrollmentCode: string; postJson: PostJson; caPem?: string }): Promise<ApproverRecord> {
  const identity = Identity.generate();
  try {
    const { challenge } = await options.postJson<ChallengeResponse>(options.cosignerUrl, CHALLENGE_PATH, {});
    const request: ApproverEnrollRequest = {
      identityPublicKey: identity.publicKeyHex,
      challenge,
      signature: bytesToHex(identity.sign('enroll', approverEnrollProofMessage(challenge, identity.publicKeyHex))),
      enrollmentCode: options.enrollmentCode,
    };
    const enrolled = await options.postJson<ApproverEnrollResponse>(options.cosignerUrl, APPROVER_ENROLL_PATH, request);
    if (enrolled.approverId !== identity.deviceId) throw new ChannelError('CHANNEL_ENROLL_FAILED', 'The co-signer assigned an approver id that does not match this identity key.');
    return {
      ...brokerFieldsOf(options, enrolled),
      identitySecret: identity.exportSecretKeyHex(),
      approverId: enrolled.approverId,
      name: enrolled.name,
      token: enrolled.token,
      tokenExpiresAt: enrolled.tokenExpiresAt,
    };
  } finally {
    identity.destroy();
  }
}

export interface ApproverSessionOptions {
  postJson: PostJson;
  /** Renewed credentials to store. */
  onRecordChange?: (record: ApproverRecord) => void | Promise<void>;
  /** A request changed or arrived (also ones that waited at the broker while this approver was away). Already checked. */
  onUpdate?: (request: RequestView) => void;
}

export class ApproverSession {
  #record: ApproverRecord;
  readonly #identity: Identity;
  readonly #options: ApproverSessionOptions;
  #connection: Promise<{ transport: MqttTransport; mailbox: Mailbox }> | undefined;
  #renewal: TokenRenewal | undefined;

  constructor(record: ApproverRecord, options: ApproverSessionOptions) {
    this.#record = { ...record };
    this.#identity = Identity.fromSecretKey(record.identitySecret);
    this.#options = options;
  }

  get approverId(): string {
    return this.#record.approverId;
  }

  get name(): string {
    return this.#record.name;
  }

  /** The requests this approver is an approver of, newest first, each checked against its payload; and how many wait for its decision. */
  async list(options: { limit?: number } = {}): Promise<{ requests: RequestView[]; pendingForYou: number }> {
    const { mailbox } = await this.#connect();
    const listed = await mailbox.list(options);
    return { requests: listed.requests.filter(isGenuine), pendingForYou: listed.pendingForYou };
  }

  /** One request, checked: its digest and payload hash must be those of the payload shown. */
  async show(requestId: string): Promise<RequestView> {
    const { mailbox } = await this.#connect();
    const request = await mailbox.show(requestId);
    verifyRequestHashes(request);
    return request;
  }

  /** Signs and sends a decision over the request as just shown (re-checked here). */
  async decide(requestId: string, verdict: DecisionVerdict, shown?: RequestView): Promise<{ request: RequestView; counted: boolean }> {
    const request = shown ?? (await this.show(requestId));
    verifyRequestHashes(request);
    if (request.requestId !== requestId) throw new ChannelError('CHANNEL_INVALID_ARGUMENT', `That is request ${request.requestId}, not ${requestId}.`);
    const decision = signDecision(this.#identity, { requestId, walletId: request.walletId, digest: request.digest, payloadHash: request.payloadHash, verdict, decidedAt: Date.now() });
    const { mailbox } = await this.#connect();
    return mailbox.decide(decision);
  }

  /** Connects now (else the first call does): letters that waited at the broker arrive as updates. */
  async connect(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#renewal?.stop();
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) {
      const { transport, mailbox } = await connection.catch(() => ({ transport: undefined, mailbox: undefined }));
      await mailbox?.close();
      await transport?.close();
    }
    this.#identity.destroy();
  }

  #connect(): Promise<{ transport: MqttTransport; mailbox: Mailbox }> {
    this.#connection ??= (async () => {
      await this.#renewTokenIfNeeded();
      const record = this.#record;
      const trust = record.brokerCaPem ?? record.caPem;
      const tls: TlsOptions | undefined = trust ? { ca: trust } : undefined;
      const transport = new MqttTransport({
        url: record.brokerUrl,
        clientId: approverClientId(record.approverId),
        username: record.approverId,
        password: record.token,
        clean: false,
        reassembleFragments: true,
        ...(tls ? { tls } : {}),
      });
      const mailbox = await Mailbox.open(transport, this.#identity, hexToBytes(record.cosignerIdentity));
      mailbox.onUpdate((request) => {
        if (isGenuine(request)) this.#options.onUpdate?.(request);
      });
      await transport.connect();
      // An approver's session (the extension's) may stay connected for days: its token must not lapse under it.
      this.#renewal?.stop();
      this.#renewal = new TokenRenewal(
        () => this.#record.tokenExpiresAt,
        async () => {
          await this.#renewTokenIfNeeded();
          transport.setCredentials(this.#record.approverId, this.#record.token);
        },
      ).start();
      return { transport, mailbox };
    })();
    this.#connection.catch(() => {
      this.#connection = undefined;
    });
    return this.#connection;
  }

  async #renewTokenIfNeeded(): Promise<void> {
    if (this.#record.tokenExpiresAt - Date.now() > TOKEN_RENEW_MARGIN_MS) return;
    const renewed = await renewBrokerToken(this.#options.postJson, this.#record.cosignerUrl, this.#record.approverId, this.#identity);
    this.#record = { ...this.#record, token: renewed.token, tokenExpiresAt: renewed.tokenExpiresAt };
    await this.#options.onRecordChange?.(this.#record);
  }
}

/** A request whose hashes do not match its payload is never shown: whoever altered it wants a decision over something else. */
function isGenuine(request: RequestView): boolean {
  try {
    verifyRequestHashes(request);
    return true;
  } catch {
    return false;
  }
}
