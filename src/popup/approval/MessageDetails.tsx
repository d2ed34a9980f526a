import type { ApprovalDetails } from '../../background/api.js';

type MessageDetailsProps = Extract<ApprovalDetails, { kind: 'message' }>;

export function MessageDetails({ address, text, hex }: MessageDetailsProps) {
  return (
    <section class="stack">
      <p class="muted">
        Sign with <code>{address}</code>
      </p>
      {text !== undefined ? (
        <pre class="message-text" data-testid="message-text">
          {text}
        </pre>
      ) : (
        <>
          <p class="note">This message is not text, so it is shown as hex. Sign it only if you know what it is.</p>
          <pre class="message-text hex" data-testid="message-text">
            {hex}
          </pre>
        </>
      )}
    </section>
  );
}
