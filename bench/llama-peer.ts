// `LODGE_BENCH_TABLES=llama-peer npm run bench`: how fast the llama.cpp peer itself can be driven
// from Node, so that the llama table times llama.cpp and not node-llama-cpp's JS. For each way of
// running the decode loop (the binding's native calls, or node-llama-cpp's `sequence.evaluate()`)
// and each thread count, it times greedy runs of SHORT and NEW_TOKENS new tokens from an empty
// cache, interleaved round by round, and reports the median cost of one more token (the slope
// between the two lengths, which leaves the prefill out) and the median whole-run tok/s. Every
// variant's tokens must equal the native loop's at the bench's thread count, else it is refused.
import { TextTokenizer } from '../src/main/runner/text/tokenizer';
import { ggufFixturePath, type GgufType } from '../test/fixtures/gguf';
import { fixturePath, MID_LLAMA_LM, WIDE_LLAMA_LM, type LanguageModelSpec } from '../test/fixtures/models';
import { format, load, median, NEW_TOKENS, PROMPT, REPEATS, table, THREADS } from './contenders';
import { LlamaCpp, type LlamaLoop, type LlamaRun } from './llama-cpp';

const SHORT = 32;

const MODELS: readonly [string, LanguageModelSpec][] = [
  ['wide', WIDE_LLAMA_LM],
  ['mid', MID_LLAMA_LM],
];

interface Variant {
  readonly loop: LlamaLoop;
  readonly threads: number;
}

const VARIANTS: readonly Variant[] = [
  { loop: 'native', threads: THREADS },
  { loop: 'evaluate', threads: THREADS },
  ...(THREADS > 1 ? [{ loop: 'native' as const, threads: 1 }] : []),
];

const milliseconds = (run: LlamaRun) => run.ended - run.started;

async function main(): Promise<void> {
  console.log(
    `\nThe llama.cpp peer: per-token cost of each decode loop, greedy, ${SHORT} and ${NEW_TOKENS} new tokens,\n` +
      `median of ${REPEATS} interleaved rounds after a warm-up; load average ${load()}.\n`,
  );
  const only = process.env.LODGE_BENCH_MODELS;
  const types = (process.env.LODGE_BENCH_GGUF?.split(',') ?? ['f32', 'q8_0', 'q4_0']) as GgufType[];
  const rows: string[][] = [];
  for (const [name, spec] of MODELS) {
    if (only !== undefined && !name.startsWith(only)) continue;
    const ids = TextTokenizer.load(fixturePath(spec)).encode(PROMPT);
    for (const type of types) {
      const file = ggufFixturePath(spec, type);
      const peers = await Promise.all(
        VARIANTS.map(async (variant) => ({
          variant,
          cpp: await LlamaCpp.open(file, variant.threads, 1024),
          short: [] as number[],
          long: [] as number[],
          agrees: true,
        })),
      );
      const reference = (await peers[0]?.cpp.greedy(ids, NEW_TOKENS, 'native'))?.tokens ?? [];
      for (let round = 0; round <= REPEATS; round++)
        for (const peer of peers) {
          const a = await peer.cpp.greedy(ids, SHORT, peer.variant.loop);
          const b = await peer.cpp.greedy(ids, NEW_TOKENS, peer.variant.loop);
          if (b.tokens.join() !== reference.join() || a.tokens.join() !== reference.slice(0, SHORT).join())
            peer.agrees = false;
          // Round 0 warms up.
          if (round === 0) continue;
          peer.short.push(milliseconds(a));
          peer.long.push(milliseconds(b));
        }
      for (const { variant, short, long, agrees } of peers) {
        const perToken = median(long.map((ms, round) => (ms - (short[round] ?? 0)) / (NEW_TOKENS - SHORT)));
        const label = [name, type, variant.loop, String(variant.threads)];
        if (!agrees) rows.push([...label, 'refused: tokens differ', '', '', '']);
        else
          rows.push([
            ...label,
            format(perToken, 3),
            format(1000 / perToken),
            format((NEW_TOKENS / median(long)) * 1000),
            format((SHORT / median(short)) * 1000),
          ]);
      }
      for (const peer of peers) await peer.cpp.close();
    }
  }
  table(
    [
      'model',
      'gguf',
      'loop',
      'threads',
      'ms/token',
      'decode tok/s',
      `tok/s (${NEW_TOKENS})`,
      `tok/s (${SHORT})`,
    ],
    rows,
  );
  console.log(`\nLoad average at the end: ${load()}.`);
}

await main();
