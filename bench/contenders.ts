// The benchmark's contenders, shared by its tables: Lodge over its OpenAI API and at its runner,
// transformers.js, and a bare onnxruntime-node loop, each timed the same way (new tokens over the
// request's wall time, prefill included), interleaved so a burst of load hits them all alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TextStreamer } from '@huggingface/transformers';
import { AutoModelForCausalLM, BaseStreamer, env as transformersEnv } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { GREEDY, type GenerateRequest, type QuantizeMode } from '../src/shared/engine';
import { physicalCores } from '../src/main/core/engine/hardware';
import { RunnerProcess } from '../src/main/core/engine/runner-process';
import type { LanguageModelSpec } from '../test/fixtures/models';

export const ROOT = process.env.LODGE_REPO_ROOT ?? process.cwd();
export const RUNNER = join(ROOT, 'out/main/runner.js');
export const CLI = join(ROOT, 'out/main/cli.js');
export const THREADS = Number(process.env.LODGE_BENCH_THREADS ?? physicalCores());
export const NEW_TOKENS = Number(process.env.LODGE_BENCH_TOKENS ?? 128);
export const REPEATS = Number(process.env.LODGE_BENCH_REPEATS ?? 5);
/**
 * The pause before each timed run: transformers.js', the bare loop's and llama.cpp's threads spin
 * a while after their last run (onnxruntime's and llama.cpp's defaults), and the next contender
 * must not start against them (measured: without it, the API's time to first token was 43 ms
 * instead of 28, and the bare loop's 23 instead of 11).
 */
const SETTLE_MS = Number(process.env.LODGE_BENCH_SETTLE_MS ?? 200);
export const PROMPT =
  'The quick brown fox jumps over the lazy dog. Lodge runs models on this machine: the model reads the prompt, ' +
  'then writes the answer token by token. The weather in Tokyo is sunny, and the answer is yes.';

/** One timed generation. */
export interface Run {
  readonly promptTokens: number;
  readonly ttftMs: number;
  /** New tokens over the whole request's wall time (prefill included). */
  readonly tokensPerSecond: number;
}

/** A run's figures from when it started, when its first token came, when it ended, and its tokens. */
export function figures(
  promptTokens: number,
  started: number,
  first: number,
  ended: number,
  tokens: number,
): Run {
  return { promptTokens, ttftMs: first - started, tokensPerSecond: (tokens / (ended - started)) * 1000 };
}

/** The median of `values`. */
export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * Runs every contender once to warm up, then REPEATS rounds of one run each, in turn, and reports
 * each one's medians: interleaved, so a burst of load on a shared machine hits them all alike.
 */
export async function measureAll(runs: readonly (() => Promise<Run>)[]): Promise<Run[]> {
  for (const run of runs) await run();
  const samples: Run[][] = runs.map(() => []);
  for (let round = 0; round < REPEATS; round++)
    for (const [index, run] of runs.entries()) {
      // The last contender's garbage is collected before the next starts: left to V8, it is marked
      // and swept on helper threads during the next run, on the cores that run needs (the API's
      // time to first token on the wide model, medians of five rounds: 24-28 ms without, 18-21 with).
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      samples[index]?.push(await run());
    }
  return samples.map((list) => ({
    promptTokens: list[0]?.promptTokens ?? 0,
    ttftMs: median(list.map((sample) => sample.ttftMs)),
    tokensPerSecond: median(list.map((sample) => sample.tokensPerSecond)),
  }));
}

/**
 * (a) Lodge: the real runner process, over IPC, with tokenization, sampling and detokenization,
 * with a cache dir as the app gives it (the bench's own, removed when the runner stops), so the
 * graph runs as users get it: optimized, its attention fused at load, and with `quantize`,
 * quantized at load as the setting makes it.
 */
