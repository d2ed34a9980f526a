import { useState } from 'preact/hooks';
import { hexByteLength, truncateHex } from '../format.js';

const SHOWN_BYTES = 36;

/** Call data is shown cut to its selector and first word, with the rest one click away. */
export function HexBlock({ hex, testid }: { hex: string; testid?: string }) {
  const [expanded, setExpanded] = useState(false);
  const { shown, hiddenBytes } = truncateHex(hex, SHOWN_BYTES);
  return (
    <div class="hex-block">
      <pre class="hex" data-testid={testid}>
        {expanded ? hex : shown}
      </pre>
      {hiddenBytes > 0 && (
        <button type="button" class="small" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show less' : `Show all ${hexByteLength(hex)} bytes`}
        </button>
      )}
    </div>
  );
}
