import type { CosignerStatus } from '../background/api.js';

/** A coloured dot and the status word; the word is what tests and screen readers read. */
export function CosignerStatusBadge({ status }: { status: CosignerStatus }) {
  return (
    <span class="cosigner">
      <span class={`dot dot-${status}`} aria-hidden="true" />
      Co-signer: <span data-testid="cosigner-status">{status}</span>
    </span>
  );
}