export async function lodge(
  dir: string,
  promptTokens: number,
  modelFile = join(dir, 'onnx/model.onnx'),
  quantize: QuantizeMode = 'off',
): Promise<{ run: () => Promise<Run>; runner: RunnerProcess }> {
  const runner = new RunnerProcess('bench', RUNNER);
  await runner.ready;
  const cacheDir = mkdtempSync(join(tmpdir(), 'lodge-bench-cache-'));
  runner.once('exit', () => rmSync(cacheDir, { recursive: true, force: true }));
  const loaded = await runner.load({
    modelId: 'bench',
    task: 'text-generation',
    dir,
    modelFile,
    providers: ['cpu'],
    threads: THREADS,
    cacheDir,
    quantize,
  });
  if (quantize !== 'off' && loaded.quantized !== quantize)
    throw new Error(`the runner did not quantize the model to ${quantize} at load`);
  const request: GenerateRequest = {
    prompt: { kind: 'text', text: PROMPT },
    maxTokens: NEW_TOKENS,
    stop: [],
    sampling: GREEDY,
    ignoreEos: true,
  };
  const run = async (): Promise<Run> => {
    // A different first token each run defeats prefix reuse, so every run pays its full prefill.
    const started = performance.now();
    let first = 0;
    let last = 0;
    let tokens = 0;
    for await (const event of runner.generate({
      ...request,
      prompt: { kind: 'text', text: `${Math.random().toString(36).slice(2, 4)} ${PROMPT}` },
    })) {
      if (event.type !== 'text') continue;
      last = performance.now();
      if (tokens === 0) first = last;
      tokens += event.tokens;
    }
    return figures(promptTokens, started, first, last, tokens);
  };
  return { run, runner };
}

/**
 * (d) Lodge as a client sees it: a real `lodge serve` process with the model in its folder, and a
 * streamed completion over the OpenAI API (greedy, no repetition penalty, as the others decode),
 * sent and timed by a client process of its own.
 */
export async function overApi(
  dir: string,
  promptTokens: number,
  quantize: QuantizeMode = 'off',
): Promise<{ run: () => Promise<Run>; stop: () => Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'lodge-bench-'));
  cpSync(dir, join(home, 'models/bench/model'), {
    recursive: true,
    filter: (path) => !path.endsWith('.complete'),
  });
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', home], {
    env: {
      PATH: process.env.PATH,
      LODGE_THREADS: String(THREADS),
      LODGE_LOG_LEVEL: 'error',
      LODGE_QUANTIZE: quantize,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /^Lodge listening on (http:\/\/\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`lodge serve exited with ${code}`)));
  });
  const client = apiClient();
  let checked = quantize === 'off';
  const run = async (): Promise<Run> => {
    const timed = await client.run(`${url}/v1/completions`, {
      model: 'bench/model',
      prompt: `${Math.random().toString(36).slice(2, 4)} ${PROMPT}`,
      max_tokens: NEW_TOKENS,
      temperature: 0,
      repetition_penalty: 1,
      stream: true,
      stream_options: { include_usage: true },
    });
    if (timed.tokens !== NEW_TOKENS)
      throw new Error(`the API wrote ${timed.tokens} tokens, not ${NEW_TOKENS}`);
    if (!checked) {
      const { models } = (await (await fetch(`${url}/app/runners`)).json()) as {
        models: { quantized: string | null }[];
      };
      if (models[0]?.quantized !== quantize)
        throw new Error(`lodge serve did not quantize the model to ${quantize} at load`);
      checked = true;
    }
    return figures(promptTokens, 0, timed.ttftMs, timed.totalMs, timed.tokens);
  };
  const stop = async () => {
    client.stop();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  };
  return { run, stop };
}

/** One streamed completion as bench/api-client.mjs timed it. */
interface ClientTiming {
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly tokens: number;
}

/**
 * The API's client, in a process of its own (bench/api-client.mjs says why): `run` streams one
 * completion there and resolves with its timings.
 */
