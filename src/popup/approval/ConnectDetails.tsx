export function ConnectDetails({ origin }: { origin: string }) {
  return (
    <section class="stack">
      <p>
        <strong>{origin}</strong> wants to see your address and suggest transactions.
      </p>
      <p class="muted">It cannot sign or send anything without asking you first. You can revoke access from the toolbar popup.</p>
    </section>
  );
}
