/**
 * A held request as a person reads it: the operator's CLI (`requests list`, `requests show`) and
 * the headless client's (devices and approvers) both render it from here, each adding what only
 * it shows (the client: the checked payload and the fees; the operator: ids and the hash check).
 *
 * Loads nothing at run time (types only; viem's formatEther is passed in), so the operator's CLI
 * can import it, and list the request states in its help, without paying for viem.
 */
import type { DecodedRequest, RequestView } from './approval-protocol.js';

/** Every state of a request (approval-protocol.ts re-exports them; they live here to stay light). */
export const REQUEST_STATES = ['pending-approval', 'approved', 'rejected', 'expired', 'signed', 'broadcast', 'failed'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export type FormatEther = (wei: bigint) => string;

/** A label and its value, one line of a block whose values line up. */
export type Row = [label: string, value: string];

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "in 3 h 2 min" / "12 min ago", for an expiry. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  const minutes = Math.round(Math.abs(delta) / 60_000);
  const text = minutes < 1 ? 'less than a minute' : minutes < 120 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${Math.round(minutes / 1440)} days`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** Indented rows, labels padded to the longest. */
function indentedRows(rows: Row[]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
}

/** One line: what the request would sign. */
export function requestSummary(decoded: DecodedRequest, formatEther: FormatEther): string {
  switch (decoded.kind) {
    case 'transaction': {
      const to = decoded.to ?? 'a new contract';
      const token = decoded.token ? `; ${decoded.token.functionName} ${decoded.token.amount} (token units) ${decoded.token.role === 'spender' ? 'for spender' : 'to'} ${decoded.token.counterparty}` : '';
      const call = !decoded.token && decoded.selector ? `; calls ${decoded.selector}` : '';
      return `tx chain ${decoded.chainId}: ${formatEther(BigInt(decoded.valueWei))} ETH to ${to}${token}${call}`;
    }
    case 'typedData':
      return `typed data ${decoded.primaryType ?? '(no primary type)'}${decoded.domain.name ? ` for ${decoded.domain.name}` : ''}${decoded.domain.chainId ? ` chain ${decoded.domain.chainId}` : ''}`;
    case 'message':
      return decoded.text === null ? `message of ${decoded.bytes} bytes (not text)` : `message ${JSON.stringify(decoded.text.length > 40 ? `${decoded.text.slice(0, 40)}...` : decoded.text)}`;
  }
}

/** "1/2 large" per quorum: approvals counted so far of the quorum, and the rule. */
export function quorumProgress(request: RequestView): string {
  return request.quorums
    .map((quorum) => {
      const ids = new Set(quorum.approvers.map((approver) => approver.approverId));
      const approvals = request.decisions.filter((decision) => decision.verdict === 'approve' && ids.has(decision.approverId)).length;
      return `${approvals}/${quorum.quorum} ${quorum.rule}`;
    })
    .join(', ');
}

/** What the request signs, as the co-signer decoded it. */
export function decodedRows(decoded: DecodedRequest, formatEther: FormatEther): Row[] {
  switch (decoded.kind) {
    case 'transaction': {
      const rows: Row[] = [
        ['kind', 'transaction'],
        ['chain', String(decoded.chainId)],
        ['to', decoded.to ?? '(none: deploys a contract)'],
        ['value', `${formatEther(BigInt(decoded.valueWei))} ETH (${decoded.valueWei} wei)`],
        ['nonce', decoded.nonce === null ? '-' : String(decoded.nonce)],
        ['calldata', decoded.dataBytes === 0 ? 'none' : `${decoded.dataBytes} bytes, selector ${decoded.selector}`],
      ];
      if (decoded.token) {
        rows.push([`ERC-20 ${decoded.token.functionName}`, `${decoded.token.amount} token units (before the token's decimals)`]);
        rows.push([`  ${decoded.token.role}`, decoded.token.counterparty]);
        rows.push(['  token contract', decoded.to ?? '-']);
      }
      return rows;
    }
    case 'typedData':
      return [
        ['kind', 'typed data (EIP-712)'],
        ['primary type', decoded.primaryType ?? '-'],
        ['domain name', decoded.domain.name ?? '-'],
        ['domain version', decoded.domain.version ?? '-'],
        ['domain chain', decoded.domain.chainId ?? '-'],
        ['verifying contract', decoded.domain.verifyingContract ?? '-'],
      ];
    case 'message':
      return [
        ['kind', 'personal message (EIP-191)'],
        ['text', decoded.text === null ? `(not text: ${decoded.bytes} raw bytes)` : JSON.stringify(decoded.text)],
        ['length', `${decoded.bytes} bytes`],
      ];
  }
}

export interface DescribeRequestOptions {
  now: number;
  /** What the request signs, after its header: headed blocks of rows (decodedRows() and what the caller checked). */
  signs: { heading: string; rows: Row[] }[];
  /** The operator's view: the device, and each approver's id beside its name. */
  ids?: boolean;
  /** The approver reading it: its name is marked "(you)", and a pending request ends with what its decision signs. */
  approverId?: string;
  /** Lays out a block of rows, indented (default: labels padded to the longest). */
  layout?: (rows: Row[]) => string[];
}

/** The full text of a request: header, what it signs, the quorums, the decisions and the result. */
export function describeRequest(request: RequestView, options: DescribeRequestOptions): string {
  const layout = options.layout ?? indentedRows;
  const named = (approver: { approverId: string; name: string }) => `${approver.name}${approver.approverId === options.approverId ? ' (you)' : ''}${options.ids ? ` (${approver.approverId})` : ''}`;
  const lines = [`Request ${request.requestId}: ${request.state}`];
  lines.push(
    ...layout([
      ['wallet', `${request.walletId}${request.address ? ` (${request.address})` : ''}`],
      ...(options.ids ? [['device', request.deviceId] satisfies Row] : []),
      ['created', iso(request.createdAt)],
      ['expires', `${iso(request.expiresAt)} (${relative(request.expiresAt, options.now)})`],
      ['updated', iso(request.updatedAt)],
    ]),
  );
  for (const section of options.signs) lines.push('', section.heading, ...layout(section.rows));
  lines.push('', 'Approvals needed:');
  for (const quorum of request.quorums) lines.push(`  rule ${quorum.rule}: ${quorum.quorum} of ${quorum.approvers.map(named).join(', ')}`);
  lines.push('', 'Decisions:');
  if (request.decisions.length === 0) lines.push('  none yet');
  else lines.push(...layout(request.decisions.map((decision) => [decision.approverId === options.approverId ? `${decision.name} (you)` : decision.name, `${decision.verdict} at ${iso(decision.decidedAt)}${options.ids ? ` (${decision.approverId})` : ''}`])));
  const result = request.result;
  if (result && Object.keys(result).length > 0) {
    const rows: Row[] = [];
    if (result.transactionHash) rows.push(['tx hash', result.transactionHash]);
    if (result.signature) rows.push(['signature', result.signature]);
    if (result.rawTransaction) rows.push(['signed tx', result.rawTransaction]);
    if (result.error) rows.push(['error', result.error]);
    lines.push('', 'Result:', ...layout(rows));
  }
  if (options.approverId && request.state === 'pending-approval') {
    lines.push('', `Your decision signs: request ${request.requestId}, wallet ${request.walletId}, digest ${request.digest}, payload hash ${request.payloadHash}, your verdict and the time.`);
  }
  return lines.join('\n');
}
