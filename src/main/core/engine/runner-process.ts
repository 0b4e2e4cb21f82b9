import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { GenerateEvent, GenerateRequest, ImageProgress } from '../../../shared/engine';
import type {
  CoreToRunnerMessage,
  LoadSpec,
  RunnerRequestType,
  RunnerResults,
  RunnerToCoreMessage,
} from '../../../shared/runner-protocol';
import { LodgeError } from '../errors';

/** How long a new runner may take to say it is ready. */
const READY_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onEvent?: (event: GenerateEvent) => void;
  onProgress?: (progress: ImageProgress) => void;
}

/** Events of {@link RunnerProcess}. */
export interface RunnerProcessEvents {
  /** The process ended; `expected` is false for a crash or a kill. */
  exit: [info: { code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
}

/**
 * The core's handle on one runner process: typed requests with correlated replies, streamed
 * generation, cancellation, and crash detection. When the process dies, every request in flight
 * fails with `runner_crashed`, naming the model and the signal.
 */
export class RunnerProcess extends EventEmitter<RunnerProcessEvents> {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #exited = false;
  #stopping = false;
  readonly ready: Promise<{ ortVersion: string; backends: readonly string[] }>;

  constructor(
    readonly modelId: string,
    runnerPath: string,
  ) {
    super();
    const inElectron = process.versions.electron !== undefined;
    this.#child = fork(runnerPath, [], {
      // NOTE: onnxruntime-node 1.30 turns float16 data into a Float16Array where the runtime has one
      // (Node 24 does), and its native binding then reads zero bytes: fp16 inputs and KV caches fail.
      // Without Float16Array it keeps the Uint16Array, which the binding reads correctly.
      execArgv: ['--no-js-float16array'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        // NOTE: onnxruntime's Linux build carries Microsoft's telemetry client, which otherwise
        // writes /tmp/mat-debug-<pid>.log and ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ (a
        // device id and an event database) on every load: nothing of Lodge's leaves the data dir.
        ORT_DISABLE_TELEMETRY: '1',
        // NOTE: inside Electron, process.execPath is the Electron binary; this makes it act as Node.
        ...(inElectron ? { ELECTRON_RUN_AS_NODE: '1' } : {}),
      },
    });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new LodgeError(
              'model_load_failed',
              `The runner for ${modelId} did not start within ${READY_TIMEOUT_MS / 1000} s.`,
            ),
          ),
        READY_TIMEOUT_MS,
      );
      const onMessage = (message: RunnerToCoreMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        resolve({ ortVersion: message.ortVersion, backends: message.backends });
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        reject(new LodgeError('runner_crashed', `The runner for ${modelId} exited before it was ready.`));
      });
    });
    this.ready.catch(() => undefined);
    this.#child.on('message', (message: RunnerToCoreMessage) => this.#receive(message));
    this.#child.on('exit', (code, signal) => this.#onExit(code, signal));
    this.#child.on('error', () => undefined);
  }

  /** The runner's process id. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Loads the model described by `spec`. */
  load(spec: LoadSpec): Promise<RunnerResults['load']> {
    return this.#request('load', { spec });
  }

  /**
   * Any single-reply request; what it streams on the way goes to `hooks`: a transcript's segments
   * to `onEvent`, an image generation's steps to `onProgress`.
   */
  call<K extends 'embed' | 'infer' | 'stats' | 'count' | 'diffuse' | 'transcribe'>(
    type: K,
    payload: K extends 'stats' ? object : { request: unknown },
    signal?: AbortSignal,
    hooks: {
      readonly onEvent?: ((event: GenerateEvent) => void) | undefined;
      readonly onProgress?: ((progress: ImageProgress) => void) | undefined;
    } = {},
  ): Promise<RunnerResults[K]> {
    return this.#request(type, payload, signal, hooks.onEvent, hooks.onProgress);
  }

  /**
   * Streams a generation; aborting `signal` asks the runner to stop within one token. A consumer
   * that stops early (a client gone) cancels too, and this waits until the runner has stopped, so
   * the runner is free before the next request is sent.
   */
  async *generate(request: GenerateRequest, signal?: AbortSignal): AsyncGenerator<GenerateEvent> {
    const queue: GenerateEvent[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: Error | null = null;
    const stop = new AbortController();
    const done = this.#request(
      'generate',
      { request },
      signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
      (event) => {
        queue.push(event);
        wake?.();
      },
    );
    done.then(
      () => {
        finished = true;
        wake?.();
      },
      (error: Error) => {
        failure = error;
        finished = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      if (failure !== null) throw failure;
    } finally {
      if (!finished) {
        stop.abort();
        await done.catch(() => undefined);
      }
    }
  }

  /** Asks the runner to exit after releasing its session; kills it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    this.#stopping = true;
    const exited = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    this.#send({ type: 'shutdown' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  #request<K extends RunnerRequestType>(
    type: K,
    payload: object,
    signal?: AbortSignal,
    onEvent?: (event: GenerateEvent) => void,
    onProgress?: (progress: ImageProgress) => void,
  ): Promise<RunnerResults[K]> {
    if (this.#exited)
      return Promise.reject(
        new LodgeError('runner_crashed', `The runner for ${this.modelId} is not running.`),
      );
    const id = this.#nextId++;
    return new Promise<RunnerResults[K]>((resolve, reject) => {
      const cancel = () => this.#send({ type: 'cancel', id });
      signal?.addEventListener('abort', cancel, { once: true });
      const settle = () => signal?.removeEventListener('abort', cancel);
      this.#pending.set(id, {
        resolve: (value) => {
          settle();
          resolve(value as RunnerResults[K]);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        ...(onEvent ? { onEvent } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      try {
        this.#send({ type, id, ...payload } as CoreToRunnerMessage);
      } catch (error) {
        // Serializing happens before anything is sent: the runner never saw it, so nothing awaits it.
        this.#pending.delete(id);
        settle();
        reject(unsendable(this.modelId, error));
        return;
      }
      if (signal?.aborted) cancel();
    });
  }

  /** Requests sent to the runner and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  #send(message: CoreToRunnerMessage): void {
    if (this.#exited || !this.#child.connected) return;
    this.#child.send(message, (error) => {
      // A send that fails means the process is gone; the exit handler fails what was pending.
      if (error) this.#child.kill('SIGKILL');
    });
  }

  #receive(message: RunnerToCoreMessage): void {
    if (message.type === 'ready') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    if (message.type === 'event') {
      pending.onEvent?.(message.event);
      return;
    }
    if (message.type === 'progress') {
      pending.onProgress?.(message.progress);
      return;
    }
    this.#pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.result);
    else pending.reject(new LodgeError(message.code, message.message));
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exited = true;
    const expected = this.#stopping;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const error = new LodgeError(
      'runner_crashed',
      `The runner for ${this.modelId} ${how} while working on this request${signal === 'SIGKILL' ? ' (out of memory, or killed)' : ''}. The model will be reloaded on the next request.`,
    );
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.emit('exit', { code, signal, expected });
  }
}

/**
 * The error for a request the IPC serializer refused (a value that is not plain data, or nested so
 * deep it overflows the stack): the request is refused, the runner keeps serving.
 */
function unsendable(modelId: string, cause: unknown): LodgeError {
  const why =
    cause instanceof RangeError ? 'it is nested too deeply' : 'it holds a value that is not plain data';
  return new LodgeError(
    'invalid_request',
    `The request could not be sent to the runner for ${modelId}: ${why}.`,
    {},
    { cause },
  );
}
