/**
 * Approvers and held requests on SQLite, beside the rest of the co-signer's store (database.ts
 * owns the connection and calls in here inside its own transactions).
 *
 * A held request keeps what the co-signer needs to finish the signature later: its presignature
 * state and the device's online message for that one digest, sealed. Whoever finishes it takes
 * that row's sealed state in the same transaction that records the signing, so it serves once;
 * expiry, rejection and a refresh or lock wipe it. A copy restored from a backup could only ever
 * produce the same signature over the same digest: the device's message is bound to it.
 */
import type Database from 'better-sqlite3';
import { Statements, type Param } from './statements.js';
import type { RequestDecision, RequestResult, RequestState, RequestView } from '../../channel/approval-protocol.js';
import type { Hex } from 'viem';
import { assertMove } from '../approvals/state.js';
import type { SqliteAuditLog } from '../audit/audit-log.js';
import type { EnvelopeCipher } from './envelope.js';
import { ConflictError, DecisionRefusedError, NotFoundError } from './errors.js';
import type { ApproverRecord, HeldRequestInput, RequestFilter, SettledRequestInput } from './types.js';
import {
  APPROVER_SELECT,
  BAD_CODE_MESSAGE,
  DECISIONS_SELECT,
  DEVICE_REVOKED_ERROR,
  EXPIRED_ERROR,
  HELD_DROPPED_ERROR,
  heldContext,
  heldValueOf,
  holdAuditEntry,
  INTERRUPTED_ERROR,
  moveAuditEntry,
  namedApprovers,
  REQUEST_SELECT,
  tally,
  toApprover,
  toDecision,
  toView,
  type ApproverRow,
  type DecisionRow,
  type HeldSigningState,
  type RequestRow,
} from './approval-records.js';

export type { HeldSigningState } from './approval-records.js';

/** A request whose quorums name the approver bound to the one parameter. */
const NAMES_APPROVER = "EXISTS (SELECT 1 FROM json_each(r.quorums) q, json_each(q.value, '$.approvers') a WHERE json_extract(a.value, '$.approverId') = ?)";

export class SqliteApprovalStore {
  readonly #sql: Statements;

  constructor(
    db: Database.Database,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: SqliteAuditLog,
    private readonly now: () => number,
  ) {
    this.#sql = new Statements(db);
  }

  // ---- approvers

