export function formatRows(rows: [string, string][]): string[] {
  const width = Math.max(...rows.filter(([, text]) => text).map(([flag]) => flag.length));
  return rows.map(([flag, text]) => (text ? `${flag.padEnd(width)}  ${text}` : flag));
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
