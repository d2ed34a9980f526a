import type { Warning } from '../../background/api.js';

export function Warnings({ warnings }: { warnings: Warning[] }) {
  if (warnings.length === 0) return null;
  return (
    <section class="warnings" aria-label="Warnings">
      {warnings.map((warning, index) => (
        <div key={index} class="warning" role="alert" data-testid={`warning-${warning.code}`}>
          <span aria-hidden="true">⚠ </span>
          {warning.message}
        </div>
      ))}
    </section>
  );
}
