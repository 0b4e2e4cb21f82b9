import type { DownloadView } from '../../shared/contract/hub';
import { serverSentEvents } from '../../shared/sse';
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
        if (response.body)
          for await (const { event, data } of serverSentEvents(response.body)) this.#dispatch(event, data);
      } catch {
        // The core is restarting or unreachable: wait, then reconnect.
      }
      if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }

  #dispatch(event: string | null, data: string): void {
    const name = event as keyof CoreEvents | null;
    if (!name) return;
    const payload = JSON.parse(data) as never;
    for (const listener of this.#listeners.get(name) ?? []) listener(payload);
  }
}
