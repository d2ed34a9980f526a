/**
 * Approvers and held requests on PostgreSQL: the same semantics as ../approvals.ts. pg-store.ts
 * owns the transactions and passes its Session in. A request is read FOR UPDATE wherever it may
 * move on, so two co-signers counting decisions on it (or one taking it to sign while another
 * expires it) wait for each other instead of deciding on stale rows.
 */
import type { Hex } from 'viem';
import type { RequestDecision, RequestResult, RequestState, RequestView } from '../../../channel/approval-protocol.js';
import { assertMove } from '../../approvals/state.js';
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
} from '../approval-records.js';
import type { EnvelopeCipher } from '../envelope.js';
import { ConflictError, DecisionRefusedError, NotFoundError } from '../errors.js';
import type { ApproverRecord, HeldRequestInput, RequestFilter, SettledRequestInput } from '../types.js';
import type { PgAuditLog } from './pg-audit.js';
import type { Param, Session } from './pg-sql.js';

/** A request whose quorums name the approver bound to the one parameter. */
const NAMES_APPROVER = "EXISTS (SELECT 1 FROM jsonb_array_elements(r.quorums::jsonb) q, jsonb_array_elements(q.value -> 'approvers') a WHERE a.value ->> 'approverId' = ?)";
const LOCK_REQUEST = 'FOR UPDATE OF r';

export class PgApprovalStore {
  constructor(
    private readonly cipher: EnvelopeCipher,
    private readonly audit: PgAuditLog,
    private readonly now: () => number,
  ) {}

  // ---- approvers

  async inviteApprover(sql: Session, input: { name: string; codeDigest: string; expiresAt: number; actor?: string }): Promise<void> {
    const now = this.now();
    if (await sql.get("SELECT 1 FROM approvers WHERE name = ? AND status = 'active'", input.name)) throw new ConflictError(`An approver named ${input.name} is already enrolled; remove them first or pick another name.`);
    await sql.run('DELETE FROM approver_invitations WHERE name = ? AND used_at IS NULL', input.name);
    await sql.run('INSERT INTO approver_invitations (code_digest, name, created_at, expires_at) VALUES (?, ?, ?, ?)', input.codeDigest, input.name, now, input.expiresAt);
    await this.audit.appendIn(sql, { kind: 'admin', at: now, summary: { action: 'invite-approver', name: input.name, expiresAt: new Date(input.expiresAt).toISOString(), actor: input.actor } });
  }

  async enrollApprover(sql: Session, input: { codeDigest: string; approverId: string; identityPublicKey: string }): Promise<ApproverRecord> {
    const now = this.now();
    const invitation = await sql.get<{ name: string; expires_at: number; used_at: number | null }>('SELECT name, expires_at, used_at FROM approver_invitations WHERE code_digest = ? FOR UPDATE', input.codeDigest);
    if (!invitation || invitation.used_at !== null || invitation.expires_at <= now) throw new ConflictError(BAD_CODE_MESSAGE);
    if (await sql.get('SELECT 1 FROM approvers WHERE approver_id = ? OR identity_public_key = ?', input.approverId, input.identityPublicKey)) {
      throw new ConflictError('This identity key is already enrolled as an approver.');
    }
    if (await sql.get('SELECT 1 FROM devices WHERE device_id = ? OR identity_public_key = ?', input.approverId, input.identityPublicKey)) {
      throw new ConflictError('This identity key belongs to a wallet device; an approver enrolls with a key of its own.');
    }
    await sql.run("DELETE FROM approvers WHERE name = ? AND status = 'removed'", invitation.name);
    await sql.run('UPDATE approver_invitations SET used_at = ? WHERE code_digest = ?', now, input.codeDigest);
    await sql.run("INSERT INTO approvers (approver_id, name, identity_public_key, status, created_at) VALUES (?, ?, ?, 'active', ?)", input.approverId, invitation.name, input.identityPublicKey, now);
    await this.audit.appendIn(sql, { kind: 'enroll', at: now, summary: { approverId: input.approverId, name: invitation.name, identityPublicKey: input.identityPublicKey } });
    return { approverId: input.approverId, name: invitation.name, identityPublicKey: input.identityPublicKey, status: 'active', createdAt: now };
  }

  async getApprover(sql: Session, approverId: string): Promise<ApproverRecord | undefined> {
    const row = await sql.get<ApproverRow>(`${APPROVER_SELECT} WHERE approver_id = ?`, approverId);
    return row ? toApprover(row) : undefined;
  }

