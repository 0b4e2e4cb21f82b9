import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RunnerError } from '../runner-error';
import { RENDER_STATE, type TemplateWorkerData } from './template-worker';

/** How long one render may take: a chat template renders in milliseconds. */
const RENDER_DEADLINE_MS = 5000;
/** The most a prompt may render to (UTF-8 bytes): far beyond any context window. */
const MAX_RENDER_BYTES = 16 * 1024 * 1024;
/** The worker's heap: a template that grows beyond it is stopped. */
const WORKER_HEAP_MB = 256;

/** The worker entry: built beside the runner bundle, or this folder's source (tests, dev). */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = join(here, 'template-worker.js');
  return existsSync(built) ? built : join(here, 'template-worker.ts');
}

/**
 * Renders a model's chat template in a worker thread with a deadline, an output bound and a heap
 * bound. A template is code a model folder (and so a hub) brings: one that loops for ever or grows
 * without bound would otherwise hold its runner, and every request queued behind it, at 100% CPU.
 * The call is synchronous for its caller (it waits on a shared buffer), so rendering stays where it
 * was in the generation loop.
 */
export class TemplateSandbox {
  readonly #shared = new SharedArrayBuffer(8 + MAX_RENDER_BYTES);
  readonly #header = new Int32Array(this.#shared, 0, 2);
  readonly #body = new Uint8Array(this.#shared, 8);
  readonly #decoder = new TextDecoder();
  #worker: Worker;

  constructor(private readonly source: string) {
    this.#worker = this.#start();
  }

  #start(): Worker {
    const data: TemplateWorkerData = { source: this.source, shared: this.#shared };
    const worker = new Worker(workerFile(), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: true,
      stderr: true,
    });
    // The runner exits when the core asks; a template worker never holds it up.
    worker.unref();
    return worker;
  }

  /** The template rendered with `context`; a RunnerError when it fails, runs too long or too large. */
  render(context: Record<string, unknown>): string {
    Atomics.store(this.#header, 0, RENDER_STATE.waiting);
    this.#worker.postMessage(context);
    const waited = Atomics.wait(this.#header, 0, RENDER_STATE.waiting, RENDER_DEADLINE_MS);
    if (waited === 'timed-out') {
      void this.#worker.terminate();
      this.#worker = this.#start();
      throw new RunnerError(
        'invalid_request',
        `The model's chat template did not finish rendering within ${RENDER_DEADLINE_MS / 1000} s (or outgrew its memory), so it was stopped. The template in tokenizer_config.json is at fault, not these messages.`,
      );
    }
    const state = Atomics.load(this.#header, 0);
    const text = this.#decoder.decode(this.#body.slice(0, Atomics.load(this.#header, 1)));
    if (state === RENDER_STATE.tooLong)
      throw new RunnerError(
        'invalid_request',
        `The model's chat template rendered more than ${MAX_RENDER_BYTES / 1024 / 1024} MiB of prompt, so it was refused.`,
      );
    if (state === RENDER_STATE.failed)
      throw new RunnerError(
        'invalid_request',
        `The model's chat template could not render these messages: ${text}`,
      );
    return text;
  }
}
