import { useEffect, useState } from 'preact/hooks';
import type { HeldCounts } from '../../background/api.js';
import { usePoll } from '../use-poll.js';
import { call } from '../worker-client.js';

const POLL_MS = 3_000;

/** The header's links to Activity and to the approvals to give, each with its count once known. */
export function HeldBadges() {
  const [counts, setCounts] = useState<HeldCounts>({});
  const load = async () => {
    setCounts(await call({ kind: 'popup', action: 'heldCounts' }).catch(() => ({})));
  };
  useEffect(() => {
    void load();
  }, []);
  usePoll(true, POLL_MS, load);

  return (
    <nav class="held-badges" aria-label="Held requests">
      <a href="#/activity" data-testid="open-activity">
        Activity
        {counts.walletPending !== undefined && (
          <span class={`count${counts.walletPending === 0 ? ' zero' : ''}`} data-testid="activity-pending" title="Requests of this wallet waiting for approvers">
            {counts.walletPending}
          </span>
        )}
      </a>
      <a href="#/approver" data-testid="open-approver">
        Approvals to give
        {counts.approverPending !== undefined && (
          <span class={`count${counts.approverPending === 0 ? ' zero' : ''}`} data-testid="approvals-to-give" title="Requests waiting for your decision as an approver">
            {counts.approverPending}
          </span>
        )}
      </a>
    </nav>
  );
}
