import { CliError } from './client';

/** The exit code of a command the user stopped with Ctrl+C, as shells report it (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Runs `task` with a signal Ctrl+C (SIGINT) aborts, instead of the signal killing the process
 * mid-line with the cursor hidden; once aborted, the command ends with {@link INTERRUPTED_EXIT_CODE}.
 */
export async function interruptible<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.on('SIGINT', abort);
  try {
    const result = await task(controller.signal);
    if (controller.signal.aborted) throw new CliError('Stopped.', INTERRUPTED_EXIT_CODE);
    return result;
  } catch (error) {
    if (controller.signal.aborted) throw new CliError('Stopped.', INTERRUPTED_EXIT_CODE);
    throw error;
  } finally {
    process.off('SIGINT', abort);
  }
}
