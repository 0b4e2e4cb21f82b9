import type { LogEntry } from '../../../shared/contract/system';
import type { LogLevel } from '../../../shared/contract/settings';

const LEVEL_BY_NUMBER: Readonly<Record<number, LogLevel>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

const NUMBER_BY_LEVEL: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

const RESERVED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/**
 * The newest log lines, kept in memory so the UI can show them without reading files. It is a pino
 * destination: each `write` is one JSON line.
 */
export class LogRing {
  readonly #entries: LogEntry[] = [];
  #seq = 0;

  constructor(readonly capacity = 2000) {}

  /** pino calls this with one serialized line. Lines that are not pino JSON are kept as plain text. */
  write(line: string): void {
    let entry: LogEntry;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      const context: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(record)) if (!RESERVED.has(key)) context[key] = value;
      entry = {
        seq: ++this.#seq,
        time: new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString(),
        level: LEVEL_BY_NUMBER[Number(record.level)] ?? 'info',
        msg: typeof record.msg === 'string' ? record.msg : '',
        context,
      };
    } catch {
      entry = {
        seq: ++this.#seq,
        time: new Date().toISOString(),
        level: 'info',
        msg: line.trimEnd(),
        context: {},
      };
    }
    this.#entries.push(entry);
    if (this.#entries.length > this.capacity) this.#entries.shift();
  }

  /** Entries at or above `level` with a sequence number above `after`, the newest `limit`, oldest first. */
  query(level: LogLevel, limit: number, after = 0): LogEntry[] {
    const floor = NUMBER_BY_LEVEL[level];
    const matching = this.#entries.filter(
      (entry) => entry.seq > after && NUMBER_BY_LEVEL[entry.level] >= floor,
    );
    return matching.slice(-limit);
  }
}
