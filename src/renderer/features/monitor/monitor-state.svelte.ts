import type { RequestRecord } from '../../../shared/contract/system';
import type { ApiClient } from '../../lib/api-client';
import type { CoreEventStream } from '../../lib/core-events';
import { historyColumns, prepend, secondsAgo } from './monitor-history';

/** How much history the charts keep, in seconds. */
const WINDOW_SECONDS = 300;

type Series = (number | null)[];

/** p-th percentile of `values` (nearest rank). */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

/**
 * The Monitor's rolling figures, every one from the core: first the history the core kept
 * (/app/metrics/history), so that the charts open full; then CPU, memory and GPU from /app/system,
 * decode speed and time to first token from each inference as it finishes, request rate and latency
 * percentiles from the request log.
 */
export class MonitorState {
  #system = $state.raw<[number[], Series, Series]>([[], [], []]);
  #gpu = $state.raw<[number[], Series, Series]>([[], [], []]);
  #gpuName = $state<string | null>(null);
  #gpuNote = $state<string | null>(null);
  #inference = $state.raw<[number[], Series, Series]>([[], [], []]);
  #requests = $state.raw<[number[], Series, Series, Series]>([[], [], [], []]);
  #lastRequestId = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly events: CoreEventStream,
  ) {}

  get system() {
    return this.#system;
  }
  /** The first GPU's utilization and memory use (%), when the machine reports one. */
  get gpu() {
    return this.#gpu;
  }
  get gpuName() {
    return this.#gpuName;
  }
  /** Why there are no GPU figures, when there are none. */
  get gpuNote() {
    return this.#gpuNote;
  }
  get inference() {
    return this.#inference;
  }
  get requests() {
    return this.#requests;
  }

  /** Starts sampling; returns the function that stops it. */
  start(): () => void {
    const unsubscribe = this.events.on('inference', (record) => {
      const time = Date.parse(String(record.time)) / 1000;
      const speed = typeof record.decodeTokensPerSecond === 'number' ? record.decodeTokensPerSecond : null;
      const ttft = typeof record.timeToFirstTokenMs === 'number' ? record.timeToFirstTokenMs : null;
      if (speed === null && ttft === null) return;
      this.#inference = trim([
        [...this.#inference[0], time],
        [...this.#inference[1], speed],
        [...this.#inference[2], ttft],
      ]);
    });
    // Stopping (the view going) aborts a sample in flight too.
    const controller = new AbortController();
    const timer = setInterval(() => void this.#sample(controller.signal), 2000);
    void this.#loadHistory(controller.signal);
    void this.#sample(controller.signal);
    return () => {
      controller.abort();
      clearInterval(timer);
      unsubscribe();
    };
  }

  /** Puts the core's history of the window under whatever live points arrived meanwhile. */
  async #loadHistory(signal: AbortSignal): Promise<void> {
    const since = secondsAgo(WINDOW_SECONDS);
    try {
      const history = historyColumns(await this.api.call('metricsHistory', { query: { since } }, signal));
      this.#system = trim(prepend(history.system, this.#system));
      this.#gpu = trim(prepend(history.gpu, this.#gpu));
      this.#inference = trim(prepend(history.inference, this.#inference));
      this.#requests = trim(prepend(history.requests, this.#requests));
    } catch {
      // The core is away (the Connection indicator says so) or the view went: the live samples fill in.
    }
  }

  async #sample(signal: AbortSignal): Promise<void> {
    try {
      const [system, log] = await Promise.all([
        this.api.call('system', undefined, signal),
        this.api.call('requests', { query: { limit: 500 } }, signal),
      ]);
      const now = Date.parse(system.time) / 1000;
      this.#system = trim([
        [...this.#system[0], now],
        [...this.#system[1], system.cpuPercent],
        [...this.#system[2], Math.round((system.memoryUsedBytes / system.memoryTotalBytes) * 1000) / 10],
      ]);
      const gpu = system.gpus[0];
      this.#gpuNote = system.gpuNote;
      this.#gpuName = gpu
        ? `${gpu.name}${system.gpus.length > 1 ? ` (+${system.gpus.length - 1})` : ''}`
        : null;
      if (gpu)
        this.#gpu = trim([
          [...this.#gpu[0], now],
          [...this.#gpu[1], gpu.utilizationPercent],
          [
            ...this.#gpu[2],
            gpu.memoryUsedBytes !== null && gpu.memoryTotalBytes
              ? Math.round((gpu.memoryUsedBytes / gpu.memoryTotalBytes) * 1000) / 10
              : null,
          ],
        ]);
      const fresh: RequestRecord[] = log.requests.filter((request) => request.id > this.#lastRequestId);
      if (this.#lastRequestId === 0 && fresh.length > 0) {
        // The first sample only sets the baseline; earlier requests are not this window's.
        this.#lastRequestId = Math.max(...fresh.map((request) => request.id));
        return;
      }
      if (fresh.length > 0) this.#lastRequestId = Math.max(...fresh.map((request) => request.id));
      const durations = fresh.map((request) => request.durationMs);
      this.#requests = trim([
        [...this.#requests[0], now],
        [...this.#requests[1], fresh.length],
        [...this.#requests[2], percentile(durations, 50)],
        [...this.#requests[3], percentile(durations, 95)],
      ]);
    } catch {
      // The core is away; the Connection indicator says so.
    }
  }
}

function trim<T extends [number[], ...Series[]]>(columns: T): T {
  const times = columns[0];
  const oldest = (times.at(-1) ?? 0) - WINDOW_SECONDS;
  const start = times.findIndex((time) => time >= oldest);
  return (start <= 0 ? columns : columns.map((column) => column.slice(start))) as T;
}
