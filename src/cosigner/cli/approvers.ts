import { createHash, randomBytes } from 'node:crypto';
import { iso } from '../../channel/request-text.js';
import type { ApprovalStore, ApproverRecord } from '../store/types.js';
import type { CosignerStore } from '../store/types.js';
import { stringValue } from './args.js';
import { DATA_DIR_HELP, DATABASE_HELP, MASTER_KEY_HELP, PROGRAM, STORE_OPTIONS, type Command, type Values } from './command.js';
import { withStore } from './data.js';
import { CliUsageError, CosignerCliError } from './errors.js';
import { table } from './format.js';
import type { CliIo } from './io.js';

const DEFAULT_ACTOR = 'operator';
const DEFAULT_EXPIRY = '24h';
const MAX_EXPIRY_MS = 30 * 86_400_000;
/** Letters, digits and . _ @ -: typed on command lines and in policies, so no spaces. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const APPROVER_ID_PATTERN = /^[0-9a-f]{32}$/;
/** RFC 4648 base32 alphabet: no 0/1/8/9, so a code read aloud or copied from paper is not misread. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export const approversInviteCommand: Command = {
  name: 'approvers invite',
  usage: 'approvers invite <name> [--expires 24h] [--actor <name>] [--json]',
  summary: 'Invite a second approver: prints a one-time enrollment code (only its SHA-256 is stored) for `npm run client -- approver enroll`.',
  positionals: ['name'],
  options: { ...STORE_OPTIONS, expires: { type: 'string' }, actor: { type: 'string' }, json: { type: 'boolean' } },
  help: [
    ['--expires <duration>', `How long the code works: a number with s, m, h or d (default ${DEFAULT_EXPIRY}, at most 30d).`],
    ['--actor <name>', `Who invited (kept in the audit log). Default "${DEFAULT_ACTOR}".`],
    ['--json', 'Print {name, code, expiresAt} as JSON.'],
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
  ],
  run: runInvite,
};

export const approversListCommand: Command = {
  name: 'approvers list',
  usage: 'approvers list [--json]',
  summary: 'List enrolled approvers: id, name, status (active or removed), when enrolled, requests waiting for them.',
  positionals: [],
  options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
  help: [['--json', 'Print a JSON array instead of a table.'], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: runList,
};

export const approversRemoveCommand: Command = {
  name: 'approvers remove',
  usage: 'approvers remove <id|name> [--actor <name>]',
  summary: 'Remove an approver: their decisions no longer count, and rules that can no longer reach their quorum refuse new requests.',
  positionals: ['id|name'],
  options: { ...STORE_OPTIONS, actor: { type: 'string' } },
  help: [['--actor <name>', `Who removed them (kept in the audit log). Default "${DEFAULT_ACTOR}".`], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: runRemove,
};

/** 20 random bytes (node:crypto) as 32 base32 characters: 160 bits, typed or pasted once. */
export function newEnrollmentCode(): string {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let code = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      code += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  bytes.fill(0);
  return code;
}

export function durationMs(text: string, flag: string, command: string): number {
  const match = /^([0-9]{1,7})(s|m|h|d)$/.exec(text.trim());
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = match ? Number(match[1]) * unit[match[2] as keyof typeof unit] : NaN;
  if (!match || ms < 60_000 || ms > MAX_EXPIRY_MS) throw new CliUsageError(`${flag} is a duration from 1m to 30d such as 30m, 24h or 7d; got ${JSON.stringify(text)}.`, command);
  return ms;
}

function approverName(text: string): string {
  if (!NAME_PATTERN.test(text)) throw new CliUsageError(`An approver name is 1 to 64 letters, digits, ".", "_", "@" or "-" (no spaces), starting with a letter or digit; got ${JSON.stringify(text)}.`, 'approvers invite');
  if (APPROVER_ID_PATTERN.test(text)) throw new CliUsageError('An approver name must not look like an approver id (32 hex characters): commands take either.', 'approvers invite');
  return text;
}

async function runInvite(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const name = approverName(positionals[0]!);
  const expiresAt = Date.now() + durationMs(stringValue(values.expires) ?? DEFAULT_EXPIRY, '--expires', 'approvers invite');
  const actor = stringValue(values.actor)?.trim() || DEFAULT_ACTOR;
  const code = newEnrollmentCode();
  const codeDigest = createHash('sha256').update(code).digest('hex');
  // A name already enrolled is refused by the store (ConflictError, exit 1) with what to do.
  await withStore(values, io, (store) => store.approvals.inviteApprover({ name, codeDigest, expiresAt, actor }));
  if (values.json) {
    io.stdout(JSON.stringify({ name, code, expiresAt: iso(expiresAt) }, null, 2));
    return 0;
  }
  io.stdout(`Invited approver ${name}. One-time enrollment code, valid until ${iso(expiresAt)}; it is shown only this once:`);
  io.stdout('');
  io.stdout(`  ${code}`);
  io.stdout('');
  io.stdout(`Give it to ${name} over a channel you trust. They enroll with:`);
  io.stdout(`  npm run client -- approver enroll --cosigner https://<this co-signer>:<port> --code ${code} --file ${name}.approver.json [--ca <its certificate>]`);
  io.stdout(`Then name them in a wallet's approval rules: ${PROGRAM} policy set <walletId> --approvals '[{"id": "large", "when": [{"valueAboveWei": "1000000000000000000"}], "approvers": ["${name}"], "quorum": 1}]'`);
  io.stdout('A new invitation for the same name replaces this one.');
  return 0;
}

