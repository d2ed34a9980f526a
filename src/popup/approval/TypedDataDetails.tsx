import type { ApprovalDetails } from '../../background/api.js';
import { ValueTree } from './ValueTree.js';

type TypedDataDetailsProps = Extract<ApprovalDetails, { kind: 'typedData' }>;

export function TypedDataDetails({ address, primaryType, domain, message }: TypedDataDetailsProps) {
  return (
    <section class="stack">
      <p class="muted">
        Sign with <code>{address}</code>
      </p>
      <h3>Domain</h3>
      <div data-testid="typed-data-domain">
        <ValueTree value={domain} />
      </div>
      <h3>
        Message: <code data-testid="typed-data-primary-type">{primaryType}</code>
      </h3>
      <div data-testid="typed-data-message">
        <ValueTree value={message} />
      </div>
    </section>
  );
}
