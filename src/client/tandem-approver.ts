/**
 * A headless second approver: an identity of its own (never a wallet device) in an owner-only
 * approver file, enrolled with the operator's one-time code. It reads the requests it is an
 * approver of from its mailbox at the co-signer (they wait at the broker while it is away), each
 * checked against its payload before it is shown (ApproverSession does that), and signs its
 * decision over exactly what it was shown.
 *
 * Also the text rendering of a request (describeRequest) that the CLI uses for approvers and
 * devices alike: the layout the operator's CLI shares (src/channel/request-text.ts), plus the
 * checked payload and the fees.
 */
import { formatEther, formatGwei, parseTransaction } from 'viem';
import { verifyRequestHashes, type DecisionVerdict, type DecodedRequest, type RequestView } from '../channel/approval-protocol.js';
import { ApproverSession, enrollApprover } from '../channel/approver-session.js';
import type { PostJson } from '../channel/device-session.js';
import { decodedRows, describeRequest as describeRequestText, requestSummary as summary } from '../channel/request-text.js';
import { ApproverFile } from './approver-file.js';
import { postJson } from './http.js';

export interface ApproverEnrollOptions {
  /** https://host:port of the co-signer. */
  cosignerUrl: string;
  /** The one-time code from `npm run cosigner -- approvers invite <name>`. */
  enrollmentCode: string;
  /** Where to keep the approver (created 0600; must not exist). */
  file: string;
  /** PEM to trust for the co-signer's TLS (its self-signed certificate on a local stack). */
  caPem?: string;
}

export interface ApproverOptions {
  /** A request arrived or changed (also those that waited at the broker while this approver was away). Already checked. */
  onUpdate?: (request: RequestView) => void;
}

function httpsWithTrust(caPem: string | undefined): PostJson {
  return (baseUrl, path, body) => postJson(baseUrl, path, body, caPem ? { caPem } : {});
}

export class TandemApprover {
  readonly #file: ApproverFile;
  readonly #session: ApproverSession;

  private constructor(file: ApproverFile, options: ApproverOptions) {
    this.#file = file;
    this.#session = new ApproverSession(file.contents, {
      postJson: httpsWithTrust(file.contents.caPem),
      // Renewed broker credentials go back to the file, so the next run starts with them.
      onRecordChange: (record) => file.update(record),
      ...(options.onUpdate ? { onUpdate: options.onUpdate } : {}),
    });
  }

  /** Enrolls a new approver identity with the co-signer and writes the approver file. The code is spent. */
  static async enroll(options: ApproverEnrollOptions, approverOptions: ApproverOptions = {}): Promise<TandemApprover> {
    const reserved = ApproverFile.reserve(options.file);
    try {
      const record = await enrollApprover({
        cosignerUrl: options.cosignerUrl,
        enrollmentCode: options.enrollmentCode,
        postJson: httpsWithTrust(options.caPem),
        ...(options.caPem ? { caPem: options.caPem } : {}),
      });
      return new TandemApprover(reserved.fill(record), approverOptions);
    } finally {
      reserved.discard();
    }
  }

  static open(path: string, options: ApproverOptions = {}): TandemApprover {
    return new TandemApprover(ApproverFile.open(path), options);
  }

  get approverId(): string {
    return this.#file.contents.approverId;
  }

  get name(): string {
    return this.#file.contents.name;
  }

  get cosignerUrl(): string {
    return this.#file.contents.cosignerUrl;
  }

  /**
   * The requests this approver is an approver of: those waiting for its decision first (soonest
   * to expire first), then the rest newest first. Each checked against its payload.
   */
  async list(options: { limit?: number } = {}): Promise<{ requests: RequestView[]; pendingForYou: number }> {
    const listed = await this.#session.list(options);
    const waiting = (request: RequestView) => waitsFor(request, this.approverId);
    const requests = [...listed.requests.filter(waiting).sort((a, b) => a.expiresAt - b.expiresAt), ...listed.requests.filter((request) => !waiting(request))];
    return { requests, pendingForYou: listed.pendingForYou };
  }

  /** One request, checked: its digest and payload hash are those of the payload it carries. */
  show(requestId: string): Promise<RequestView> {
    return this.#session.show(requestId);
  }

  /** Signs and sends a decision over the request as shown (re-checked); resolves with the request after it. */
  decide(requestId: string, verdict: DecisionVerdict, shown?: RequestView): Promise<{ request: RequestView; counted: boolean }> {
    return this.#session.decide(requestId, verdict, shown);
  }

  /** Connects now: letters that waited at the broker arrive (as onUpdate). */
  connect(): Promise<void> {
    return this.#session.connect();
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}

/** Pending, and this approver has not decided yet. */
export function waitsFor(request: RequestView, approverId: string): boolean {
  return request.state === 'pending-approval' && !request.decisions.some((decision) => decision.approverId === approverId) && request.quorums.some((quorum) => quorum.approvers.some((approver) => approver.approverId === approverId));
}

// ---- text (the shared layout: src/channel/request-text.ts)

/** One line: what a request would sign. */
export function requestSummary(decoded: DecodedRequest): string {
  return summary(decoded, formatEther);
}

export { quorumProgress } from '../channel/request-text.js';

/**
 * The request as a person reads it: state, what it signs as the co-signer decoded it, the exact
 * payload (checked against its hashes first: a request that fails the check throws instead), the
 * quorums, the decisions and the result. `approverId` adds what this approver's decision signs.
 */
export function describeRequest(request: RequestView, options: { now?: number; approverId?: string } = {}): string {
  const wire = verifyRequestHashes(request);
  const decoded = decodedRows(request.decoded, formatEther);
  if (wire.kind === 'transaction') {
    const parsed = parseTransaction(wire.serialized);
    if (parsed.gas !== undefined) decoded.push(['gas limit', String(parsed.gas)]);
    if (parsed.maxFeePerGas !== undefined) decoded.push(['max fee', `${formatGwei(parsed.maxFeePerGas)} gwei per gas (priority ${formatGwei(parsed.maxPriorityFeePerGas ?? 0n)})`]);
    else if (parsed.gasPrice !== undefined) decoded.push(['gas price', `${formatGwei(parsed.gasPrice)} gwei`]);
  }
  const payload = wire.kind === 'transaction' ? `unsigned transaction ${wire.serialized}` : JSON.stringify(wire.kind === 'typedData' ? wire.typedData : wire.message, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return describeRequestText(request, {
    now: options.now ?? Date.now(),
    ...(options.approverId ? { approverId: options.approverId } : {}),
    signs: [
      { heading: 'What it signs (as the co-signer decoded it):', rows: decoded },
      { heading: 'Exactly what is signed (checked: the digest and payload hash are those of this payload):', rows: [['digest', request.digest], ['payload hash', request.payloadHash], ['payload', payload]] },
    ],
  });
}
