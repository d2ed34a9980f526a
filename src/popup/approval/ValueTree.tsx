import { isRecord, leafToString } from '../format.js';

/** Typed data as nested tables, so every field and its path stay visible; leaves are shown as strings. */
export function ValueTree({ value }: { value: unknown }) {
  const entries: [string, unknown][] | undefined = Array.isArray(value)
    ? value.map((item, index) => [`[${index}]`, item])
    : isRecord(value)
      ? Object.entries(value)
      : undefined;
  if (!entries) return <span class="value">{leafToString(value)}</span>;
  if (entries.length === 0) return <span class="muted">{Array.isArray(value) ? '(empty list)' : '(empty)'}</span>;
  return (
    <table class="kv">
      <tbody>
        {entries.map(([key, item]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>
              <ValueTree value={item} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