function apiClient(): { run: (url: string, body: object) => Promise<ClientTiming>; stop: () => void } {
  const child = spawn(process.execPath, [join(ROOT, 'bench/api-client.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return {
    run: async (url, body) => {
      child.stdin?.write(`${JSON.stringify({ url, body })}\n`);
      const next = await answers.next();
      if (next.done) throw new Error('the bench API client exited');
      const answer = JSON.parse(next.value) as ClientTiming | { error: string };
      if ('error' in answer) throw new Error(answer.error);
      return answer;
    },
    stop: () => child.kill(),
  };
}

/** Records when transformers.js hands over each step's tokens. */
class StampStreamer extends BaseStreamer {
  constructor(private readonly stamps: number[]) {
    super();
  }

  override put(): void {
    this.stamps.push(performance.now());
  }

  override end(): void {}
}

/** (b) transformers.js 4.3.1 on the same folder, greedy, with the same thread count, in `dtype`'s variant. */
export async function transformers(
  dir: string,
  ids: number[],
  dtype: 'fp32' | 'q4' | 'q8' = 'fp32',
): Promise<() => Promise<Run>> {
  transformersEnv.allowRemoteModels = false;
  transformersEnv.localModelPath = `${dirname(dir)}/`;
  const model = await AutoModelForCausalLM.from_pretrained(basename(dir), {
    dtype,
    device: 'cpu',
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
  });
  const { Tensor } = await import('@huggingface/transformers');
  return async () => {
    const input = [BigInt(Math.floor(Math.random() * 200)), ...ids.slice(1).map(BigInt)];
    const inputIds = new Tensor('int64', BigInt64Array.from(input), [1, input.length]);
    const attention = new Tensor('int64', new BigInt64Array(input.length).fill(1n), [1, input.length]);
    const stamps: number[] = [];
    const started = performance.now();
    await model.generate({
      input_ids: inputIds,
      attention_mask: attention,
      max_new_tokens: NEW_TOKENS,
      min_new_tokens: NEW_TOKENS,
      do_sample: false,
      // generate() only calls put() and end(); its JSDoc types ask for a full TextStreamer.
      streamer: new StampStreamer(stamps) as unknown as TextStreamer,
    });
    // The streamer's first put is the prompt; the second is the first new token.
    const first = stamps[1] ?? started;
    return figures(ids.length, started, first, performance.now(), NEW_TOKENS);
  };
}

/**
 * (c) The floor: a bare onnxruntime-node greedy loop feeding the KV cache back, nothing else.
 * `options` are the session's (the bench's other tables try onnxruntime's knobs with it).
 */
export async function bareLoop(
  dir: string,
  spec: LanguageModelSpec,
  ids: number[],
  modelFile = join(dir, 'onnx/model.onnx'),
  options: ort.InferenceSession.SessionOptions = {},
): Promise<() => Promise<Run>> {
  const decode = await bareDecoder(modelFile, spec, options);
  return async () => {
    const started = performance.now();
    let first = 0;
    await decode([Math.floor(Math.random() * 200), ...ids.slice(1)], NEW_TOKENS, () => {
      first = performance.now();
    });
    return figures(ids.length, started, first, performance.now(), NEW_TOKENS);
  };
}

/** The bare loop's greedy tokens after `prompt`, for checking a peer token for token. */
export async function bareGreedy(
  modelFile: string,
  spec: LanguageModelSpec,
  prompt: readonly number[],
  count: number,
): Promise<number[]> {
  return (await bareDecoder(modelFile, spec, {}))(prompt, count, () => {});
}

/** A greedy decoder over one session: `count` new tokens after `prompt`, EOS ignored. */
async function bareDecoder(
  modelFile: string,
  spec: LanguageModelSpec,
  options: ort.InferenceSession.SessionOptions,
): Promise<(prompt: readonly number[], count: number, onFirst: () => void) => Promise<number[]>> {
  const session = await ort.InferenceSession.create(modelFile, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    ...options,
  });
  const headDim = spec.headDim ?? spec.hidden / spec.heads;
  const keep = session.inputNames.includes('num_logits_to_keep');
  return async (prompt, count, onFirst) => {
    let past: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < spec.layers; layer++) {
      for (const part of ['key', 'value'])
        past[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          spec.kvHeads,
          0,
          headDim,
        ]);
    }
    let tokens = [...prompt];
    let length = 0;
    const generated: number[] = [];
    for (let step = 0; step < count; step++) {
      const total = length + tokens.length;
      const feeds: Record<string, ort.Tensor> = {
        ...past,
        input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        position_ids: new ort.Tensor(
          'int64',
          BigInt64Array.from(tokens, (_, index) => BigInt(length + index)),
          [1, tokens.length],
        ),
      };
      if (keep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.of(1n), []);
      const out = await session.run(feeds);
      const logits = out.logits?.data as Float32Array;
      const vocab = out.logits?.dims.at(-1) ?? 0;
      let best = logits.length - vocab;
      for (let index = best + 1; index < logits.length; index++)
        if ((logits[index] as number) > (logits[best] as number)) best = index;
      if (step === 0) onFirst();
      past = {};
      for (let layer = 0; layer < spec.layers; layer++) {
        for (const part of ['key', 'value'])
          past[`past_key_values.${layer}.${part}`] = out[`present.${layer}.${part}`] as ort.Tensor;
      }
      length = total;
      tokens = [best - (logits.length - vocab)];
      generated.push(tokens[0] as number);
    }
    return generated;
  };
}

/** A number with `digits` decimals. */
export const format = (value: number, digits = 1) => value.toFixed(digits);

/** The load average, 1, 5 and 15 minutes, for the tables' headers (the machine is shared). */
export const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Prints a Markdown table, numbers right-aligned. */
export function table(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}
