import type { ApprovalDetails, DecodedCall } from '../../background/api.js';
import { decodedCallSummary, weiToGwei, withSymbol } from '../format.js';
import { HexBlock } from './HexBlock.js';

type TransactionApproval = Extract<ApprovalDetails, { kind: 'transaction' }>;
/** Without a simulation for a transaction held for approvers (it runs later, against a later state). */
type TransactionDetailsProps = Omit<TransactionApproval, 'simulation'> & { simulation?: TransactionApproval['simulation'] };

export function TransactionDetails(tx: TransactionDetailsProps) {
  return (
    <section class="stack">
      <dl class="fields">
        <dt>To</dt>
        <dd>
          {tx.to ? (
            <code class="address" data-testid="tx-to">
              {tx.to}
            </code>
          ) : (
            <span data-testid="tx-to">New contract (deployment)</span>
          )}
          {tx.toIsContract && <span class="badge">contract</span>}
        </dd>
        <dt>Amount</dt>
        <dd data-testid="tx-value">{withSymbol(tx.valueFormatted, tx.chain.symbol)}</dd>
        <dt>Network</dt>
        <dd>
          {tx.chain.name} ({tx.chain.id})
        </dd>
        <dt>From</dt>
        <dd>
          <code class="address">{tx.from}</code>
        </dd>
      </dl>

      {tx.decoded ? <DecodedCallView call={tx.decoded} /> : tx.data !== '0x' && <RawCalldata data={tx.data} />}

      <h3>Fees</h3>
      <dl class="fields">
        <dt>Nonce</dt>
        <dd data-testid="tx-nonce">{tx.nonce}</dd>
        <dt>Gas limit</dt>
        <dd data-testid="tx-gas">{tx.gas}</dd>
        {tx.gasPrice !== undefined ? (
          <>
            <dt>Gas price (legacy transaction)</dt>
            <dd data-testid="tx-gas-price">{weiToGwei(tx.gasPrice)}</dd>
          </>
        ) : (
          <>
            <dt>Max fee</dt>
            <dd data-testid="tx-max-fee-per-gas">{weiToGwei(tx.maxFeePerGas)}</dd>
            <dt>Priority fee</dt>
            <dd data-testid="tx-max-priority-fee-per-gas">{weiToGwei(tx.maxPriorityFeePerGas)}</dd>
          </>
        )}
        <dt>Max network fee</dt>
        <dd data-testid="tx-max-network-fee">{withSymbol(tx.maxFeeFormatted, tx.chain.symbol)}</dd>
      </dl>

      {tx.simulation && <Simulation simulation={tx.simulation} />}
    </section>
  );
}

function Simulation({ simulation }: { simulation: TransactionApproval['simulation'] }) {
  return (
    <>
      <h3>Simulation</h3>
      {simulation.ok ? (
        <p class="ok" data-testid="tx-simulation" data-ok="true">
          Succeeds; uses {simulation.gasUsed} gas.
        </p>
      ) : (
        <p class="error" data-testid="tx-simulation" data-ok="false">
          Would fail: {simulation.error}
        </p>
      )}
    </>
  );
}

function DecodedCallView({ call }: { call: DecodedCall }) {
  return (
    <div class="decoded" data-testid="decoded-call">
      <p class="summary">{decodedCallSummary(call)}</p>
      <table class="kv">
        <caption>
          <code>{call.signature}</code>
        </caption>
        <tbody>
          {call.args.map((arg) => (
            <tr key={arg.name}>
              <th scope="row">
                {arg.name} <span class="muted">{arg.type}</span>
              </th>
              <td>
                <code>{arg.formatted ?? arg.value}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RawCalldata({ data }: { data: string }) {
  return (
    <div>
      <h3>Call data</h3>
      <p class="note">This call could not be decoded.</p>
      <HexBlock hex={data} testid="tx-data" />
    </div>
  );
}
