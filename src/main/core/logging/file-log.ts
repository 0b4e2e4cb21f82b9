import { closeSync, openSync, writeSync } from 'node:fs';

/** How often a failed log file is tried again, at most. */
const RETRY_MS = 1000;

/** pino's number for `warn`: lines at this level or worse already go to stderr on their own. */
const WARN = 40;

/**
 * The log file as a pino destination that cannot take the core down. Lines are appended with
 * synchronous writes (so nothing is left to flush at exit); when a write fails (a full disk, a
 * removed folder) it says so once on stderr, sends the lines that would not reach stderr anyway
 * there instead, and tries the file again at most once a second, saying when it works again.
 */
export class FileLog {
  #fd: number | null = null;
  /** Set while the file cannot be written: when the last attempt failed. */
  #failedAt: number | null = null;
  #dropped = 0;
  #closed = false;

  constructor(
    readonly file: string,
    private readonly stderr: (text: string) => void = (text) => void process.stderr.write(text),
    private readonly now: () => number = Date.now,
  ) {
    this.#fd = this.#open();
  }

  /** Appends one JSON line (pino's destination interface); never throws. */
  write(line: string): void {
    if (this.#closed) return;
    if (this.#fd === null) {
      const due = this.#failedAt === null || this.now() - this.#failedAt >= RETRY_MS;
      if (due) this.#fd = this.#open();
      if (this.#fd === null) {
        this.#fallback(line);
        return;
      }
    }
    try {
      writeFully(this.#fd, line);
    } catch (error) {
      this.#fail(error);
      this.#fallback(line);
      return;
    }
    if (this.#failedAt !== null) {
      this.#failedAt = null;
      this.stderr(
        `Lodge can write its log file again (${this.file}); ${this.#dropped} lines in between went only to this terminal.\n`,
      );
      this.#dropped = 0;
    }
  }

  /** Closes the file; later writes are dropped. */
  close(): void {
    this.#closed = true;
    this.#closeFd();
  }

  #open(): number | null {
    try {
      return openSync(this.file, 'a');
    } catch (error) {
      this.#fail(error);
      return null;
    }
  }

  #fail(error: unknown): void {
    const first = this.#failedAt === null;
    this.#failedAt = this.now();
    this.#closeFd();
    if (!first) return;
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const why = code === 'ENOSPC' ? 'the disk is full' : code;
    this.stderr(`Lodge cannot write its log file (${why}); logging here until it can.\n`);
  }

  #closeFd(): void {
    if (this.#fd === null) return;
    try {
      closeSync(this.#fd);
    } catch {
      // The descriptor is unusable either way.
    }
    this.#fd = null;
  }

  #fallback(line: string): void {
    this.#dropped++;
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (level !== undefined && Number(level) < WARN) this.stderr(line.endsWith('\n') ? line : `${line}\n`);
  }
}

function writeFully(fd: number, text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    const written = writeSync(fd, buffer);
    buffer = buffer.subarray(written);
  }
}
