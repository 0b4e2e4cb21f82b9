/** Bytes as a short human size: 1.2 GB, 350 MB. */
export function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} KB`;
  return `${bytes} B`;
}

/** Under this many seconds apart, a time reads "just now" / "now" rather than a count of seconds. */
const NOW_SECONDS = 5;

function span(seconds: number): string {
  const [value, unit] =
    seconds < 60
      ? [seconds, 'second']
      : seconds < 3600
        ? [Math.round(seconds / 60), 'minute']
        : seconds < 86400
          ? [Math.round(seconds / 3600), 'hour']
          : [Math.round(seconds / 86400), 'day'];
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
}

/**
 * A past time as "5 minutes ago". A time within a few seconds, or a hair in the future (the
 * server's clock, rounding), reads "just now": a last use is never "in 0 seconds".
 */
export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  return seconds < NOW_SECONDS ? 'just now' : `${span(seconds)} ago`;
}

/** A future time as "in 4 minutes"; "now" once it is due (a model about to be unloaded). */
export function fromNow(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  return seconds < NOW_SECONDS ? 'now' : `in ${span(seconds)}`;
}

/**
 * Rows as aligned columns under an optional header, like `ollama ls`: every cell of a column
 * starts at the same place, `gap` spaces after the widest cell before it, and `indent` leads each line.
 */
export function table(
  header: readonly string[] | null,
  rows: readonly (readonly string[])[],
  { gap = 4, indent = 0 }: { gap?: number; indent?: number } = {},
): string {
  const all = header ? [header, ...rows] : rows;
  const columns = Math.max(0, ...all.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(0, ...all.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `${' '.repeat(indent)}${cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' '.repeat(gap))}`.trimEnd();
  return all.map(line).join('\n');
}
