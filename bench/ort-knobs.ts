// `npm run bench`, third table: what each onnxruntime knob buys on the llama models, measured on the
// bare loop (the floor Lodge's runner is held to) beside llama.cpp at the same precision: session
// options (spinning, optimisation level, the saved optimised graph, parallel execution) at f32, and
// at 8 and 4 bits the int8 MatMulInteger graph, MatMulNBits at accuracy_level 0 and 4, and Lodge's
// own rewrite of the fp32 graph to MatMulNBits (src/main/runner/onnx/fast-matmul.ts), which holds
// the very blocks llama.cpp's Q8_0 / Q4_0 hold, and the same rewrite in wider blocks (64, 128: one
// scale for more values), with and without its RMSNorm rewrite (norm-rewrite.ts); and at each
// precision the graph with its attention fused into GroupQueryAttention, as the runner loads it
// (fused-graph.ts). Medians of interleaved runs; prints the load average.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { describeFastMatMuls, fastMatMulFile, type BlockSize } from '../src/main/runner/onnx/fast-matmul';
import { describeFusions, fusedModel } from '../src/main/runner/onnx/fused-graph';
import { TextTokenizer } from '../src/main/runner/text/tokenizer';
import { ggufFixturePath, type GgufType } from '../test/fixtures/gguf';
import {
  fixturePath,
  lmFileName,
  MID_LLAMA_LM,
  WIDE_LLAMA_LM,
  type LanguageModelSpec,
} from '../test/fixtures/models';
import {
  bareGreedy,
  bareLoop,
  figures,
  format,
  load,
  measureAll,
  NEW_TOKENS,
  PROMPT,
  REPEATS,
  ROOT,
  table,
  THREADS,
  type Run,
} from './contenders';
import { LlamaCpp } from './llama-cpp';

interface Step {
  readonly precision: 'f32' | '8-bit' | '4-bit';
  readonly name: string;
  /** The ONNX file it runs and the spec that describes its inputs. */
  readonly model: () => { file: string; spec: LanguageModelSpec };
  readonly options?: ort.InferenceSession.SessionOptions;
}

const OUT = join(ROOT, '.cache/bench/knobs');

/**
 * The model of `source` rewritten by Lodge's MatMulNBits pass as the runner gets it (fastMatMulFile:
 * the graph and its data file in a cache dir, here under .cache/bench, made once).
 */
function rewritten(
  base: LanguageModelSpec,
  bits: 4 | 8,
  source = base,
  blockSize: BlockSize = 32,
  norms = true,
): { file: string; spec: LanguageModelSpec } {
  const from = join(fixturePath(source), 'onnx', lmFileName(source));
  const options = { bits: source.quant ? null : bits, headBits: 8, blockSize, norms } as const;
  const file = fastMatMulFile(from, join(OUT, 'nbits'), options, (report) =>
    console.log(
      `${source.quant ?? 'fp32'} → ${bits}-bit, blocks of ${blockSize}${norms ? '' : ', norms left'}: ${describeFastMatMuls(report)}`,
    ),
  );
  return { file, spec: source };
}

/**
 * `source`'s graph with its attention and norms fused (fused-graph.ts): written beside it where it
 * is one of OUT's (its weights in a data file there), else under OUT.
 */
function fused(source: { file: string; spec: LanguageModelSpec }): { file: string; spec: LanguageModelSpec } {
  const result = fusedModel(source.file);
  if (result === null) throw new Error(`nothing in ${source.file} fuses`);
  console.log(`${basename(source.file)}: ${describeFusions(result.report)}`);
  mkdirSync(OUT, { recursive: true });
  const file = dirname(source.file).startsWith(OUT)
    ? `${source.file}.fused.onnx`
    : join(OUT, `${fixturePath(source.spec).split('/').at(-1)}-fused.onnx`);
  writeFileSync(file, result.bytes);
  return { file, spec: source.spec };
}

function fixture(spec: LanguageModelSpec): { file: string; spec: LanguageModelSpec } {
  return { file: join(fixturePath(spec), 'onnx', lmFileName(spec)), spec };
}