  async listApprovers(sql: Session): Promise<ApproverRecord[]> {
    return (await sql.all<ApproverRow>(`${APPROVER_SELECT} ORDER BY created_at`)).map(toApprover);
  }

  async removeApprover(sql: Session, approverId: string, actor?: string): Promise<ApproverRecord> {
    const row = await sql.get<ApproverRow>(`${APPROVER_SELECT} WHERE approver_id = ? FOR UPDATE`, approverId);
    if (!row) throw new NotFoundError('approver', approverId);
    const now = this.now();
    if (row.status === 'active') {
      await sql.run("UPDATE approvers SET status = 'removed', removed_at = ? WHERE approver_id = ?", now, approverId);
      await this.audit.appendIn(sql, { kind: 'revoke', at: now, summary: { approverId, name: row.name, actor } });
      // Its decisions stop counting: a request that can no longer reach its quorum ends now, not at its expiry.
      for (const pending of await sql.all<RequestRow>(`${REQUEST_SELECT} WHERE r.state = 'pending-approval' AND ${NAMES_APPROVER} ORDER BY r.created_at, r.request_id ${LOCK_REQUEST}`, approverId)) {
        const outcome = await this.#tally(sql, pending);
        if (outcome.outcome === 'rejected') await this.#move(sql, pending, 'rejected', now, { error: `Rejected under rule ${outcome.rule}: approver ${row.name} was removed and its quorum can no longer be met.` });
      }
    }
    return toApprover({ ...row, status: 'removed', removed_at: row.removed_at ?? now });
  }

  // ---- held requests

