import type { RequestState, RequestView } from '../../channel/approval-protocol.js';
import { iso, quorumProgress, relative, REQUEST_STATES, requestSummary } from '../../channel/request-text.js';
import type { RequestFilter } from '../store/types.js';
import { resolveApprover } from './approvers.js';
import { integerFlag, stringList, stringValue, walletIdArgument } from './args.js';
import { DATA_DIR_HELP, DATABASE_HELP, MASTER_KEY_HELP, PROGRAM, STORE_OPTIONS, type Command, type Values } from './command.js';
import { withStore } from './data.js';
import { CliUsageError, CosignerCliError } from './errors.js';
import { table } from './format.js';
import type { CliIo } from './io.js';
import { describeRequest } from './request-format.js';

const MAX_LIMIT = 500;
const REQUEST_ID_PATTERN = /^[0-9a-f]{32}$/;

export const requestsListCommand: Command = {
  name: 'requests list',
  usage: 'requests list [--wallet <id>] [--state <state>]... [--approver <id|name>] [--limit <n>] [--json]',
  summary: 'List sign requests held for approvers and what became of them, newest first.',
  positionals: [],
  options: {
    ...STORE_OPTIONS,
    wallet: { type: 'string' },
    state: { type: 'string', multiple: true },
    approver: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: [
    ['--wallet <id>', "Only this wallet's requests."],
    ['--state <state>', `Only requests in this state (repeatable, or comma-separated): ${REQUEST_STATES.join(', ')}.`],
    ['--approver <id|name>', 'Only requests this approver is one of the approvers of.'],
    ['--limit <n>', `How many (default 50, at most ${MAX_LIMIT}).`],
    ['--json', 'Print a JSON array of the requests, as devices and approvers receive them (times in ms since the epoch).'],
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
  ],
  run: runList,
};

export const requestsShowCommand: Command = {
  name: 'requests show',
  usage: 'requests show <requestId> [--json]',
  summary: 'Show one request: its state, what it signs (decoded), the quorums it needs, the decisions so far and its result.',
  positionals: ['requestId'],
  options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
  help: [['--json', 'Print the request as JSON, as devices and approvers receive it.'], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: runShow,
};

function statesFlag(values: Values): RequestState[] | undefined {
  const given = stringList(values.state);
  if (!given) return undefined;
  const states = given.flatMap((entry) => entry.split(',')).map((state) => state.trim()).filter(Boolean);
  for (const state of states) {
    if (!(REQUEST_STATES as readonly string[]).includes(state)) throw new CliUsageError(`--state must be one of ${REQUEST_STATES.join(', ')}; got ${JSON.stringify(state)}.`, 'requests list');
  }
  return states as RequestState[];
}

async function runList(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const filter: RequestFilter = {};
  const wallet = stringValue(values.wallet);
  if (wallet !== undefined) filter.walletId = walletIdArgument(wallet, 'requests list');
  const states = statesFlag(values);
  if (states) filter.states = states;
  const limit = stringValue(values.limit);
  filter.limit = limit === undefined ? 50 : integerFlag('--limit', limit, 1, MAX_LIMIT);
  const approver = stringValue(values.approver);
  const requests = await withStore(values, io, async (store) => {
    if (approver !== undefined) filter.approverId = (await resolveApprover(store.approvals, approver)).approverId;
    return store.approvals.listRequests(filter);
  });
  if (values.json) {
    io.stdout(JSON.stringify(requests, null, 2));
    return 0;
  }
  if (requests.length === 0) {
    io.stdout('No requests match.');
    return 0;
  }
  const { formatEther } = await import('viem');
  const now = Date.now();
  io.stdout(
    table(
      ['REQUEST', 'STATE', 'WALLET', 'APPROVALS', 'CREATED', 'EXPIRES', 'WHAT'],
      requests.map((request) => [
        request.requestId,
        request.state,
        request.walletId,
        quorumProgress(request),
        iso(request.createdAt),
        request.state === 'pending-approval' ? relative(request.expiresAt, now) : '-',
        requestSummary(request.decoded, formatEther),
      ]),
    ),
  );
  io.stdout(`Details: ${PROGRAM} requests show <requestId>`);
  return 0;
}

async function runShow(values: Values, positionals: string[], io: CliIo): Promise<number> {
  const requestId = positionals[0]!;
  if (!REQUEST_ID_PATTERN.test(requestId)) throw new CliUsageError(`A request id is 32 lowercase hex characters; got ${JSON.stringify(requestId)}.`, 'requests show');
  const request = await withStore(values, io, (store) => store.approvals.getRequest(requestId));
  if (!request) throw new CosignerCliError('CLI_UNKNOWN_REQUEST', `No request ${requestId} here. List them with \`${PROGRAM} requests list\`.`);
  if (values.json) {
    io.stdout(JSON.stringify(request, null, 2));
    return 0;
  }
  const { formatEther } = await import('viem');
  io.stdout(describeRequest(request, { formatEther, now: Date.now(), hashCheck: await hashCheck(request) }));
  return 0;
}

/** The stored digest and payload hash, recomputed from the stored payload: an edited row shows here. */
async function hashCheck(request: RequestView): Promise<string> {
  const { verifyRequestHashes } = await import('../../channel/approval-protocol.js');
  try {
    verifyRequestHashes(request);
    return 'OK: the digest and payload hash are those of the stored payload';
  } catch (error) {
    const details = (error as { details?: unknown }).details;
    return `MISMATCH: ${typeof details === 'string' ? details : (error as Error).message}. Approvers are not shown this request.`;
  }
}