function steps(base: LanguageModelSpec): Step[] {
  const f32 = () => fixture(base);
  const optimized = join(OUT, `${fixturePath(base).split('/').at(-1)}-optimized.onnx`);
  return [
    { precision: 'f32', name: "Lodge's options (all, sequential, 1 inter-op)", model: f32 },
    {
      precision: 'f32',
      name: '+ intra-op spinning off',
      model: f32,
      options: { extra: { session: { 'intra_op.allow_spinning': '0' } } },
    },
    {
      precision: 'f32',
      name: 'optimisation level extended',
      model: f32,
      options: { graphOptimizationLevel: 'extended' },
    },
    { precision: 'f32', name: 'parallel execution mode', model: f32, options: { executionMode: 'parallel' } },
    {
      precision: 'f32',
      name: 'attention fused into GroupQueryAttention (as Lodge loads it)',
      model: () => fused(f32()),
    },
    {
      precision: 'f32',
      name: 'saved optimised graph, loaded unoptimised',
      model: () => {
        mkdirSync(OUT, { recursive: true });
        return { file: optimized, spec: base };
      },
      options: { graphOptimizationLevel: 'disabled' },
    },
    {
      precision: '8-bit',
      name: 'int8 DynamicQuantizeLinear + MatMulInteger',
      model: () => fixture({ ...base, quant: 'int8' }),
    },
    {
      precision: '8-bit',
      name: 'fp32 → MatMulNBits 8-bit, accuracy 4 (Q8_0 blocks), RMSNorm squares left as Mul',
      model: () => rewritten(base, 8, base, 32, false),
    },
    {
      precision: '8-bit',
      name: 'fp32 → MatMulNBits 8-bit, accuracy 4 (Q8_0 blocks)',
      model: () => rewritten(base, 8),
    },
    {
      precision: '8-bit',
      name: '… and attention fused into GroupQueryAttention (as Lodge loads it)',
      model: () => fused(rewritten(base, 8)),
    },
    ...wider(base, 8),
    {
      precision: '4-bit',
      name: 'MatMulNBits 4-bit, accuracy 0 (the export)',
      model: () => fixture({ ...base, quant: 'q4' }),
    },
    {
      precision: '4-bit',
      name: 'the export switched to accuracy 4',
      model: () => rewritten(base, 4, { ...base, quant: 'q4' }),
    },
    {
      precision: '4-bit',
      name: 'fp32 → MatMulNBits 4-bit, accuracy 4 (Q4_0 blocks), RMSNorm squares left as Mul',
      model: () => rewritten(base, 4, base, 32, false),
    },
    {
      precision: '4-bit',
      name: 'fp32 → MatMulNBits 4-bit, accuracy 4 (Q4_0 blocks)',
      model: () => rewritten(base, 4),
    },
    {
      precision: '4-bit',
      name: '… and attention fused into GroupQueryAttention (as Lodge loads it)',
      model: () => fused(rewritten(base, 4)),
    },
    ...wider(base, 4),
  ];
}

/** The fp32 graph rewritten at `bits` in blocks wider than llama.cpp's 32 (FastMatMulOptions.blockSize). */
function wider(base: LanguageModelSpec, bits: 4 | 8): Step[] {
  return ([64, 128] as const).map((blockSize) => ({
    precision: bits === 8 ? '8-bit' : '4-bit',
    name: `fp32 → MatMulNBits ${bits}-bit, accuracy 4, blocks of ${blockSize}`,
    model: () => rewritten(base, bits, base, blockSize),
  }));
}

const GGUF: Readonly<Record<Step['precision'], GgufType>> = { f32: 'f32', '8-bit': 'q8_0', '4-bit': 'q4_0' };

async function main(): Promise<void> {
  console.log(
    `\nWhat each onnxruntime knob buys (bare loop), against llama.cpp at the same precision: ${THREADS} thread(s),\n` +
      `${NEW_TOKENS} new tokens, median of ${REPEATS} interleaved rounds; load average ${load()}.\n` +
      '"agree": leading greedy tokens shared with llama.cpp at that precision.\n',
  );
  const only = process.env.LODGE_BENCH_MODELS;
  const rows: string[][] = [];
  for (const [name, base] of [
    ['wide', WIDE_LLAMA_LM],
    ['mid', MID_LLAMA_LM],
  ] as const) {
    if (only !== undefined && !name.startsWith(only)) continue;
    const ids = TextTokenizer.load(fixturePath(base)).encode(PROMPT);
    // The saved optimised graph, as Lodge's cache writes it.
    mkdirSync(OUT, { recursive: true });
    const { InferenceSession } = await import('onnxruntime-node');
    await InferenceSession.create(fixture(base).file, {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: join(OUT, `${fixturePath(base).split('/').at(-1)}-optimized.onnx`),
    });
    // LODGE_BENCH_PRECISIONS=8-bit,4-bit runs only those.
    const precisions = process.env.LODGE_BENCH_PRECISIONS?.split(',');
    for (const precision of ['f32', '8-bit', '4-bit'] as const) {
      if (precisions !== undefined && !precisions.includes(precision)) continue;
      const chosen = steps(base).filter((step) => step.precision === precision);
      const cpp = await LlamaCpp.open(ggufFixturePath(base, GGUF[precision]), THREADS, 1024);
      const theirs = (await cpp.greedy(ids, NEW_TOKENS)).tokens;
      const runs: (() => Promise<Run>)[] = [];
      const agree: number[] = [];
      for (const step of chosen) {
        const { file, spec } = step.model();
        const ours = await bareGreedy(file, spec, ids, NEW_TOKENS);
        let count = 0;
        while (count < NEW_TOKENS && ours[count] === theirs[count]) count++;
        agree.push(count);
        runs.push(await bareLoop('', spec, ids, file, step.options ?? {}));
      }
      runs.push(async () => {
        const result = await cpp.greedy([Math.floor(Math.random() * 200), ...ids.slice(1)], NEW_TOKENS);
        return figures(ids.length, result.started, result.first, result.ended, result.tokens.length);
      });
      const measured = await measureAll(runs);
      const peer = measured.at(-1) as Run;
      for (const [index, step] of chosen.entries()) {
        const run = measured[index] as Run;
        rows.push([
          name,
          precision,
          step.name,
          `${agree[index]}/${NEW_TOKENS}`,
          format(run.tokensPerSecond),
          format(peer.tokensPerSecond),
          format(run.tokensPerSecond / peer.tokensPerSecond, 2),
        ]);
      }
      await cpp.close();
    }
  }
  table(['model', 'precision', 'step', 'agree', 'tok/s bare', 'llama.cpp', 'bare/llama.cpp'], rows);
  console.log(`\nLoad average at the end: ${load()}.`);
}

await main();
