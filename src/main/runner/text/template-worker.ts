// The chat template's sandbox: a worker thread that compiles one model's Jinja template and renders
// it on request, so that a template that loops for ever or grows without bound can be stopped.
// NOTE: this file is its own entry (a built one beside the runner, or this source under Node's type
// stripping in tests): it imports nothing of Lodge's.
import { Template } from '@huggingface/jinja';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** What the worker is started with: the template's source and the buffer it answers in. */
export interface TemplateWorkerData {
  readonly source: string;
  /** [state, byte length] as two Int32 words, then the rendered text's UTF-8 bytes. */
  readonly shared: SharedArrayBuffer;
}

/** The worker's answer, in the state word. */
export const RENDER_STATE = { waiting: 0, done: 1, failed: 2, tooLong: 3 } as const;

const HEADER_BYTES = 8;

const started = workerData as Partial<TemplateWorkerData> | null;
if (!isMainThread && parentPort !== null && typeof started?.source === 'string' && started.shared) {
  const { source, shared } = started as TemplateWorkerData;
  const header = new Int32Array(shared, 0, 2);
  const body = new Uint8Array(shared, HEADER_BYTES);
  const encoder = new TextEncoder();
  let template: Template | null = null;
  parentPort.on('message', (context: Record<string, unknown>) => {
    let state: number = RENDER_STATE.done;
    let text: string;
    try {
      template ??= new Template(source);
      text = template.render(context);
    } catch (error) {
      state = RENDER_STATE.failed;
      text = error instanceof Error ? error.message : String(error);
    }
    const written = encoder.encodeInto(text, body);
    if (written.read < text.length) state = state === RENDER_STATE.done ? RENDER_STATE.tooLong : state;
    Atomics.store(header, 1, written.written);
    Atomics.store(header, 0, state);
    Atomics.notify(header, 0);
  });
}
