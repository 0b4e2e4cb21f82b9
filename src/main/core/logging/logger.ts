import { renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../../../shared/contract/settings';
import { FileLog } from './file-log';
import { LogRing } from './log-ring';

export type { Logger } from 'pino';

/** A logger with the places it writes to, and a `dispose` that flushes them. */
export interface LogSink {
  readonly logger: Logger;
  readonly ring: LogRing;
  /** Closes the log file; logging afterwards still reaches stderr and the ring, never throws. */
  dispose(): void;
}

/** Past this size, the log file is rotated once at startup (`lodge.log` → `lodge.1.log`). */
const ROTATE_BYTES = 20 * 1024 * 1024;

/**
 * Structured logs (pino) to `logs/lodge.log` (the folder must exist), to an in-memory ring the UI reads, and warnings and
 * worse to stderr so a terminal shows what went wrong. A log file that cannot be written (a full
 * disk) never stops the core: see {@link FileLog}.
 */
export function createLogSink(logsDir: string, level: LogLevel): LogSink {
  const file = join(logsDir, 'lodge.log');
  rotateIfLarge(file);
  const fileStream = new FileLog(file);
  const ring = new LogRing();
  const logger = pino(
    { level, base: { pid: process.pid } },
    pino.multistream(
      [
        { level: 'trace', stream: fileStream },
        { level: 'trace', stream: ring },
        { level: 'warn', stream: process.stderr },
      ],
      { dedupe: false },
    ),
  );
  return {
    logger,
    ring,
    dispose() {
      fileStream.close();
    },
  };
}

function rotateIfLarge(file: string): void {
  try {
    if (statSync(file).size > ROTATE_BYTES) renameSync(file, file.replace(/\.log$/, '.1.log'));
  } catch {
    // No file yet: nothing to rotate.
  }
}
