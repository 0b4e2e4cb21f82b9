import { ConfigError, type Flags } from './config';
import { startLodge, type Lodge } from './app';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Where {@link serve} reports: the terminal for the CLI, the parent port inside Electron. */
export interface ServeReporter {
  listening(url: string, dataDir: string): void;
  failed(message: string): void;
  /** One line per served request (method, path, model, status, time, tokens), as Ollama prints. */
  request?(line: string): void;
}

/**
 * Runs a core until SIGINT or SIGTERM, then shuts it down gracefully: stop accepting, finish or
 * cancel in-flight work, close the database. A second signal exits at once. Returns the exit code
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
  reporter.listening(lodge.url, lodge.paths.root);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      lodge.logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    stopping = true;
    lodge.logger.info({ signal }, 'received signal, shutting down');
    const force = setTimeout(() => {
      lodge.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    void lodge.dispose().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}
