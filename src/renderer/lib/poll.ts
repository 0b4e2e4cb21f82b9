/**
 * Runs `task` now and then every `intervalMs` after the previous run settles (never overlapping),
 * until the returned function is called. Suited to `$effect(() => every(…))`.
 */
export function every(intervalMs: number, task: (signal: AbortSignal) => Promise<void>): () => void {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    try {
      await task(controller.signal);
    } catch {
      // The view shows its own error state; polling carries on.
    }
    if (!controller.signal.aborted) timer = setTimeout(() => void run(), intervalMs);
  };
  void run();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
