import { ConfigError, type Flags } from './config';
import { REQUEST_GRACE_MS, startLodge, type Lodge } from './app';

/** How long a graceful shutdown may take in all (requests' grace, runners, database) before it exits anyway. */
const SHUTDOWN_LIMIT_MS = REQUEST_GRACE_MS + 15_000;

/**
 * Signals this soon after the first are the same Ctrl+C arriving again (the terminal sends it to
 * the whole process group, and a parent such as npm or `npm start` may forward it too): ignored.
 * A later one is the user insisting: exit at once.
 */
const SAME_SIGNAL_MS = 1000;

/** Where {@link serve} reports: the terminal for the CLI, the parent port inside Electron. */
export interface ServeReporter {
  listening(url: string, dataDir: string): void;
  failed(message: string): void;
  /** One line per served request (method, path, model, status, time, tokens), as Ollama prints. */
  request?(line: string): void;
}

/**
 * Runs a core until SIGINT or SIGTERM, then shuts it down gracefully: stop accepting, end queued
 * work, give running requests their grace period, close the database, exit 0. The same signal
 * delivered twice (one Ctrl+C) shuts down once; a second Ctrl+C a moment later exits at once. Returns the exit code
 * to use if startup fails, or never returns while serving.
 */
export async function serve(
  flags: Flags,
  entry: { rendererDir: string | null; runnerPath: string },
  reporter: ServeReporter,
): Promise<number> {
  let lodge: Lodge;
  try {
    lodge = await startLodge({
      flags,
      env: process.env,
      ...entry,
      ...(reporter.request ? { requestLines: (line: string) => reporter.request?.(line) } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      reporter.failed(error.message);
      return 2;
    }
    reporter.failed(`Lodge could not start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  // NOTE: a terminal that went away (the parent killed, the pipe closed) makes writes to it fail with
  // EPIPE; unhandled, that error would take the core down. The log file and the ring still have it all.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let stoppingSince: number | null = null;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
      // The logger may be closed by now; stderr is always there.
      process.stderr.write(`Lodge got ${signal} again while shutting down; exiting without waiting.\n`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    lodge.logger.info({ signal }, 'received signal, shutting down');
    const force = setTimeout(() => {
      process.stderr.write('Lodge took too long to shut down; exiting.\n');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    lodge.dispose().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Lodge could not shut down cleanly: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Before saying it listens: whoever reads that line may signal at once.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  reporter.listening(lodge.url, lodge.paths.root);
  return new Promise<number>(() => undefined);
}
