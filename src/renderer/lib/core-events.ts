import type { DownloadView } from '../../shared/contract/hub';
import type { ApiClient } from './api-client';

/** The core's state changes, by name, as `GET /app/events` streams them. */
export interface CoreEvents {
  models: { ids: string[] };
  'import-progress': { id: string; doneBytes: number; totalBytes: number };
  download: DownloadView;
  inference: Record<string, unknown>;
}

type Listener<K extends keyof CoreEvents> = (data: CoreEvents[K]) => void;

/**
 * One connection to `/app/events` for the whole UI, read with fetch (EventSource cannot send the
 * API key), reconnecting after a pause when the core goes away.
 */
export class CoreEventStream {
  readonly #listeners = new Map<keyof CoreEvents, Set<Listener<never>>>();

  constructor(private readonly api: ApiClient) {}

  /** Subscribes to one kind of event; returns the unsubscribe function. */
  on<K extends keyof CoreEvents>(event: K, listener: Listener<K>): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener as Listener<never>);
    this.#listeners.set(event, set);
    return () => set.delete(listener as Listener<never>);
  }

  /** Connects and keeps reconnecting until the returned function is called. */
  start(): () => void {
    const controller = new AbortController();
    void this.#loop(controller.signal);
    return () => controller.abort();
  }

  async #loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const response = await this.api.stream('/app/events', signal);
        const reader = response.body?.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const chunk = await reader?.read();
          if (!chunk || chunk.done) break;
          buffer += decoder.decode(chunk.value, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            this.#dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch {
        // The core is restarting or unreachable: wait, then reconnect.
      }
      if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }

  #dispatch(block: string): void {
    const name = /^event: (.+)$/m.exec(block)?.[1] as keyof CoreEvents | undefined;
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (!name || data === undefined) return;
    const payload = JSON.parse(data) as never;
    for (const listener of this.#listeners.get(name) ?? []) listener(payload);
  }
}
