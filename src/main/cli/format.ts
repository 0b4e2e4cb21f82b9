/** Bytes as a short human size: 1.2 GB, 350 MB. */
export function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} KB`;
  return `${bytes} B`;
}

/** A time as "5 minutes ago" / "in 4 minutes". */
export function relative(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const magnitude = Math.abs(seconds);
  const [value, unit] =
    magnitude < 60
      ? [magnitude, 'second']
      : magnitude < 3600
        ? [Math.round(magnitude / 60), 'minute']
        : magnitude < 86400
          ? [Math.round(magnitude / 3600), 'hour']
          : [Math.round(magnitude / 86400), 'day'];
  const phrase = `${value} ${unit}${value === 1 ? '' : 's'}`;
  return seconds < 0 ? `${phrase} ago` : `in ${phrase}`;
}

/** Rows as aligned columns under a header, like `ollama ls`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('    ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
