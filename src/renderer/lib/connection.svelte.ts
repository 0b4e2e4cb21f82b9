import type { ApiClient } from './api-client';
import { ApiError } from './api-client';

/** How the UI stands with the core. */
export type ConnectionStatus = 'connecting' | 'online' | 'offline' | 'unauthorized';

const POLL_ONLINE_MS = 5000;
const POLL_OFFLINE_MS = 1500;

/**
 * Watches the core: `/health` for liveness, then an authenticated call to learn whether this UI
 * holds a valid API key. Drives the connection indicator and the key prompt.
 */
export class Connection {
  #status = $state<ConnectionStatus>('connecting');
  #version = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly api: ApiClient) {}

  /** Where the UI stands now. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The core's version, once it answered. */
  get version(): string | null {
    return this.#version;
  }

  /** Starts polling; returns the function that stops it. */
  start(): () => void {
    void this.check();
    return () => {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
    };
  }

  /** Checks now (after a key was entered, say) and reschedules the next check. */
  async check(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    try {
      const health = await this.api.call('health');
      this.#version = health.version;
      await this.api.call('info');
      this.#status = 'online';
    } catch (error) {
      this.#status = error instanceof ApiError && error.status === 401 ? 'unauthorized' : 'offline';
    }
    this.#timer = setTimeout(
      () => void this.check(),
      this.#status === 'online' ? POLL_ONLINE_MS : POLL_OFFLINE_MS,
    );
  }
}
