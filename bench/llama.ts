// `npm run bench`, second table: Lodge against llama.cpp, the engine Ollama and LM Studio run, on
// the same generated llama weights (ONNX for Lodge, GGUF for llama.cpp), at f32, 8 and 4 bits, on
// the wide-vocabulary and the mid-sized model. Before any speed, the tokens: at f32 llama.cpp's
// greedy tokens must equal Lodge's (else no speed row is printed); the 8- and 4-bit rows say how many
// of the first tokens agree, as the two quantizations differ (Q8_0 / Q4_0 blocks of 32 against
// per-tensor int8 and MatMulNBits' asymmetric 4-bit blocks). The "at load" rows run the f32 export
// with Lodge's `quantize` setting, which makes the same Q8_0 / Q4_0 blocks llama.cpp's files hold.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastMatMulFile, quantizeOptions } from '../src/main/runner/onnx/fast-matmul';
import { GREEDY } from '../src/shared/engine';
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
  lodge,
  measureAll,
  NEW_TOKENS,
  overApi,
  PROMPT,
  REPEATS,
  table,
  THREADS,
  transformers,
  type Run,
} from './contenders';
import { LlamaCpp } from './llama-cpp';

interface Precision {
  readonly name: string;
  /** The ONNX fixture's quantization. */
  readonly quant?: 'int8' | 'q4';
  /** Lodge's quantization at load of the f32 export (the `quantize` setting). */
  readonly atLoad?: 'q8' | 'q4';
  readonly gguf: GgufType;
  /** transformers.js' dtype for the same ONNX file. */
  readonly dtype: 'fp32' | 'q8' | 'q4';
  /** The ratio Lodge over its API should reach against llama.cpp. */
  readonly target: number;
}

const PRECISIONS: readonly Precision[] = [
  { name: 'f32', gguf: 'f32', dtype: 'fp32', target: 1.0 },
  { name: '8-bit', quant: 'int8', gguf: 'q8_0', dtype: 'q8', target: 0.8 },
  { name: '4-bit', quant: 'q4', gguf: 'q4_0', dtype: 'q4', target: 0.8 },
  { name: '8-bit at load', atLoad: 'q8', gguf: 'q8_0', dtype: 'fp32', target: 0.8 },
  { name: '4-bit at load', atLoad: 'q4', gguf: 'q4_0', dtype: 'fp32', target: 0.8 },
];

const MODELS: readonly [string, LanguageModelSpec][] = [
  ['wide (vocab 151,936)', WIDE_LLAMA_LM],
  ['mid (hidden 512, 8 layers)', MID_LLAMA_LM],
];

/** How many leading tokens two greedy runs share. */
function agreeing(a: readonly number[], b: readonly number[]): number {
  let count = 0;
  while (count < a.length && a[count] === b[count]) count++;
  return count;
}

/** Lodge's runner's greedy text for the fixed prompt (no random prefix), for the token check. */
async function runnerText(runner: Awaited<ReturnType<typeof lodge>>['runner']): Promise<string> {
  let text = '';
  for await (const event of runner.generate({
    prompt: { kind: 'text', text: PROMPT },
    maxTokens: NEW_TOKENS,
    stop: [],
    sampling: GREEDY,
    ignoreEos: true,
  }))
    if (event.type === 'text') text += event.text;
  return text;
}

