// `npm run bench`: Lodge over its OpenAI API and at its runner, against transformers.js and a bare
// onnxruntime-node loop, on the generated tiny and wide-vocabulary LMs, with the same thread count.
// Decode speed is measured end to end: new tokens over the request's wall time, prefill included.
// Prints a table and the ratios; asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TextStreamer } from '@huggingface/transformers';
import { AutoModelForCausalLM, BaseStreamer, env as transformersEnv } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { GREEDY, type GenerateRequest } from '../src/shared/engine';
import { physicalCores } from '../src/main/core/engine/hardware';
import { RunnerProcess } from '../src/main/core/engine/runner-process';
import { TextTokenizer } from '../src/main/runner/text/tokenizer';
import { fixturePath, TINY_LM, WIDE_LM, type LanguageModelSpec } from '../test/fixtures/models';

const ROOT = process.env.LODGE_REPO_ROOT ?? process.cwd();
const RUNNER = join(ROOT, 'out/main/runner.js');
const CLI = join(ROOT, 'out/main/cli.js');
const THREADS = Number(process.env.LODGE_BENCH_THREADS ?? physicalCores());
const NEW_TOKENS = Number(process.env.LODGE_BENCH_TOKENS ?? 128);
const REPEATS = Number(process.env.LODGE_BENCH_REPEATS ?? 5);
const PROMPT =
  'The quick brown fox jumps over the lazy dog. Lodge runs models on this machine: the model reads the prompt, ' +
  'then writes the answer token by token. The weather in Tokyo is sunny, and the answer is yes.';

interface Run {
  readonly promptTokens: number;
  readonly ttftMs: number;
  /** New tokens over the whole request's wall time (prefill included). */
  readonly tokensPerSecond: number;
}

/** A run's figures from when it started, when its first token came, when it ended, and its tokens. */
function figures(promptTokens: number, started: number, first: number, ended: number, tokens: number): Run {
  return { promptTokens, ttftMs: first - started, tokensPerSecond: (tokens / (ended - started)) * 1000 };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * Runs every contender once to warm up, then REPEATS rounds of one run each, in turn, and reports
 * each one's medians: interleaved, so a burst of load on a shared machine hits them all alike.
 */
async function measureAll(runs: readonly (() => Promise<Run>)[]): Promise<Run[]> {
  for (const run of runs) await run();
  const samples: Run[][] = runs.map(() => []);
  for (let round = 0; round < REPEATS; round++)
    for (const [index, run] of runs.entries()) samples[index]?.push(await run());
  return samples.map((list) => ({
    promptTokens: list[0]?.promptTokens ?? 0,
    ttftMs: median(list.map((sample) => sample.ttftMs)),
    tokensPerSecond: median(list.map((sample) => sample.tokensPerSecond)),
  }));
}

/** (a) Lodge: the real runner process, over IPC, with tokenization, sampling and detokenization. */
async function lodge(
  dir: string,
  promptTokens: number,
): Promise<{ run: () => Promise<Run>; runner: RunnerProcess }> {
  const runner = new RunnerProcess('bench', RUNNER);
  await runner.ready;
  await runner.load({
    modelId: 'bench',
    task: 'text-generation',
    dir,
    modelFile: join(dir, 'onnx/model.onnx'),
    providers: ['cpu'],
    threads: THREADS,
    cacheDir: null,
  });
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
 * streamed completion over the OpenAI API (greedy, no repetition penalty, as the others decode).
 */
async function overApi(
  dir: string,
  promptTokens: number,
): Promise<{ run: () => Promise<Run>; stop: () => Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'lodge-bench-'));
  cpSync(dir, join(home, 'models/bench/model'), {
    recursive: true,
    filter: (path) => !path.endsWith('.complete'),
  });
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', home], {
    env: { PATH: process.env.PATH, LODGE_THREADS: String(THREADS), LODGE_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /^Lodge listening on (http:\/\/\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`lodge serve exited with ${code}`)));
  });
  const run = async (): Promise<Run> => {
    const started = performance.now();
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'bench/model',
        prompt: `${Math.random().toString(36).slice(2, 4)} ${PROMPT}`,
        max_tokens: NEW_TOKENS,
        temperature: 0,
        repetition_penalty: 1,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    if (!response.ok || response.body === null) throw new Error(`the API answered ${response.status}`);
    let first = 0;
    let tokens = 0;
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      if (first === 0) first = performance.now();
      buffered += decoder.decode(chunk, { stream: true });
      const usage = /"completion_tokens":(\d+)/.exec(buffered);
      if (usage?.[1]) tokens = Number(usage[1]);
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    }
    if (tokens !== NEW_TOKENS) throw new Error(`the API wrote ${tokens} tokens, not ${NEW_TOKENS}`);
    return figures(promptTokens, started, first, performance.now(), tokens);
  };
  const stop = async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
  };
  return { run, stop };
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

