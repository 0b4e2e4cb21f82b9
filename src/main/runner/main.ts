// A runner process: forked by the core, one per loaded model. It owns one onnxruntime session set
// and answers the core's typed messages; generation streams pieces of text, merged per frame.
import type {
  BatchingInfo,
  CoreToRunnerMessage,
  LoadedInfo,
  LoadSpec,
  RunnerResults,
  RunnerToCoreMessage,
} from '../../shared/runner-protocol';
import type { QuantizeMode } from '../../shared/engine';
import { DiffusionModel } from './diffusion/diffusion-model';
import { Embedder } from './embed/embedder';
import { generate, promptTokens } from './llm/generate';
import { LanguageModel } from './llm/language-model';
import { ortErrorText } from './onnx/ort-errors';
import { listedBackends } from './onnx/providers';
import { quantizeOptions } from './onnx/fast-matmul';
import { describeFusions } from './onnx/fused-graph';
import { ortVersion, type OpenedSession } from './onnx/session';
import { RunnerError } from './runner-error';
import { SpeechModel } from './speech/speech-model';
import { TensorModel } from './tensors/tensor-model';
import { TextBatcher } from './text-batcher';
import { generateWithImages, visionPromptTokens } from './vision/vision-generate';
import { VisionLanguageModel } from './vision/vision-model';

type Loaded =
  | { task: 'text-generation'; model: LanguageModel; id: string }
  | { task: 'embeddings'; model: Embedder; id: string }
  | { task: 'tensors'; model: TensorModel; id: string }
  | { task: 'text-to-image'; model: DiffusionModel; id: string }
  | { task: 'image-text-to-text'; model: VisionLanguageModel; id: string }
  | { task: 'speech-to-text'; model: SpeechModel; id: string };

let loaded: Loaded | null = null;
const running = new Map<number, AbortController>();

function send(message: RunnerToCoreMessage): void {
  process.send?.(message);
}

function fail(id: number, error: unknown): void {
  if (error instanceof RunnerError) send({ type: 'error', id, code: error.code, message: error.message });
  else
    send({
      type: 'error',
      id,
      code: 'internal',
      message: error instanceof Error ? error.message : String(error),
    });
}

async function load(spec: LoadSpec): Promise<LoadedInfo> {
  if (loaded !== null) throw new RunnerError('internal', `This runner already holds ${loaded.id}.`);
  const started = performance.now();
  const options = { providers: spec.providers, threads: spec.threads, cacheDir: spec.cacheDir };
  const quantize = spec.quantize ?? 'off';
  let opened: OpenedSession;
  let contextLength: number | null = null;
  let batching: BatchingInfo | null = null;
  let quantized: Exclude<QuantizeMode, 'off'> | null = null;
  let quantizeNote: string | null = null;
  let quantizeSummary: string | null = null;
  let fusions: string | null = null;
  try {
    if (spec.task === 'text-generation') {
      const result = await LanguageModel.open(
        spec.dir,
        spec.modelFile,
        // A decoder's attention and norms are fused at load, quantized or not (fused-graph.ts).
        { ...options, fuse: true, ...(quantize === 'off' ? {} : { fastMatMuls: quantizeOptions(quantize) }) },
        spec.modelId,
        spec.parallel ?? 1,
      );
      loaded = { task: spec.task, model: result.model, id: spec.modelId };
      opened = result.opened;
      if (opened.rewritten && quantize !== 'off') quantized = quantize;
      quantizeNote = opened.rewriteNote;
      quantizeSummary = opened.rewriteSummary;
      fusions = opened.fusion === null ? null : describeFusions(opened.fusion);
      if (fusions !== null && result.model.screenNote !== null) fusions += ` (${result.model.screenNote})`;
      contextLength = result.model.contextLength;
      batching = result.model.batching;
    } else if (spec.task === 'image-text-to-text') {
      const result = await VisionLanguageModel.open(spec.dir, spec.modelFile, options, spec.modelId);
      loaded = { task: spec.task, model: result.model, id: spec.modelId };
      opened = result.opened;
      contextLength = result.model.contextLength;
    } else if (spec.task === 'embeddings') {
      const result = await Embedder.open(spec.dir, spec.modelFile, options);
      loaded = { task: spec.task, model: result.embedder, id: spec.modelId };
      opened = result.opened;
      contextLength = result.embedder.maxLength;
    } else if (spec.task === 'text-to-image') {
      const result = await DiffusionModel.open(spec.dir, spec.modelFile, options);
      loaded = { task: spec.task, model: result.model, id: spec.modelId };
      opened = result.opened;
    } else if (spec.task === 'speech-to-text') {
      const result = await SpeechModel.open(spec.dir, spec.modelFile, options);
      loaded = { task: spec.task, model: result.model, id: spec.modelId };
      opened = result.opened;
    } else {
      const result = await TensorModel.open(spec.modelFile, options);
      loaded = { task: spec.task, model: result.model, id: spec.modelId };
      opened = result.opened;
    }
  } catch (error) {
    if (error instanceof RunnerError) throw error;
    throw new RunnerError('model_load_failed', `${spec.modelId} could not be loaded: ${ortErrorText(error)}`);
  }
  return {
    provider: opened.provider,
    skipped: opened.skipped,
    fromCache: opened.fromCache,
    loadMs: performance.now() - started,
    inputs: opened.session.inputs,
    outputs: opened.session.outputs,
    contextLength,
    batching,
    ...(quantized !== null ? { quantized } : {}),
    ...(quantizeNote !== null ? { quantizeNote } : {}),
    ...(quantizeSummary !== null ? { quantizeSummary } : {}),
    ...(fusions !== null ? { fusions } : {}),
  };
}