  async insertHeld(sql: Session, input: HeldRequestInput, held: HeldSigningState, generation: number): Promise<RequestView> {
    const now = this.now();
    if (await sql.get('SELECT 1 FROM approval_requests WHERE request_id = ?', input.requestId)) throw new ConflictError(`Request ${input.requestId} exists already.`);
    const sealed = this.cipher.seal(JSON.stringify(held), heldContext(input.requestId, input.walletId, generation));
    await sql.run(
      `INSERT INTO approval_requests (request_id, wallet_id, device_id, state, payload_json, digest, payload_hash, decoded, quorums, presignature_id, generation, sealed, created_at, expires_at, updated_at)
       VALUES (?, ?, ?, 'pending-approval', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.requestId, input.walletId, input.deviceId, input.payloadJson, input.digest, input.payloadHash, JSON.stringify(input.decoded), JSON.stringify(input.quorums),
      input.presignatureId, generation, sealed, now, input.expiresAt, now,
    );
    await this.audit.appendIn(sql, holdAuditEntry(input, now));
    return (await this.getRequest(sql, input.requestId))!;
  }

  /** One statement, outside any transaction: one round trip on the path of every signature. */
  async recordSettled(sql: Session, input: SettledRequestInput): Promise<void> {
    const now = this.now();
    const inserted = await sql.get(
      `INSERT INTO approval_requests (request_id, wallet_id, device_id, state, payload_json, digest, payload_hash, decoded, quorums, presignature_id, generation, result, created_at, expires_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING RETURNING 1 AS inserted`,
      input.requestId, input.walletId, input.deviceId, input.state, input.payloadJson, input.digest, input.payloadHash, JSON.stringify(input.decoded),
      input.presignatureId ?? '', input.generation, JSON.stringify(input.result), now, now, now,
    );
    if (!inserted) throw new ConflictError(`Request ${input.requestId} exists already.`);
  }

  async getRequest(sql: Session, requestId: string): Promise<RequestView | undefined> {
    const row = await sql.get<RequestRow>(`${REQUEST_SELECT} WHERE r.request_id = ?`, requestId);
    return row ? this.#toView(sql, row) : undefined;
  }

  async listRequests(sql: Session, filter: RequestFilter = {}): Promise<RequestView[]> {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.walletId) (where.push('r.wallet_id = ?'), params.push(filter.walletId));
    if (filter.deviceId) (where.push('r.device_id = ?'), params.push(filter.deviceId));
    if (filter.states?.length) (where.push(`r.state IN (${filter.states.map(() => '?').join(', ')})`), params.push(...filter.states));
    if (filter.approverId) (where.push(NAMES_APPROVER), params.push(filter.approverId));
    const query = `${REQUEST_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.created_at DESC, r.request_id LIMIT ?`;
    return this.#toViews(sql, await sql.all<RequestRow>(query, ...params, Math.min(filter.limit ?? 50, 500)));
  }

  async recordDecision(sql: Session, input: { requestId: string; approverId: string; verdict: 'approve' | 'reject'; decidedAt: number; signature: Hex }): Promise<{ request: RequestView; counted: boolean }> {
    const now = this.now();
    const row = await this.#lockRequest(sql, input.requestId);
    if (!row) throw new DecisionRefusedError('UNKNOWN_REQUEST', `There is no request ${input.requestId}.`);
    if (!namedApprovers(row).includes(input.approverId)) {
      throw new DecisionRefusedError('NOT_AN_APPROVER', `This approver is not one of the approvers of request ${input.requestId}.`);
    }
    if (!(await sql.get("SELECT 1 FROM approvers WHERE approver_id = ? AND status = 'active'", input.approverId))) {
      throw new DecisionRefusedError('NOT_AN_APPROVER', 'This approver was removed by the operator; its decisions no longer count.');
    }
    const earlier = await sql.get<{ verdict: string }>('SELECT verdict FROM approval_decisions WHERE request_id = ? AND approver_id = ?', input.requestId, input.approverId);
    if (earlier) {
      if (earlier.verdict !== input.verdict) throw new DecisionRefusedError('CONFLICTING_DECISION', `You already decided to ${earlier.verdict} request ${input.requestId}; a decision cannot be changed.`);
      return { request: await this.#toView(sql, row), counted: false };
    }
    if (row.state !== 'pending-approval') throw new DecisionRefusedError('NOT_PENDING', `Request ${input.requestId} is ${row.state}; it takes no more decisions.`);
    if (row.expires_at <= now) throw new DecisionRefusedError('EXPIRED', `Request ${input.requestId} expired at ${new Date(row.expires_at).toISOString()}.`);
    await sql.run(
      'INSERT INTO approval_decisions (request_id, approver_id, verdict, decided_at, received_at, signature) VALUES (?, ?, ?, ?, ?, ?)',
      input.requestId, input.approverId, input.verdict, input.decidedAt, now, input.signature,
    );
    const outcome = await this.#tally(sql, row);
    await this.audit.appendIn(sql, {
      kind: 'decision',
      walletId: row.wallet_id,
      at: now,
      summary: { requestId: input.requestId, approverId: input.approverId, verdict: input.verdict, decidedAt: new Date(input.decidedAt).toISOString(), signature: input.signature, digest: row.digest, payloadHash: row.payload_hash, outcome: outcome.outcome },
    });
    if (outcome.outcome === 'approved') await this.#move(sql, row, 'approved', now);
    if (outcome.outcome === 'rejected') await this.#move(sql, row, 'rejected', now, { error: `Rejected under rule ${outcome.rule}: its quorum can no longer be met.` });
    return { request: (await this.getRequest(sql, input.requestId))!, counted: true };
  }

  async takeApproved(sql: Session, requestId: string): Promise<{ view: RequestView; held: HeldSigningState }> {
    const row = await this.#lockRequest(sql, requestId);
    if (!row) throw new NotFoundError('request', requestId);
    if (row.state !== 'approved' || !row.sealed) throw new DecisionRefusedError('NOT_PENDING', `Request ${requestId} is ${row.state}${row.sealed ? '' : ' and already taken'}; it cannot be signed now.`);
    const held = JSON.parse(this.cipher.openString(row.sealed, heldContext(requestId, row.wallet_id, row.generation))) as HeldSigningState;
    await sql.run('UPDATE approval_requests SET sealed = NULL, updated_at = ? WHERE request_id = ?', this.now(), requestId);
    return { view: await this.#toView(sql, { ...row, sealed: null }), held };
  }

  async finish(sql: Session, requestId: string, state: 'signed' | 'broadcast' | 'failed', result: RequestResult): Promise<RequestView> {
    const row = await this.#lockRequest(sql, requestId);
    if (!row) throw new NotFoundError('request', requestId);
    const previous = row.result ? (JSON.parse(row.result) as RequestResult) : {};
    await this.#move(sql, row, state, this.now(), { ...previous, ...result });
    return (await this.getRequest(sql, requestId))!;
  }

  async expireDue(sql: Session): Promise<RequestView[]> {
    const now = this.now();
    const due = await sql.all<RequestRow>(`${REQUEST_SELECT} WHERE r.state = 'pending-approval' AND r.expires_at <= ? ORDER BY r.created_at, r.request_id ${LOCK_REQUEST}`, now);
    for (const row of due) await this.#move(sql, row, 'expired', now, { error: EXPIRED_ERROR(row.expires_at) });
    return this.#reread(sql, due);
  }

  async listEndedSince(sql: Session, sinceMs: number): Promise<RequestView[]> {
    return this.#toViews(sql, await sql.all<RequestRow>(`${REQUEST_SELECT} WHERE r.updated_at >= ? AND r.state IN ('rejected', 'failed') AND r.quorums != '[]' ORDER BY r.updated_at LIMIT 500`, sinceMs));
  }

  async listApprovedUnsigned(sql: Session): Promise<string[]> {
    return (await sql.all<{ request_id: string }>("SELECT request_id FROM approval_requests WHERE state = 'approved' AND sealed IS NOT NULL")).map((row) => row.request_id);
  }

  async failInterrupted(sql: Session): Promise<RequestView[]> {
    const rows = await sql.all<RequestRow>(`${REQUEST_SELECT} WHERE r.state = 'approved' AND r.sealed IS NULL ORDER BY r.created_at, r.request_id ${LOCK_REQUEST}`);
    for (const row of rows) await this.#move(sql, row, 'failed', this.now(), { error: INTERRUPTED_ERROR });
    return this.#reread(sql, rows);
  }

  async failHeldForWallet(sql: Session, walletId: string, now: number): Promise<number> {
    const rows = await sql.all<RequestRow>(`${REQUEST_SELECT} WHERE r.wallet_id = ? AND r.state IN ('pending-approval', 'approved') AND r.sealed IS NOT NULL ORDER BY r.created_at, r.request_id ${LOCK_REQUEST}`, walletId);
    for (const row of rows) await this.#move(sql, row, 'failed', now, { error: HELD_DROPPED_ERROR });
    return rows.length;
  }

  async failHeldForDevice(sql: Session, deviceId: string, now: number): Promise<number> {
    const rows = await sql.all<RequestRow>(`${REQUEST_SELECT} WHERE r.device_id = ? AND r.state IN ('pending-approval', 'approved') ORDER BY r.created_at, r.request_id ${LOCK_REQUEST}`, deviceId);
    for (const row of rows) await this.#move(sql, row, 'failed', now, { error: DEVICE_REVOKED_ERROR });
    return rows.length;
  }

  async countPending(sql: Session, filter: { walletId?: string; approverId?: string }): Promise<number> {
    const pending = await this.listRequests(sql, { ...filter, states: ['pending-approval'], limit: 500 });
    return pending.filter((request) => !filter.approverId || !request.decisions.some((decision) => decision.approverId === filter.approverId)).length;
  }

  async heldValue(sql: Session, walletId: string, chainId: number, exceptRequestId?: string): Promise<bigint> {
    const rows = await sql.all<{ request_id: string; decoded: string }>("SELECT request_id, decoded FROM approval_requests WHERE wallet_id = ? AND state IN ('pending-approval', 'approved')", walletId);
    return heldValueOf(rows, chainId, exceptRequestId);
  }

  #lockRequest(sql: Session, requestId: string): Promise<RequestRow | undefined> {
    return sql.get<RequestRow>(`${REQUEST_SELECT} WHERE r.request_id = ? ${LOCK_REQUEST}`, requestId);
  }

  async #tally(sql: Session, row: RequestRow): Promise<ReturnType<typeof tally>> {
    const active = new Set((await sql.all<{ approver_id: string }>("SELECT approver_id FROM approvers WHERE status = 'active'")).map((r) => r.approver_id));
    return tally(row, await this.#decisions(sql, row.request_id), active);
  }

  async #move(sql: Session, row: RequestRow, to: RequestState, now: number, result?: RequestResult): Promise<void> {
    assertMove(row.request_id, row.state, to);
    const keepSealed = to === 'approved';
    await sql.run(
      `UPDATE approval_requests SET state = ?, updated_at = ?, result = coalesce(?, result)${keepSealed ? '' : ', sealed = NULL'} WHERE request_id = ?`,
      to, now, result ? JSON.stringify(result) : null, row.request_id,
    );
    const entry = moveAuditEntry(row, to, now, result);
    if (entry) await this.audit.appendIn(sql, entry);
  }

  async #decisions(sql: Session, requestId: string): Promise<RequestDecision[]> {
    return (await sql.all<DecisionRow>(DECISIONS_SELECT, requestId)).map(toDecision);
  }

  async #toView(sql: Session, row: RequestRow): Promise<RequestView> {
    return toView(row, await this.#decisions(sql, row.request_id));
  }

  async #toViews(sql: Session, rows: RequestRow[]): Promise<RequestView[]> {
    const views: RequestView[] = [];
    for (const row of rows) views.push(await this.#toView(sql, row));
    return views;
  }

  async #reread(sql: Session, rows: RequestRow[]): Promise<RequestView[]> {
    const views: RequestView[] = [];
    for (const row of rows) views.push((await this.getRequest(sql, row.request_id))!);
    return views;
  }
}
