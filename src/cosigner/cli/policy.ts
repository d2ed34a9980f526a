import { readFileSync } from 'node:fs';
import type { ApprovalRule, WalletPolicy } from '../policy/types.js';
import type { CosignerStore } from '../store/types.js';
import type { WalletRecord } from '../store/types.js';
import { stringList, stringValue, walletIdArgument } from './args.js';
import { DATA_DIR_HELP, DATABASE_HELP, MASTER_KEY_HELP, PROGRAM, STORE_OPTIONS, type Command, type Values } from './command.js';
import { withStore } from './data.js';
import { CliUsageError, CosignerCliError } from './errors.js';
import { formatRows } from './format.js';
import type { CliIo } from './io.js';
import type { ApprovalStore } from '../store/types.js';

const POLICY_ACTOR = 'cli';

export const policyShowCommand: Command = {
  name: 'policy show',
  usage: 'policy show <walletId> [--json]',
  summary: "Print a wallet's signing policy.",
  positionals: ['walletId'],
  options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
  help: [['--json', 'Print the stored policy as JSON.'], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: runPolicyShow,
};

const UNSET_FIELDS = {
  'max-value-per-tx': 'maxValuePerTxWei',
  'daily-limit': 'dailyLimitWei',
  recipients: 'allowedRecipients',
  contracts: 'allowedContracts',
  chains: 'allowedChainIds',
  'refresh-every': 'refreshEveryDays',
  'restore-delay': 'restoreDelayMinutes',
  'restore-needs-operator': 'restoreNeedsOperator',
  approvals: 'approvals',
} as const satisfies Record<string, keyof WalletPolicy>;

export const policySetCommand: Command = {
  name: 'policy set',
  usage: 'policy set <walletId> [rules...] [--clear] [--unset <rule>]...',
  summary: "Change a wallet's signing policy. Rules given replace those rules; the others are kept (unless --clear).",
  positionals: ['walletId'],
  options: {
    ...STORE_OPTIONS,
    'max-value-per-tx-wei': { type: 'string' },
    'max-value-per-tx-eth': { type: 'string' },
    'daily-limit-wei': { type: 'string' },
    'daily-limit-eth': { type: 'string' },
    'allow-recipient': { type: 'string', multiple: true },
    'allow-contract': { type: 'string', multiple: true },
    'allow-chain': { type: 'string', multiple: true },
    'refresh-every-days': { type: 'string' },
    'restore-delay-minutes': { type: 'string' },
    'restore-needs-operator': { type: 'boolean' },
    approvals: { type: 'string' },
    'approvals-file': { type: 'string' },
    unset: { type: 'string', multiple: true },
    clear: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  help: [
    ['--max-value-per-tx-wei <n>', 'Largest native value one transaction may send, in wei.'],
    ['--max-value-per-tx-eth <x>', 'The same in ether (e.g. 0.5).'],
    ['--daily-limit-wei <n>', 'Largest native value per chain in any rolling 24 hours, in wei.'],
    ['--daily-limit-eth <x>', 'The same in ether.'],
    ['--allow-recipient <0x..>', 'Allowed recipient (transfers, token transfers, approvals); repeat for more. "none" allows none.'],
    ['--allow-contract <0x..>', 'Allowed contract to call (and typed-data verifyingContract); repeatable. "none" allows none.'],
    ['--allow-chain <id>', 'Allowed chain id; repeatable. "none" allows none.'],
    ['--refresh-every-days <n>', 'Refuse to presign or sign once the key shares are older than n days (1 to 3650) until they are refreshed.'],
    ['--restore-delay-minutes <n>', "Hold a restore from the recovery kit n minutes (0 to 43200) after it was requested, instead of the co-signer's --restore-delay."],
    ['--restore-needs-operator', 'Hold a restore from the recovery kit until an operator ran devices approve-restore for that device.'],
    ['--approvals <json>', 'Approval rules, replacing the current ones: a JSON list like [{"id": "large", "when": [{"valueAboveWei": "1000000000000000000"}], "approvers": ["alice", "bob"], "quorum": 1, "expiresAfterMinutes": 1440}]. Approvers by name or id (approvers list); names are stored as ids. "when" matches on kind (transaction, typedData, message), chainIds, valueAboveWei, contractNotIn; [{}] matches every request.'],
    ['--approvals-file <file>', 'The same list, read from a JSON file.'],
    ['--unset <rule>', `Remove a rule: ${Object.keys(UNSET_FIELDS).join(', ')}; repeatable.`],
    ['--clear', 'Start from an empty policy (no restriction) instead of the current one.'],
    ['--json', 'Print the stored policy as JSON.'],
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
  ],
  run: runPolicySet,
};

async function runPolicyShow(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const walletId = walletIdArgument(positionals[0]!, 'policy show');
  const { policy, names } = await withStore(values, io, async (store) => {
    await requireWallet(store, walletId);
    return { policy: await store.getPolicy(walletId), names: await approverNames(store.approvals) };
  });
  io.stdout(values.json ? JSON.stringify(policy, null, 2) : await describePolicy(walletId, policy, names));
  return 0;
}

async function runPolicySet(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const walletId = walletIdArgument(positionals[0]!, 'policy set');
  const changes = await policyChanges(values);
  const approvals = approvalsFlag(values);
  if (approvals !== undefined) changes.approvals = approvals;
  const unset = unsetFields(values, changes);
  if (Object.keys(changes).length === 0 && unset.length === 0 && !values.clear) {
    throw new CliUsageError('Nothing to change: give at least one rule, --unset or --clear.', 'policy set');
  }
  const { stored, seq, names } = await withStore(values, io, async (store) => {
    await requireWallet(store, walletId);
    if (approvals !== undefined) changes.approvals = await approversToIds(store.approvals, approvals);
    const base: Record<string, unknown> = values.clear ? {} : { ...(await store.getPolicy(walletId)) };
    for (const field of unset) delete base[field];
    const saved = await store.setPolicy(walletId, { ...base, ...changes }, { actor: POLICY_ACTOR });
    const [row] = await store.audit.list({ walletId, kind: 'policy', limit: 1 });
    return { stored: saved, seq: row?.seq, names: await approverNames(store.approvals) };
  });
  if (values.json) {
    io.stdout(JSON.stringify(stored, null, 2));
    return 0;
  }
  io.stdout(`Policy saved${seq === undefined ? '' : ` (audit row ${seq})`}.`);
  io.stdout(await describePolicy(walletId, stored, names));
  return 0;
}

/** The rules given on the command line, as policy fields. Values go to validatePolicy (in setPolicy) as typed, so its messages name the problem. */
async function policyChanges(values: Values): Promise<Record<string, unknown>> {
  const { parseEther } = await import('viem');
  const changes: Record<string, unknown> = {};
  const perTx = amountFlag(values, 'max-value-per-tx', parseEther);
  if (perTx !== undefined) changes.maxValuePerTxWei = perTx;
  const daily = amountFlag(values, 'daily-limit', parseEther);
  if (daily !== undefined) changes.dailyLimitWei = daily;
  const recipients = listFlag(values, 'allow-recipient');
  if (recipients) changes.allowedRecipients = recipients;
  const contracts = listFlag(values, 'allow-contract');
  if (contracts) changes.allowedContracts = contracts;
  const chains = listFlag(values, 'allow-chain');
  if (chains) changes.allowedChainIds = chains.map((id) => (/^[0-9]{1,15}$/.test(id) ? Number(id) : id));
  const refreshDays = stringValue(values['refresh-every-days'])?.trim();
  if (refreshDays !== undefined) changes.refreshEveryDays = /^[0-9]{1,15}$/.test(refreshDays) ? Number(refreshDays) : refreshDays;
  const restoreDelay = stringValue(values['restore-delay-minutes'])?.trim();
  if (restoreDelay !== undefined) changes.restoreDelayMinutes = /^[0-9]{1,15}$/.test(restoreDelay) ? Number(restoreDelay) : restoreDelay;
  if (values['restore-needs-operator'] === true) changes.restoreNeedsOperator = true;
  return changes;
}

function amountFlag(values: Values, name: 'max-value-per-tx' | 'daily-limit', parseEther: (ether: string) => bigint): string | undefined {
  const wei = stringValue(values[`${name}-wei`]);
  const eth = stringValue(values[`${name}-eth`]);
  if (wei !== undefined && eth !== undefined) throw new CliUsageError(`Give --${name}-wei or --${name}-eth, not both.`, 'policy set');
  if (wei !== undefined) return wei.trim();
  if (eth === undefined) return undefined;
  const text = eth.trim();
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (!match || (match[2]?.length ?? 0) > 18) {
    throw new CosignerCliError('POLICY_INVALID', `--${name}-eth must be an amount of ether with at most 18 decimals, e.g. 0.5; got ${JSON.stringify(eth)}.`);
  }
  return parseEther(text).toString(10);
}

function listFlag(values: Values, name: string): string[] | undefined {
  const list = stringList(values[name]);
  if (!list) return undefined;
  if (list.includes('none')) {
    if (list.length > 1) throw new CliUsageError(`--${name} none allows nothing; it cannot be combined with other --${name} values.`, 'policy set');
    return [];
  }
  return list;
}

function unsetFields(values: Values, changes: Record<string, unknown>): (keyof WalletPolicy)[] {
  return (stringList(values.unset) ?? []).map((name) => {
    if (!Object.hasOwn(UNSET_FIELDS, name)) {
      throw new CliUsageError(`--unset takes one of ${Object.keys(UNSET_FIELDS).join(', ')}; got ${JSON.stringify(name)}.`, 'policy set');
    }
    const field = UNSET_FIELDS[name as keyof typeof UNSET_FIELDS];
    if (field in changes) throw new CliUsageError(`--unset ${name} contradicts a new value for the same rule.`, 'policy set');
    return field;
  });
}

async function describePolicy(walletId: string, policy: WalletPolicy, names: Map<string, string>): Promise<string> {
  const { formatEther } = await import('viem');
  const amount = (wei: string | undefined) => (wei === undefined ? 'no limit' : `${wei} wei (${formatEther(BigInt(wei))} ETH)`);
  const list = (items: readonly (string | number)[] | undefined) => (items === undefined ? 'any' : items.length === 0 ? 'none allowed' : items.join(', '));
  const rows: [string, string][] = [
    ['max value per transaction', amount(policy.maxValuePerTxWei)],
    ['daily limit (rolling 24 h)', amount(policy.dailyLimitWei)],
    ['recipients', list(policy.allowedRecipients)],
    ['contracts', list(policy.allowedContracts)],
    ['chains', list(policy.allowedChainIds)],
    ['key refresh', policy.refreshEveryDays === undefined ? 'not required' : `every ${policy.refreshEveryDays} day${policy.refreshEveryDays === 1 ? '' : 's'}`],
    ['restore delay', policy.restoreDelayMinutes === undefined ? "the co-signer's default (--restore-delay)" : `${policy.restoreDelayMinutes} minute${policy.restoreDelayMinutes === 1 ? '' : 's'}`],
    ['restore approval', policy.restoreNeedsOperator ? 'an operator must approve (devices approve-restore)' : 'not required'],
    ...approvalRows(policy.approvals, names, formatEther),
  ];
  return [`Policy of wallet ${walletId}:`, ...formatRows(rows.map(([label, value]) => [`  ${label}`, value]))].join('\n');
}

async function requireWallet(store: CosignerStore, walletId: string): Promise<WalletRecord> {
  const wallet = await store.getWallet(walletId);
  if (!wallet) throw new CosignerCliError('CLI_UNKNOWN_WALLET', `No wallet ${walletId} here. List them with \`${PROGRAM} wallets\`.`);
  return wallet;
}

/** The --approvals or --approvals-file JSON, parsed; its fields are checked by validatePolicy, its approvers by approversToIds. */
function approvalsFlag(values: Values): unknown[] | undefined {
  const inline = stringValue(values.approvals);
  const file = stringValue(values['approvals-file']);
  if (inline !== undefined && file !== undefined) throw new CliUsageError('Give --approvals or --approvals-file, not both.', 'policy set');
  if (inline === undefined && file === undefined) return undefined;
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new CosignerCliError('CLI_FILE_UNREADABLE', `Cannot read --approvals-file ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, { cause });
    }
  } else text = inline!;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CosignerCliError('POLICY_INVALID', `${file === undefined ? '--approvals' : `--approvals-file ${file}`} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!Array.isArray(parsed)) {
    throw new CosignerCliError('POLICY_INVALID', 'The approval rules are a JSON list, e.g. [{"id": "large", "when": [{"valueAboveWei": "1000000000000000000"}], "approvers": ["alice"], "quorum": 1}]; [] for none.');
  }
  return parsed;
}

/**
 * Approvers named in the rules, by name or id, as the ids of active approvers. Anything else in
 * the rules is left for validatePolicy to judge. An unknown or removed approver is refused here:
 * a rule naming one could never reach its quorum.
 */
async function approversToIds(approvals: ApprovalStore, rules: unknown[]): Promise<unknown[]> {
  const known = await approvals.listApprovers();
  return rules.map((rule, index) => {
    if (typeof rule !== 'object' || rule === null || !Array.isArray((rule as { approvers?: unknown }).approvers)) return rule;
    const entries = (rule as { approvers: unknown[] }).approvers;
    const ids = entries.map((entry, a) => {
      if (typeof entry !== 'string') return entry;
      const text = entry.trim();
      const match = known.find((approver) => approver.status === 'active' && approver.approverId === text.toLowerCase()) ?? known.find((approver) => approver.status === 'active' && approver.name === text);
      if (match) return match.approverId;
      const removed = known.find((approver) => approver.approverId === text.toLowerCase() || approver.name === text);
      throw new CosignerCliError(
        'POLICY_INVALID',
        removed
          ? `approvals[${index}].approvers[${a}]: approver ${removed.name} (${removed.approverId}) was removed; invite them again or name another.`
          : `approvals[${index}].approvers[${a}]: no enrolled approver is named or has the id ${JSON.stringify(text)}. List them with \`${PROGRAM} approvers list\`; invite with \`${PROGRAM} approvers invite <name>\`.`,
      );
    });
    return { ...(rule as object), approvers: ids };
  });
}

async function approverNames(approvals: ApprovalStore): Promise<Map<string, string>> {
  return new Map((await approvals.listApprovers()).map((approver) => [approver.approverId, approver.status === 'active' ? approver.name : `${approver.name} (removed)`]));
}

function approvalRows(rules: ApprovalRule[] | undefined, names: Map<string, string>, formatEther: (wei: bigint) => string): [string, string][] {
  if (!rules || rules.length === 0) return [['approvals', 'none: the device and the co-signer sign alone']];
  return rules.map((rule, index) => {
    const who = rule.approvers.map((id) => names.get(id) ?? `${id} (unknown)`).join(', ');
    const when = rule.when.map((match) => describeMatch(match, formatEther)).join(' or ');
    const expiry = rule.expiresAfterMinutes ?? 1440;
    return [index === 0 ? 'approvals' : '', `${rule.id}: ${rule.quorum} of ${who}, for ${when}; within ${expiry} minute${expiry === 1 ? '' : 's'}`];
  });
}

function describeMatch(match: ApprovalRule['when'][number], formatEther: (wei: bigint) => string): string {
  const parts: string[] = [];
  parts.push(match.kind === 'typedData' ? 'typed data' : match.kind === 'message' ? 'messages' : match.kind === 'transaction' ? 'transactions' : 'requests');
  if (match.chainIds) parts.push(`on chain ${match.chainIds.join(', ')}`);
  if (match.valueAboveWei !== undefined) parts.push(`sending more than ${formatEther(BigInt(match.valueAboveWei))} ETH`);
  if (match.contractNotIn) parts.push(match.contractNotIn.length === 0 ? 'calling any contract' : `calling a contract other than ${match.contractNotIn.join(', ')}`);
  return parts.join(' ');
}