function expect<T extends Loaded['task']>(task: T): Extract<Loaded, { task: T }> {
  if (loaded === null) throw new RunnerError('internal', 'No model is loaded in this runner.');
  if (loaded.task !== task)
    throw new RunnerError('invalid_request', `${loaded.id} is a ${loaded.task} model, not a ${task} model.`);
  return loaded as Extract<Loaded, { task: T }>;
}

async function handle(message: Exclude<CoreToRunnerMessage, { type: 'cancel' | 'shutdown' }>): Promise<void> {
  const controller = new AbortController();
  running.set(message.id, controller);
  const reply = <K extends keyof RunnerResults>(result: RunnerResults[K]) =>
    send({ type: 'result', id: message.id, result });
  const events = new TextBatcher((event) => send({ type: 'event', id: message.id, event }));
  try {
    switch (message.type) {
      case 'load':
        reply<'load'>(await load(message.spec));
        break;
      case 'generate': {
        if (loaded?.task === 'image-text-to-text') {
          for await (const event of generateWithImages(
            loaded.model,
            message.request,
            loaded.id,
            controller.signal,
          ))
            events.push(event);
          events.flush();
          reply<'generate'>(null);
          break;
        }
        const { model, id } = expect('text-generation');
        for await (const event of generate(model, message.request, id, controller.signal)) events.push(event);
        events.flush();
        reply<'generate'>(null);
        break;
      }
      case 'count': {
        if (loaded?.task === 'image-text-to-text') {
          reply<'count'>({
            promptTokens: await visionPromptTokens(loaded.model, message.request, loaded.id),
          });
          break;
        }
        const { model, id } = expect('text-generation');
        reply<'count'>({ promptTokens: promptTokens(model, message.request, id).length });
        break;
      }
      case 'embed':
        reply<'embed'>(await expect('embeddings').model.embed(message.request, controller.signal));
        break;
      case 'infer':
        reply<'infer'>(await expect('tensors').model.infer(message.request));
        break;
      case 'diffuse':
        reply<'diffuse'>(
          await expect('text-to-image').model.generate(message.request, controller.signal, (progress) =>
            send({ type: 'progress', id: message.id, progress }),
          ),
        );
        break;
      case 'transcribe': {
        const { model } = expect('speech-to-text');
        const result = await model.transcribe(message.request, controller.signal, (segment) =>
          send({
            type: 'event',
            id: message.id,
            event: { type: 'text', text: segment.text, tokens: segment.tokens.length },
          }),
        );
        reply<'transcribe'>(result);
        break;
      }
      case 'stats':
        reply<'stats'>({ rssBytes: process.memoryUsage.rss() });
        break;
    }
  } catch (error) {
    // Text written before a failure still reaches the client, ahead of the error.
    events.flush();
    fail(message.id, error);
  } finally {
    running.delete(message.id);
  }
}

if (!process.send) {
  console.error('The Lodge runner is started by the Lodge core, not by hand.');
  process.exit(2);
}

process.on('message', (message: CoreToRunnerMessage) => {
  if (message.type === 'cancel') running.get(message.id)?.abort();
  else if (message.type === 'shutdown') {
    const release = loaded?.model.release() ?? Promise.resolve();
    void release.finally(() => process.exit(0));
  } else void handle(message);
});
// The core going away (crash or kill) must not leave an orphan holding a model in memory.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', ortVersion: ortVersion(), backends: listedBackends() });