/** (b) transformers.js 4.3.1 on the same folder, greedy, with the same thread count. */
async function transformers(dir: string, ids: number[]): Promise<() => Promise<Run>> {
  transformersEnv.allowRemoteModels = false;
  transformersEnv.localModelPath = `${dirname(dir)}/`;
  const model = await AutoModelForCausalLM.from_pretrained(basename(dir), {
    dtype: 'fp32',
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

/** (c) The floor: a bare onnxruntime-node greedy loop feeding the KV cache back, nothing else. */
async function bareLoop(dir: string, spec: LanguageModelSpec, ids: number[]): Promise<() => Promise<Run>> {
  const session = await ort.InferenceSession.create(join(dir, 'onnx/model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
  });
  const headDim = spec.hidden / spec.heads;
  const keep = session.inputNames.includes('num_logits_to_keep');
  return async () => {
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
    let tokens = [Math.floor(Math.random() * 200), ...ids.slice(1)];
    let length = 0;
    let first = 0;
    const started = performance.now();
    for (let step = 0; step < NEW_TOKENS; step++) {
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
      if (step === 0) first = performance.now();
      past = {};
      for (let layer = 0; layer < spec.layers; layer++) {
        for (const part of ['key', 'value'])
          past[`past_key_values.${layer}.${part}`] = out[`present.${layer}.${part}`] as ort.Tensor;
      }
      length = total;
      tokens = [best - (logits.length - vocab)];
    }
    return figures(ids.length, started, first, performance.now(), NEW_TOKENS);
  };
}

/** TTFT of a new chat turn after ~1,000 tokens of history, with the runner's prefix reuse and without it. */
async function secondTurn(
  runner: RunnerProcess,
): Promise<{ historyTokens: number; warmMs: number; coldMs: number; cached: number }> {
  const history: { role: 'user' | 'assistant'; content: string }[] = [];
  // Six messages of this prompt make about 1,000 tokens with the generated tokenizer.
  for (let turn = 0; history.length < 6; turn++) {
    history.push(
      { role: 'user', content: `Question ${turn}: ${PROMPT}` },
      { role: 'assistant', content: `Answer ${turn}: ${PROMPT}` },
    );
  }
  const ttft = async (messages: typeof history) => {
    const started = performance.now();
    let ttftMs = 0;
    let cached = 0;
    let prompt = 0;
    for await (const event of runner.generate({
      prompt: { kind: 'chat', messages },
      maxTokens: 4,
      stop: [],
      sampling: GREEDY,
      ignoreEos: true,
    })) {
      if (event.type === 'text' && ttftMs === 0) ttftMs = performance.now() - started;
      if (event.type === 'done') {
        cached = event.stats.cachedTokens;
        prompt = event.stats.promptTokens;
      }
    }
    return { ttftMs, cached, prompt };
  };
  const warm: number[] = [];
  const cold: number[] = [];
  let cached = 0;
  let historyTokens = 0;
  for (let round = 0; round < REPEATS + 1; round++) {
    const before = [...history, { role: 'user' as const, content: `Round ${round}: tell me more.` }];
    await ttft(before); // the previous turn: its KV cache is now the runner's
    const next = await ttft([
      ...before,
      { role: 'assistant', content: 'Sure.' },
      { role: 'user', content: 'And then?' },
    ]);
    await ttft([{ role: 'user', content: `Unrelated ${round}` }]); // replaces the cache
    const fresh = await ttft([
      ...before,
      { role: 'assistant', content: 'Sure.' },
      { role: 'user', content: 'And then?' },
    ]);
    if (round === 0) continue; // warm-up
    warm.push(next.ttftMs);
    cold.push(fresh.ttftMs);
    cached = next.cached;
    historyTokens = next.prompt;
  }
  return { historyTokens, warmMs: median(warm), coldMs: median(cold), cached };
}

const format = (value: number, digits = 1) => value.toFixed(digits);

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((value) => value.toFixed(2))
      .join(' ');
  console.log(
    `Lodge engine benchmark: ${THREADS} thread(s), ${NEW_TOKENS} new tokens, median of ${REPEATS} interleaved rounds after a warm-up, CPU; load average ${load()}.\n` +
      'Decode tok/s is new tokens over the whole request (prefill included). Contenders: (api) Lodge over its\n' +
      'OpenAI API (a lodge serve process, streamed); (runner) Lodge at its runner process (over IPC);\n' +
      '(t.js) transformers.js generate(); (bare) a bare onnxruntime-node greedy loop.\n',
  );
  const rows: string[][] = [];
  const turns: string[][] = [];
  // LODGE_BENCH_MODELS=wide (or tiny) runs one model only.
  const only = process.env.LODGE_BENCH_MODELS;
  for (const [name, spec] of [
    ['tiny (vocab 283)', TINY_LM],
    ['wide (vocab 151,936)', WIDE_LM],
  ] as const) {
    if (only !== undefined && !name.startsWith(only)) continue;
    const dir = fixturePath(spec);
    const ids = TextTokenizer.load(dir).encode(PROMPT);
    const api = await overApi(dir, ids.length);
    const { run, runner } = await lodge(dir, ids.length);
    const [d, a, b, c] = (await measureAll([
      api.run,
      run,
      await transformers(dir, ids),
      await bareLoop(dir, spec, ids),
    ])) as [Run, Run, Run, Run];
    await api.stop();
    rows.push([
      name,
      String(a.promptTokens),
      format(d.ttftMs),
      format(a.ttftMs),
      format(b.ttftMs),
      format(c.ttftMs),
      format(d.tokensPerSecond),
      format(a.tokensPerSecond),
      format(b.tokensPerSecond),
      format(c.tokensPerSecond),
      format(d.tokensPerSecond / c.tokensPerSecond, 2),
      format(d.tokensPerSecond / b.tokensPerSecond, 2),
      format(a.tokensPerSecond / c.tokensPerSecond, 2),
      format(a.tokensPerSecond / b.tokensPerSecond, 2),
      format(d.ttftMs / c.ttftMs, 2),
    ]);
    const turn = await secondTurn(runner);
    turns.push([
      name,
      String(turn.historyTokens),
      String(turn.cached),
      format(turn.warmMs),
      format(turn.coldMs),
      format(turn.coldMs / turn.warmMs, 1),
    ]);
    await runner.stop();
  }
  table(
    [
      'model',
      'prompt tok',
      'TTFT ms api',
      'runner',
      't.js',
      'bare',
      'tok/s api',
      'runner',
      't.js',
      'bare',
      'api/bare',
      'api/t.js',
      'runner/bare',
      'runner/t.js',
      'TTFT api/bare',
    ],
    rows,
  );
  console.log('\nSecond chat turn after ~1,000 tokens of history (Lodge runner):\n');
  table(['model', 'prompt tok', 'reused tok', 'TTFT ms with reuse', 'TTFT ms without', 'speed-up'], turns);
  console.log(
    `\nTargets on the wide-vocabulary model: api/bare and runner/bare ≥ 0.95; api/t.js and runner/t.js ≥ 1.4;\nTTFT api/bare ≤ 1.3; second-turn speed-up ≥ 3×. Load average at the end: ${load()}.`,
  );
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

await main();