async function main(): Promise<void> {
  console.log(
    `\nLodge against llama.cpp (node-llama-cpp's prebuilt CPU library driven by its native decode calls, f32 KV cache):\n` +
      `${THREADS} thread(s), ${NEW_TOKENS} new tokens, ` +
      `greedy, median of ${REPEATS} interleaved rounds after a warm-up; load average ${load()}. Same weights: ONNX for Lodge,\n` +
      'GGUF for llama.cpp. 8-bit is int8 MatMulInteger against Q8_0, 4-bit MatMulNBits against Q4_0 (LM head Q8_0);\n' +
      '"at load" is the f32 export quantized by Lodge at load (quantize: q8 / q4) into the same Q8_0 / Q4_0 blocks.\n' +
      '"agree": leading greedy tokens llama.cpp and Lodge share (f32 must agree on all, else no speed row).\n' +
      '"api/llama.cpp best": against the faster of llama.cpp at these threads and at one thread.\n',
  );
  const only = process.env.LODGE_BENCH_MODELS;
  const precisions = process.env.LODGE_BENCH_PRECISIONS?.split(',');
  const rows: string[][] = [];
  for (const [name, base] of MODELS) {
    if (only !== undefined && !name.startsWith(only)) continue;
    for (const precision of PRECISIONS) {
      if (precisions !== undefined && !precisions.includes(precision.name)) continue;
      const spec: LanguageModelSpec = precision.quant ? { ...base, quant: precision.quant } : base;
      const dir = fixturePath(spec);
      const exported = join(dir, 'onnx', lmFileName(spec));
      // The graph the runner makes at load, for the bare loop (the same rewrite, into a scratch dir).
      const { atLoad } = precision;
      const scratch = atLoad ? mkdtempSync(join(tmpdir(), 'lodge-bench-nbits-')) : null;
      const modelFile =
        atLoad && scratch !== null ? fastMatMulFile(exported, scratch, quantizeOptions(atLoad)) : exported;
      const quantize = atLoad ?? 'off';
      const tokenizer = TextTokenizer.load(dir);
      const ids = tokenizer.encode(PROMPT);
      const cpp = await LlamaCpp.open(ggufFixturePath(base, precision.gguf), THREADS, 1024);
      // llama.cpp's threads meet at a spinning barrier after every op: on a loaded machine one
      // descheduled thread stalls the other, so the 1-thread figure shows what load took. (Its
      // decode calls stay on one libuv worker: see oneWorker in llama-cpp.ts.)
      const single = THREADS > 1 ? await LlamaCpp.open(ggufFixturePath(base, precision.gguf), 1, 1024) : cpp;
      const { run, runner } = await lodge(dir, ids.length, exported, quantize);
      const theirs = (await cpp.greedy(ids, NEW_TOKENS)).tokens;
      const ours = await bareGreedy(modelFile, spec, ids, NEW_TOKENS);
      const agree = agreeing(theirs, ours);
      const textAgrees = (await runnerText(runner)) === tokenizer.decode(ours);
      const label = [name, precision.name, `${agree}/${NEW_TOKENS}${textAgrees ? '' : ' (runner differs)'}`];
      const exact = precision.quant === undefined && precision.atLoad === undefined;
      if (exact && (agree < NEW_TOKENS || !textAgrees)) {
        rows.push([...label, ...Array.from({ length: 12 }, () => 'refused: tokens differ')]);
        await runner.stop();
        await cpp.close();
        if (single !== cpp) await single.close();
        continue;
      }
      const api = await overApi(dir, ids.length, quantize);
      const timed = (peer: LlamaCpp) => async (): Promise<Run> => {
        const result = await peer.greedy([Math.floor(Math.random() * 200), ...ids.slice(1)], NEW_TOKENS);
        return figures(ids.length, result.started, result.first, result.ended, result.tokens.length);
      };
      // transformers.js cannot run the graph Lodge makes at load: no column for those rows.
      const peer = precision.atLoad ? null : await transformers(dir, ids, precision.dtype);
      const [d, a, c, l, s, b] = (await measureAll([
        api.run,
        run,
        await bareLoop(dir, spec, ids, modelFile),
        timed(cpp),
        timed(single),
        ...(peer === null ? [] : [peer]),
      ])) as [Run, Run, Run, Run, Run, Run | undefined];
      await api.stop();
      await runner.stop();
      await cpp.close();
      if (single !== cpp) await single.close();
      if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
      rows.push([
        ...label,
        format(d.ttftMs),
        format(l.ttftMs),
        format(d.tokensPerSecond),
        format(a.tokensPerSecond),
        b === undefined ? '—' : format(b.tokensPerSecond),
        format(c.tokensPerSecond),
        format(l.tokensPerSecond),
        format(s.tokensPerSecond),
        `${format(d.tokensPerSecond / l.tokensPerSecond, 2)} (≥ ${precision.target})`,
        format(d.tokensPerSecond / Math.max(l.tokensPerSecond, s.tokensPerSecond), 2),
        format(a.tokensPerSecond / l.tokensPerSecond, 2),
        format(c.tokensPerSecond / l.tokensPerSecond, 2),
      ]);
    }
  }
  table(
    [
      'model',
      'precision',
      'agree',
      'TTFT ms api',
      'llama.cpp',
      'tok/s api',
      'runner',
      't.js',
      'bare',
      'llama.cpp',
      'llama.cpp 1 thread',
      'api/llama.cpp',
      'api/llama.cpp best',
      'runner/llama.cpp',
      'bare/llama.cpp',
    ],
    rows,
  );
  console.log(`\nLoad average at the end: ${load()}.`);
}

await main();
