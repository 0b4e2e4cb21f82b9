// `npm run bench`: Lodge over its OpenAI API and at its runner, against transformers.js and a bare
// onnxruntime-node loop, on the generated tiny and wide-vocabulary LMs, with the same thread count.
// Decode speed is measured end to end: new tokens over the request's wall time, prefill included.
// Prints a table and the ratios; asserts nothing.
import { GREEDY } from '../src/shared/engine';
import type { RunnerProcess } from '../src/main/core/engine/runner-process';
import { TextTokenizer } from '../src/main/runner/text/tokenizer';
import { fixturePath, TINY_LM, WIDE_LM } from '../test/fixtures/models';
import {
  bareLoop,
  format,
  load,
  lodge,
  measureAll,
  median,
  NEW_TOKENS,
  overApi,
  PROMPT,
  REPEATS,
  table,
  THREADS,
  transformers,
  type Run,
} from './contenders';

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
    // Without reuse: the same turn, its first message changed at the start, so no cached prefix
    // (the runner keeps many) matches more than the template's opening tokens.
    const [first, ...rest] = before;
    const fresh = await ttft([
      { role: 'user', content: `Cold ${round}. ${first?.content ?? ''}` },
      ...rest,
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

async function main(): Promise<void> {
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
    // As many exports are: the head computes every prompt position unless Lodge cuts it (logits-rewrite.ts).
    ['wide without num_logits_to_keep', { ...WIDE_LM, numLogitsToKeep: false }],
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

await main();
