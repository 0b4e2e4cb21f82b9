// `npm run bench`, concurrency: one runner serving 1, 4 and 8 concurrent greedy streams on the
// wide-vocabulary LM (continuous batching), total decode tok/s and time to first token, next to
// the same streams on a runner that takes them one at a time (parallel 1, the queue of before).
// Prints a table and the ratios against the goals; asserts nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GREEDY } from '../src/shared/engine';
import { RunnerProcess } from '../src/main/core/engine/runner-process';
import { fixturePath, WIDE_LM } from '../test/fixtures/models';

const ROOT = process.env.LODGE_REPO_ROOT ?? process.cwd();
const RUNNER = join(ROOT, 'out/main/runner.js');
const THREADS = Number(process.env.LODGE_BENCH_THREADS ?? 2);
const NEW_TOKENS = Number(process.env.LODGE_BENCH_TOKENS ?? 64);
const REPEATS = Number(process.env.LODGE_BENCH_REPEATS ?? 3);
const STREAMS = (process.env.LODGE_BENCH_STREAMS ?? '1,4,8').split(',').map(Number);

interface Round {
  /** New tokens of every stream over the round's wall time. */
  readonly tokensPerSecond: number;
  /** Each stream's time from its request to its first token, in ms. */
  readonly ttftMs: readonly number[];
}

/** The load average, 1, 5 and 15 minutes (the machine may be shared). */
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const p95 = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[
    Math.min(values.length - 1, Math.ceil(values.length * 0.95) - 1)
  ] as number;

async function runner(parallel: number): Promise<RunnerProcess> {
  const dir = fixturePath(WIDE_LM);
  const process = new RunnerProcess('bench', RUNNER);
  await process.ready;
  // A cache dir as the app gives it, so the graph runs as users get it (optimized, attention fused).
  const cacheDir = mkdtempSync(join(tmpdir(), 'lodge-bench-cache-'));
  process.once('exit', () => rmSync(cacheDir, { recursive: true, force: true }));
  await process.load({
    modelId: 'bench',
    task: 'text-generation',
    dir,
    modelFile: join(dir, 'onnx/model.onnx'),
    providers: ['cpu'],
    threads: THREADS,
    cacheDir,
    parallel,
  });
  return process;
}

/**
 * `streams` concurrent greedy streams, each with its own prompt (no shared prefix to reuse). With
 * `oneAtATime`, each waits for the one before, as the scheduler's queue makes them on parallel 1.
 */
async function round(target: RunnerProcess, streams: number, oneAtATime: boolean): Promise<Round> {
  const started = performance.now();
  let tokens = 0;
  let previous: Promise<unknown> = Promise.resolve();
  const ttft = await Promise.all(
    Array.from({ length: streams }, async (_, index) => {
      const asked = performance.now();
      let release = () => {};
      const turn = previous;
      previous = new Promise<void>((resolve) => (release = resolve));
      if (oneAtATime) await turn;
      let first: number | null = null;
      for await (const event of target.generate({
        prompt: {
          kind: 'text',
          text: `${Math.random().toString(36).slice(2, 6)} stream ${index}: the quick brown fox jumps over the lazy dog`,
        },
        maxTokens: NEW_TOKENS,
        ignoreEos: true,
        stop: [],
        sampling: GREEDY,
      })) {
        if (event.type !== 'text') continue;
        first ??= performance.now();
        tokens += event.tokens;
      }
      release();
      return (first ?? performance.now()) - asked;
    }),
  );
  return { tokensPerSecond: (tokens / (performance.now() - started)) * 1000, ttftMs: ttft };
}

async function main(): Promise<void> {
  console.log(
    `\nConcurrency: the wide-vocabulary LM, ${THREADS} threads, ${NEW_TOKENS} new tokens per stream, median of ${REPEATS} (load average ${load()})`,
  );
  const batched = await runner(8);
  const queued = await runner(1);
  const rows: { label: string; streams: number; tps: number; p95: number }[] = [];
  try {
    await round(batched, 2, false);
    await round(queued, 2, true);
    const samples = STREAMS.map(() => ({ batched: [] as Round[], queued: [] as Round[] }));
    // Interleaved across stream counts and runners, so a burst of load on a shared machine hits
    // every figure alike (the ratios compare figures taken minutes apart otherwise). Which runner
    // goes first alternates, so neither is always the one that starts after the other's round
    // (solo, parallel 8 / parallel 1 read 0.93× with parallel 8 always first, 1.00× with it
    // always second; in one process the two take the same path, a batch of one runs alone).
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      for (const [index, streams] of STREAMS.entries()) {
        const sample = samples[index];
        if (sample === undefined) continue;
        const batchedRound = async () => sample.batched.push(await round(batched, streams, false));
        const queuedRound = async () => sample.queued.push(await round(queued, streams, true));
        if ((repeat + index) % 2 === 0) {
          await batchedRound();
          await queuedRound();
        } else {
          await queuedRound();
          await batchedRound();
        }
      }
    }
    for (const [index, streams] of STREAMS.entries())
      for (const [label, list] of Object.entries(samples[index] ?? {}))
        rows.push({
          label,
          streams,
          tps: median(list.map((sample) => sample.tokensPerSecond)),
          p95: median(list.map((sample) => p95(sample.ttftMs))),
        });
  } finally {
    await batched.stop();
    await queued.stop();
  }
  console.log('runner             streams   total tok/s   p95 TTFT ms');
  for (const row of rows)
    console.log(
      `${row.label === 'batched' ? 'parallel 8' : 'parallel 1'}         ${String(row.streams).padStart(7)}   ${row.tps.toFixed(0).padStart(11)}   ${row.p95.toFixed(1).padStart(11)}`,
    );
  // Only the ratios whose figures were taken (LODGE_BENCH_STREAMS may leave out 1, 4 or 8).
  const of = (label: string, streams: number) =>
    rows.find((row) => row.label === label && row.streams === streams);
  const solo = of('batched', 1);
  const ratios: string[] = [];
  for (const [streams, goal] of [
    [4, 2.5],
    [8, 3.5],
  ] as const) {
    const many = of('batched', streams);
    if (solo && many)
      ratios.push(`batched ${streams}/1: ${(many.tps / solo.tps).toFixed(2)}× (goal ≥ ${goal}×)`);
  }
  const eight = of('batched', 8);
  if (solo && eight)
    ratios.push(`p95 TTFT with 8 streams / solo: ${(eight.p95 / solo.p95).toFixed(2)}× (goal ≤ 3×)`);
  const queuedSolo = of('queued', 1);
  if (solo && queuedSolo)
    ratios.push(
      `solo, parallel 8 / parallel 1: ${(solo.tps / queuedSolo.tps).toFixed(2)}× (goal: no slower, ≈ 1×)`,
    );
  if (ratios.length === 0) ratios.push('(no ratios: LODGE_BENCH_STREAMS needs 1 and 4 or 8)');
  for (const line of ratios) console.log(line);
  console.log(`load average after: ${load()}`);
}

await main();
