import type { z } from 'zod';
import {
  isLiveEventName,
  liveEventSchemas,
  type LiveEventName,
  type LiveEvents,
} from '../../shared/live-events';
import { serverSentEvents } from '../../shared/sse';
import type { ApiClient } from './api-client';

/** The core's state changes, by name, as `GET /app/events` streams them. */
export type CoreEvents = LiveEvents;

type Listener<K extends LiveEventName> = (data: LiveEvents[K]) => void;
type ListenerSets = { [K in LiveEventName]: Set<Listener<K>> };

/**
 * One connection to `/app/events` for the whole UI, read with fetch (EventSource cannot send the
 * API key), reconnecting after a pause when the core goes away. Each event's data is checked
 * against the shared schema before a listener sees it.
 */
export class CoreEventStream {
  readonly #listeners: ListenerSets = {
    models: new Set(),
    'import-progress': new Set(),
    download: new Set(),
    inference: new Set(),
    slot: new Set(),
  };

  constructor(private readonly api: ApiClient) {}

  /** Subscribes to one kind of event; returns the unsubscribe function. */
  on<K extends LiveEventName>(event: K, listener: Listener<K>): () => void {
    const set: Set<Listener<K>> = this.#listeners[event];
    set.add(listener);
    return () => set.delete(listener);
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
          for await (const { event, data } of serverSentEvents(response.body))
            if (isLiveEventName(event)) this.#dispatch(event, data);
      } catch {
        // The core is restarting or unreachable: wait, then reconnect.
      }
      if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }

  #dispatch<K extends LiveEventName>(name: K, data: string): void {
    const schema: z.ZodType<LiveEvents[K]> = liveEventSchemas[name];
    const parsed = schema.safeParse(JSON.parse(data));
    // NOTE: an event that does not match its schema comes from a core of another version; skip it.
    if (!parsed.success) return;
    const set: Set<Listener<K>> = this.#listeners[name];
    for (const listener of set) listener(parsed.data);
  }
}