async function runList(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const approvers = await withStore(values, io, async (store) => {
    const listed = await store.approvals.listApprovers();
    return Promise.all(listed.map(async (approver) => ({ approver, pending: approver.status === 'active' ? await store.approvals.countPending({ approverId: approver.approverId }) : 0 })));
  });
  if (values.json) {
    io.stdout(JSON.stringify(approvers.map(({ approver, pending }) => ({ ...approverJson(approver), pending })), null, 2));
    return 0;
  }
  if (approvers.length === 0) {
    io.stdout(`No approvers enrolled. Invite one: ${PROGRAM} approvers invite <name>`);
    return 0;
  }
  io.stdout(
    table(
      ['APPROVER', 'NAME', 'STATUS', 'ENROLLED', 'REMOVED', 'PENDING'],
      approvers.map(({ approver, pending }) => [approver.approverId, approver.name, approver.status, iso(approver.createdAt), approver.removedAt ? iso(approver.removedAt) : '-', String(pending)]),
    ),
  );
  return 0;
}

async function runRemove(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const actor = stringValue(values.actor)?.trim() || DEFAULT_ACTOR;
  const { removed, wasActive, rules, pending } = await withStore(values, io, async (store) => {
    const approver = await resolveApprover(store.approvals, positionals[0]!);
    const before = await store.approvals.listRequests({ approverId: approver.approverId, states: ['pending-approval'], limit: 500 });
    const removedRecord = await store.approvals.removeApprover(approver.approverId, actor);
    let rejected = 0;
    for (const request of before) if ((await store.approvals.getRequest(request.requestId))?.state === 'rejected') rejected += 1;
    return {
      removed: removedRecord,
      wasActive: approver.status === 'active',
      rules: await rulesNaming(store, approver.approverId),
      pending: { named: before.length, rejected },
    };
  });
  io.stdout(wasActive ? `removed approver ${removed.name} (${removed.approverId})` : `approver ${removed.name} (${removed.approverId}) was already removed`);
  if (rules.length > 0) {
    io.stdout(`Still named in: ${rules.map((rule) => `wallet ${rule.walletId} rule ${rule.rule}`).join('; ')}.`);
    io.stdout(`Requests under a rule whose other approvers cannot reach its quorum are refused until its policy changes (${PROGRAM} policy set <walletId> --approvals ...).`);
  }
  if (pending.named > 0) {
    io.stdout(`${pending.named} pending request(s) named them; their decisions there no longer count. ${pending.rejected} of them can no longer reach their quorum and were rejected now.`);
  }
  return 0;
}

/** An approver by id, or by name (the active one first). */
export async function resolveApprover(approvals: ApprovalStore, text: string): Promise<ApproverRecord> {
  if (APPROVER_ID_PATTERN.test(text)) {
    const byId = await approvals.getApprover(text);
    if (byId) return byId;
  }
  const named = (await approvals.listApprovers()).filter((approver) => approver.name === text);
  const found = named.find((approver) => approver.status === 'active') ?? named[0];
  if (!found) throw new CosignerCliError('CLI_UNKNOWN_APPROVER', `No approver with the id or name ${JSON.stringify(text)} here. List them with \`${PROGRAM} approvers list\`.`);
  return found;
}

/** The approval rules of every wallet that name this approver. */
async function rulesNaming(store: CosignerStore, approverId: string): Promise<{ walletId: string; rule: string }[]> {
  const found: { walletId: string; rule: string }[] = [];
  for (const wallet of await store.listWallets()) {
    for (const rule of (await store.getPolicy(wallet.walletId)).approvals ?? []) {
      if (rule.approvers.includes(approverId)) found.push({ walletId: wallet.walletId, rule: rule.id });
    }
  }
  return found;
}

function approverJson(approver: ApproverRecord): Record<string, unknown> {
  return {
    approverId: approver.approverId,
    name: approver.name,
    status: approver.status,
    identityPublicKey: approver.identityPublicKey,
    createdAt: iso(approver.createdAt),
    removedAt: approver.removedAt ? iso(approver.removedAt) : null,
  };
}

