/**
 * A headless second approver: an identity of its own (never a wallet device) in an owner-only
 * approver file, enrolled with the operator's one-time code. It reads the requests it is an
 * approver of from its mailbox at the co-signer (they wait at the broker while it is away), each
 * checked against its payload before it is shown (ApproverSession does that), and signs its
 * decision over exactly what it was shown.
 *
 * Also the text rendering of a request (describeRequest) that the CLI uses for approvers and
 * devices alike.
 */
import { formatEther, formatGwei, parseTransaction } from 'viem';
import { verifyRequestHashes, type DecisionVerdict, type DecodedRequest, type RequestView } from '../channel/approval-protocol.js';
import { ApproverSession, enrollApprover } from '../channel/approver-session.js';
import type { PostJson } from '../channel/device-session.js';
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

// ---- text

const iso = (ms: number) => new Date(ms).toISOString();

function relative(ms: number, now: number): string {
  const delta = ms - now;
  const minutes = Math.round(Math.abs(delta) / 60_000);
  const text = minutes < 1 ? 'less than a minute' : minutes < 120 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${Math.round(minutes / 1440)} days`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

function rows(entries: [string, string][], indent = '  '): string[] {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`);
}

/** One line: what a request would sign. */
export function requestSummary(decoded: DecodedRequest): string {
  switch (decoded.kind) {
    case 'transaction': {
      const token = decoded.token ? `; ${decoded.token.functionName} ${decoded.token.amount} (token units) ${decoded.token.role === 'spender' ? 'for spender' : 'to'} ${decoded.token.counterparty}` : '';
      const call = !decoded.token && decoded.selector ? `; calls ${decoded.selector}` : '';
      return `tx chain ${decoded.chainId}: ${formatEther(BigInt(decoded.valueWei))} ETH to ${decoded.to ?? 'a new contract'}${token}${call}`;
    }
    case 'typedData':
      return `typed data ${decoded.primaryType ?? '(no primary type)'}${decoded.domain.name ? ` for ${decoded.domain.name}` : ''}${decoded.domain.chainId ? ` chain ${decoded.domain.chainId}` : ''}`;
    case 'message':
      return decoded.text === null ? `message of ${decoded.bytes} bytes (not text)` : `message ${JSON.stringify(decoded.text.length > 40 ? `${decoded.text.slice(0, 40)}...` : decoded.text)}`;
  }
}

/** "1/2 large" per quorum: approvals so far of the quorum, and the rule. */
export function quorumProgress(request: RequestView): string {
  return request.quorums
    .map((quorum) => {
      const ids = new Set(quorum.approvers.map((approver) => approver.approverId));
      return `${request.decisions.filter((decision) => decision.verdict === 'approve' && ids.has(decision.approverId)).length}/${quorum.quorum} ${quorum.rule}`;
    })
    .join(', ');
}

/**
 * The request as a person reads it: state, what it signs as the co-signer decoded it, the exact
 * payload (checked against its hashes first: a request that fails the check throws instead), the
 * quorums, the decisions and the result. `approverId` adds what this approver's decision signs.
 */
export function describeRequest(request: RequestView, options: { now?: number; approverId?: string } = {}): string {
  const wire = verifyRequestHashes(request);
  const now = options.now ?? Date.now();
  const decoded = request.decoded;
  const lines = [`Request ${request.requestId}: ${request.state}`];
  lines.push(
    ...rows([
      ['wallet', `${request.walletId}${request.address ? ` (${request.address})` : ''}`],
      ['created', iso(request.createdAt)],
      ['expires', `${iso(request.expiresAt)} (${relative(request.expiresAt, now)})`],
      ['updated', iso(request.updatedAt)],
    ]),
  );
  lines.push('', 'What it signs (as the co-signer decoded it):');
  const what: [string, string][] = [];
  if (decoded.kind === 'transaction') {
    what.push(['kind', 'transaction'], ['chain', String(decoded.chainId)], ['to', decoded.to ?? '(none: deploys a contract)'], ['value', `${formatEther(BigInt(decoded.valueWei))} ETH (${decoded.valueWei} wei)`]);
    what.push(['nonce', decoded.nonce === null ? '-' : String(decoded.nonce)], ['calldata', decoded.dataBytes === 0 ? 'none' : `${decoded.dataBytes} bytes, selector ${decoded.selector}`]);
    if (decoded.token) {
      what.push([`ERC-20 ${decoded.token.functionName}`, `${decoded.token.amount} token units (before the token's decimals)`], [`  ${decoded.token.role}`, decoded.token.counterparty], ['  token contract', decoded.to ?? '-']);
    }
    if (wire.kind === 'transaction') {
      const parsed = parseTransaction(wire.serialized);
      if (parsed.gas !== undefined) what.push(['gas limit', String(parsed.gas)]);
      if (parsed.maxFeePerGas !== undefined) what.push(['max fee', `${formatGwei(parsed.maxFeePerGas)} gwei per gas (priority ${formatGwei(parsed.maxPriorityFeePerGas ?? 0n)})`]);
      else if (parsed.gasPrice !== undefined) what.push(['gas price', `${formatGwei(parsed.gasPrice)} gwei`]);
    }
  } else if (decoded.kind === 'typedData') {
    what.push(['kind', 'typed data (EIP-712)'], ['primary type', decoded.primaryType ?? '-'], ['domain name', decoded.domain.name ?? '-'], ['domain version', decoded.domain.version ?? '-']);
    what.push(['domain chain', decoded.domain.chainId ?? '-'], ['verifying contract', decoded.domain.verifyingContract ?? '-']);
  } else {
    what.push(['kind', 'personal message (EIP-191)'], ['text', decoded.text === null ? `(not text: ${decoded.bytes} raw bytes)` : JSON.stringify(decoded.text)], ['length', `${decoded.bytes} bytes`]);
  }
  lines.push(...rows(what));
  lines.push('', 'Exactly what is signed (checked: the digest and payload hash are those of this payload):');
  lines.push(...rows([['digest', request.digest], ['payload hash', request.payloadHash]]));
  lines.push(`  payload       ${wire.kind === 'transaction' ? `unsigned transaction ${wire.serialized}` : JSON.stringify(wire.kind === 'typedData' ? wire.typedData : wire.message, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`);
  lines.push('', 'Approvals needed:');
  for (const quorum of request.quorums) lines.push(`  rule ${quorum.rule}: ${quorum.quorum} of ${quorum.approvers.map((approver) => (approver.approverId === options.approverId ? `${approver.name} (you)` : approver.name)).join(', ')}`);
  lines.push('', 'Decisions:');
  if (request.decisions.length === 0) lines.push('  none yet');
  else lines.push(...rows(request.decisions.map((decision) => [decision.approverId === options.approverId ? `${decision.name} (you)` : decision.name, `${decision.verdict} at ${iso(decision.decidedAt)}`])));
  const result = request.result;
  if (result && Object.keys(result).length > 0) {
    const entries: [string, string][] = [];
    if (result.transactionHash) entries.push(['tx hash', result.transactionHash]);
    if (result.signature) entries.push(['signature', result.signature]);
    if (result.rawTransaction) entries.push(['signed tx', result.rawTransaction]);
    if (result.error) entries.push(['error', result.error]);
    lines.push('', 'Result:', ...rows(entries));
  }
  if (options.approverId && request.state === 'pending-approval') {
    lines.push('', `Your decision signs: request ${request.requestId}, wallet ${request.walletId}, digest ${request.digest}, payload hash ${request.payloadHash}, your verdict and the time.`);
  }
  return lines.join('\n');
}