  inviteApprover(input: { name: string; codeDigest: string; expiresAt: number; actor?: string }): void {
    const now = this.now();
    if (this.#get('SELECT 1 FROM approvers WHERE name = ? AND status = ?', input.name, 'active')) throw new ConflictError(`An approver named ${input.name} is already enrolled; remove them first or pick another name.`);
    this.#run('DELETE FROM approver_invitations WHERE name = ? AND used_at IS NULL', input.name);
    this.#run('INSERT INTO approver_invitations (code_digest, name, created_at, expires_at) VALUES (?, ?, ?, ?)', input.codeDigest, input.name, now, input.expiresAt);
    this.audit.append({ kind: 'admin', at: now, summary: { action: 'invite-approver', name: input.name, expiresAt: new Date(input.expiresAt).toISOString(), actor: input.actor } });
  }

  /** Takes the invitation with this code (once, before its expiry) and enrolls the key as that approver. */
  enrollApprover(input: { codeDigest: string; approverId: string; identityPublicKey: string }): ApproverRecord {
    const now = this.now();
    const invitation = this.#get<{ name: string; expires_at: number; used_at: number | null }>('SELECT name, expires_at, used_at FROM approver_invitations WHERE code_digest = ?', input.codeDigest);
    if (!invitation || invitation.used_at !== null || invitation.expires_at <= now) {
      throw new ConflictError(BAD_CODE_MESSAGE);
    }
    if (this.#get('SELECT 1 FROM approvers WHERE approver_id = ? OR identity_public_key = ?', input.approverId, input.identityPublicKey)) {
      throw new ConflictError('This identity key is already enrolled as an approver.');
    }
    if (this.#get('SELECT 1 FROM devices WHERE device_id = ? OR identity_public_key = ?', input.approverId, input.identityPublicKey)) {
      throw new ConflictError('This identity key belongs to a wallet device; an approver enrolls with a key of its own.');
    }
    this.#run("DELETE FROM approvers WHERE name = ? AND status = 'removed'", invitation.name);
    this.#run('UPDATE approver_invitations SET used_at = ? WHERE code_digest = ?', now, input.codeDigest);
    this.#run("INSERT INTO approvers (approver_id, name, identity_public_key, status, created_at) VALUES (?, ?, ?, 'active', ?)", input.approverId, invitation.name, input.identityPublicKey, now);
    this.audit.append({ kind: 'enroll', at: now, summary: { approverId: input.approverId, name: invitation.name, identityPublicKey: input.identityPublicKey } });
    return { approverId: input.approverId, name: invitation.name, identityPublicKey: input.identityPublicKey, status: 'active', createdAt: now };
  }

  getApprover(approverId: string): ApproverRecord | undefined {
    const row = this.#get<ApproverRow>(`${APPROVER_SELECT} WHERE approver_id = ?`, approverId);
    return row ? toApprover(row) : undefined;
  }

  listApprovers(): ApproverRecord[] {
    return this.#all<ApproverRow>(`${APPROVER_SELECT} ORDER BY created_at`).map(toApprover);
  }

  removeApprover(approverId: string, actor?: string): ApproverRecord {
    const row = this.#get<ApproverRow>(`${APPROVER_SELECT} WHERE approver_id = ?`, approverId);
    if (!row) throw new NotFoundError('approver', approverId);
    const now = this.now();
    if (row.status === 'active') {
      this.#run("UPDATE approvers SET status = 'removed', removed_at = ? WHERE approver_id = ?", now, approverId);
      this.audit.append({ kind: 'revoke', at: now, summary: { approverId, name: row.name, actor } });
      // Its decisions stop counting: a request that can no longer reach its quorum ends now, not at its expiry.
      for (const pending of this.#all<RequestRow>(`${REQUEST_SELECT} WHERE r.state = 'pending-approval' AND ${NAMES_APPROVER}`, approverId)) {
        const tally = this.#tally(pending);
        if (tally.outcome === 'rejected') this.#move(pending, 'rejected', now, { error: `Rejected under rule ${tally.rule}: approver ${row.name} was removed and its quorum can no longer be met.` });
      }
    }
    return toApprover({ ...row, status: 'removed', removed_at: row.removed_at ?? now });
  }

  // ---- held requests

  /** Inserts a held request; the caller has taken its presignature in the same transaction. */
  insertHeld(input: HeldRequestInput, held: HeldSigningState, generation: number): RequestView {
    const now = this.now();
    if (this.#get('SELECT 1 FROM approval_requests WHERE request_id = ?', input.requestId)) throw new ConflictError(`Request ${input.requestId} exists already.`);
    const sealed = this.cipher.seal(JSON.stringify(held), heldContext(input.requestId, input.walletId, generation));
    this.#run(
      `INSERT INTO approval_requests (request_id, wallet_id, device_id, state, payload_json, digest, payload_hash, decoded, quorums, presignature_id, generation, sealed, created_at, expires_at, updated_at)
       VALUES (?, ?, ?, 'pending-approval', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.requestId, input.walletId, input.deviceId, input.payloadJson, input.digest, input.payloadHash, JSON.stringify(input.decoded), JSON.stringify(input.quorums),
      input.presignatureId, generation, sealed, now, input.expiresAt, now,
    );
    this.audit.append(holdAuditEntry(input, now));
    return this.getRequest(input.requestId)!;
  }

  /** A request that never waited (signed at once, or refused by the policy): kept so every request can be asked about. */
  recordSettled(input: SettledRequestInput): void {
    const now = this.now();
    const inserted = this.#run(
      `INSERT INTO approval_requests (request_id, wallet_id, device_id, state, payload_json, digest, payload_hash, decoded, quorums, presignature_id, generation, result, created_at, expires_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
      input.requestId, input.walletId, input.deviceId, input.state, input.payloadJson, input.digest, input.payloadHash, JSON.stringify(input.decoded),
      input.presignatureId ?? '', input.generation, JSON.stringify(input.result), now, now, now,
    );
    if (inserted.changes === 0) throw new ConflictError(`Request ${input.requestId} exists already.`);
  }

  getRequest(requestId: string): RequestView | undefined {
    const row = this.#get<RequestRow>(`${REQUEST_SELECT} WHERE r.request_id = ?`, requestId);
    return row ? this.#toView(row) : undefined;
  }

  listRequests(filter: RequestFilter = {}): RequestView[] {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.walletId) (where.push('r.wallet_id = ?'), params.push(filter.walletId));
    if (filter.deviceId) (where.push('r.device_id = ?'), params.push(filter.deviceId));
    if (filter.states?.length) (where.push(`r.state IN (${filter.states.map(() => '?').join(', ')})`), params.push(...filter.states));
    // Exactly an approver of one of its quorums: a rule id or an approver's name may look like an approver id.
    if (filter.approverId) {
      where.push(NAMES_APPROVER);
      params.push(filter.approverId);
    }
    const sql = `${REQUEST_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.created_at DESC, r.request_id LIMIT ?`;
    return this.#all<RequestRow>(sql, ...params, Math.min(filter.limit ?? 50, 500)).map((row) => this.#toView(row));
  }

  /**
   * Records one approver's verified decision and moves the request on when the quorums say so.
   * The same decision again changes nothing (counted: false); a different one from the same approver is refused.
   */
  recordDecision(input: { requestId: string; approverId: string; verdict: 'approve' | 'reject'; decidedAt: number; signature: Hex }): { request: RequestView; counted: boolean } {
    const now = this.now();
    const row = this.#get<RequestRow>(`${REQUEST_SELECT} WHERE r.request_id = ?`, input.requestId);
    if (!row) throw new DecisionRefusedError('UNKNOWN_REQUEST', `There is no request ${input.requestId}.`);
    if (!namedApprovers(row).includes(input.approverId)) {
      throw new DecisionRefusedError('NOT_AN_APPROVER', `This approver is not one of the approvers of request ${input.requestId}.`);
    }
    if (!this.#isActive(input.approverId)) throw new DecisionRefusedError('NOT_AN_APPROVER', 'This approver was removed by the operator; its decisions no longer count.');
    const earlier = this.#get<{ verdict: string }>('SELECT verdict FROM approval_decisions WHERE request_id = ? AND approver_id = ?', input.requestId, input.approverId);
    if (earlier) {
      if (earlier.verdict !== input.verdict) throw new DecisionRefusedError('CONFLICTING_DECISION', `You already decided to ${earlier.verdict} request ${input.requestId}; a decision cannot be changed.`);
      return { request: this.#toView(row), counted: false };
    }
    if (row.state !== 'pending-approval') throw new DecisionRefusedError('NOT_PENDING', `Request ${input.requestId} is ${row.state}; it takes no more decisions.`);
    if (row.expires_at <= now) throw new DecisionRefusedError('EXPIRED', `Request ${input.requestId} expired at ${new Date(row.expires_at).toISOString()}.`);
    this.#run(
      'INSERT INTO approval_decisions (request_id, approver_id, verdict, decided_at, received_at, signature) VALUES (?, ?, ?, ?, ?, ?)',
      input.requestId, input.approverId, input.verdict, input.decidedAt, now, input.signature,
    );
    const tally = this.#tally(row);
    this.audit.append({
      kind: 'decision',
      walletId: row.wallet_id,
      at: now,
      summary: { requestId: input.requestId, approverId: input.approverId, verdict: input.verdict, decidedAt: new Date(input.decidedAt).toISOString(), signature: input.signature, digest: row.digest, payloadHash: row.payload_hash, outcome: tally.outcome },
    });
    if (tally.outcome === 'approved') this.#move(row, 'approved', now);
    if (tally.outcome === 'rejected') this.#move(row, 'rejected', now, { error: `Rejected under rule ${tally.rule}: its quorum can no longer be met.` });
    return { request: this.getRequest(input.requestId)!, counted: true };
  }

  /**
   * Takes an approved request's sealed signing state, once: the row keeps no copy. The caller
   * records the signing (audit and spend) in the same transaction.
   */
  takeApproved(requestId: string): { view: RequestView; held: HeldSigningState } {
    const row = this.#get<RequestRow>(`${REQUEST_SELECT} WHERE r.request_id = ?`, requestId);
    if (!row) throw new NotFoundError('request', requestId);
    if (row.state !== 'approved' || !row.sealed) throw new DecisionRefusedError('NOT_PENDING', `Request ${requestId} is ${row.state}${row.sealed ? '' : ' and already taken'}; it cannot be signed now.`);
    const held = JSON.parse(this.cipher.openString(row.sealed, heldContext(requestId, row.wallet_id, row.generation))) as HeldSigningState;
    this.#run('UPDATE approval_requests SET sealed = NULL, updated_at = ? WHERE request_id = ?', this.now(), requestId);
    return { view: this.#toView({ ...row, sealed: null }), held };
  }

  /** Moves a request on (signed, broadcast or failed) with what came of it. */
  finish(requestId: string, state: 'signed' | 'broadcast' | 'failed', result: RequestResult): RequestView {
    const row = this.#get<RequestRow>(`${REQUEST_SELECT} WHERE r.request_id = ?`, requestId);
    if (!row) throw new NotFoundError('request', requestId);
    const previous = row.result ? (JSON.parse(row.result) as RequestResult) : {};
    this.#move(row, state, this.now(), { ...previous, ...result });
    return this.getRequest(requestId)!;
  }

  /** Expires every pending request past its window and wipes what it held. Returns them. */
  expireDue(): RequestView[] {
    const now = this.now();
    const due = this.#all<RequestRow>(`${REQUEST_SELECT} WHERE r.state = 'pending-approval' AND r.expires_at <= ?`, now);
    for (const row of due) this.#move(row, 'expired', now, { error: EXPIRED_ERROR(row.expires_at) });
    return due.map((row) => this.getRequest(row.request_id)!);
  }

  /**
   * Held requests ended at or after `sinceMs` (rejected or failed: by an approver's removal or a
   * device's revocation, possibly in another process such as the operator's CLI), oldest first.
   */
  listEndedSince(sinceMs: number): RequestView[] {
    return this.#all<RequestRow>(`${REQUEST_SELECT} WHERE r.updated_at >= ? AND r.state IN ('rejected', 'failed') AND r.quorums != '[]' ORDER BY r.updated_at LIMIT 500`, sinceMs).map((row) => this.#toView(row));
  }

  /** Approved requests whose signing state is still there: a co-signer stopped between approval and signing. */
  listApprovedUnsigned(): string[] {
    return this.#all<{ request_id: string }>("SELECT request_id FROM approval_requests WHERE state = 'approved' AND sealed IS NOT NULL").map((row) => row.request_id);
  }

  /** Approved requests whose signing state was taken but never finished: the co-signer stopped mid-signature. */
  failInterrupted(): RequestView[] {
    const rows = this.#all<RequestRow>(`${REQUEST_SELECT} WHERE r.state = 'approved' AND r.sealed IS NULL`);
    for (const row of rows) this.#move(row, 'failed', this.now(), { error: INTERRUPTED_ERROR });
    return rows.map((row) => this.getRequest(row.request_id)!);
  }

  /** A refresh, restore or lock replaced the shares the held presignatures were made with: those requests fail. */
  failHeldForWallet(walletId: string, now: number): number {
    const rows = this.#all<RequestRow>(`${REQUEST_SELECT} WHERE r.wallet_id = ? AND r.state IN ('pending-approval', 'approved') AND r.sealed IS NOT NULL`, walletId);
    for (const row of rows) this.#move(row, 'failed', now, { error: HELD_DROPPED_ERROR });
    return rows.length;
  }

  countPending(filter: { walletId?: string; approverId?: string }): number {
    return this.listRequests({ ...filter, states: ['pending-approval'], limit: 500 }).filter((request) => !filter.approverId || !request.decisions.some((decision) => decision.approverId === filter.approverId)).length;
  }

  /** Where the decisions leave a request, counting only approvers that are still enrolled. */
  #tally(row: RequestRow): ReturnType<typeof tally> {
    const active = new Set(this.#all<{ approver_id: string }>("SELECT approver_id FROM approvers WHERE status = 'active'").map((r) => r.approver_id));
    return tally(row, this.#decisions(row.request_id), active);
  }

  #isActive(approverId: string): boolean {
    return this.#get("SELECT 1 FROM approvers WHERE approver_id = ? AND status = 'active'", approverId) !== undefined;
  }

  /** Native value (wei) of this wallet's transactions on a chain that are held and may still be signed: they count toward the daily limit. */
  heldValue(walletId: string, chainId: number, exceptRequestId?: string): bigint {
    return heldValueOf(this.#all<{ request_id: string; decoded: string }>("SELECT request_id, decoded FROM approval_requests WHERE wallet_id = ? AND state IN ('pending-approval', 'approved')", walletId), chainId, exceptRequestId);
  }

  /** A revoked device's held requests are never signed. */
  failHeldForDevice(deviceId: string, now: number): number {
    const rows = this.#all<RequestRow>(`${REQUEST_SELECT} WHERE r.device_id = ? AND r.state IN ('pending-approval', 'approved')`, deviceId);
    for (const row of rows) this.#move(row, 'failed', now, { error: DEVICE_REVOKED_ERROR });
    return rows.length;
  }

  #move(row: RequestRow, to: RequestState, now: number, result?: RequestResult): void {
    assertMove(row.request_id, row.state, to);
    const keepSealed = to === 'approved';
    this.#run(
      `UPDATE approval_requests SET state = ?, updated_at = ?, result = coalesce(?, result)${keepSealed ? '' : ', sealed = NULL'} WHERE request_id = ?`,
      to, now, result ? JSON.stringify(result) : null, row.request_id,
    );
    const entry = moveAuditEntry(row, to, now, result);
    if (entry) this.audit.append(entry);
  }

  #decisions(requestId: string): RequestDecision[] {
    return this.#all<DecisionRow>(DECISIONS_SELECT, requestId).map(toDecision);
  }

  #toView(row: RequestRow): RequestView {
    return toView(row, this.#decisions(row.request_id));
  }

  #run(sql: string, ...params: Param[]): Database.RunResult {
    return this.#sql.run(sql, ...params);
  }

  #get<T>(sql: string, ...params: Param[]): T | undefined {
    return this.#sql.get<T>(sql, ...params);
  }

  #all<T>(sql: string, ...params: Param[]): T[] {
    return this.#sql.all<T>(sql, ...params);
  }
}
