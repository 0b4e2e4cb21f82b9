// The lm_head cut to the positions asked for (logits-rewrite.ts), on the generated models in the
// layouts exports write, in a real onnxruntime session: fed `num_logits_to_keep`, the rewritten
// graph gives the export's logits for the last k positions (all for 0), before and after a cached
// step; a head it cannot prove position-wise is left as it was.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { halfBits, halfToFloat32 } from '../../../src/main/runner/onnx/float16';
import { KEEP_INPUT, keepLastLogits } from '../../../src/main/runner/onnx/logits-rewrite';
import { embeddedBytes } from '../../../src/main/runner/onnx/matmul-rewrite';
import { fixturePath, lmFileName, SMALL_LM, type LanguageModelSpec } from '../../fixtures/models';

const BASE = SMALL_LM;
const STORE = {
  readable: () => true,
  bytes: embeddedBytes,
  place: (tensor: onnx.ITensorProto, bytes: Uint8Array) => {
    tensor.rawData = bytes;
  },
};
const PROMPT = [5, 9, 14, 3, 27, 8, 2, 30, 11];

function load(spec: LanguageModelSpec): onnx.ModelProto {
  return onnx.ModelProto.decode(readFileSync(join(fixturePath(spec), 'onnx', lmFileName(spec))));
}

/** A run's logits as float32 rows (one per position returned). */
function rowsOf(logits: ort.Tensor): Float32Array[] {
  const vocab = logits.dims.at(-1) as number;
  const data =
    logits.type === 'float16'
      ? halfToFloat32(halfBits(logits.data as Uint16Array))
      : (logits.data as Float32Array);
  const rows: Float32Array[] = [];
  for (let at = 0; at < data.length; at += vocab) rows.push(data.slice(at, at + vocab));
  return rows;
}

/**
 * The logits of the prompt and of one cached step after it (fp16: of the prompt); `keep` is fed as
 * `num_logits_to_keep` to each run where given.
 */
async function run(
  model: onnx.ModelProto,
  spec: LanguageModelSpec,
  keep?: number,
): Promise<Float32Array[][]> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    intraOpNumThreads: 1,
  });
  const half = spec.dtype === 'fp16';
  const headDim = spec.headDim ?? spec.hidden / spec.heads;
  let past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < spec.layers; layer++)
    for (const part of ['key', 'value'])
      past[`past_key_values.${layer}.${part}`] = new ort.Tensor(
        half ? 'float16' : 'float32',
        half ? new Uint16Array(0) : new Float32Array(0),
        [1, spec.kvHeads, 0, headDim],
      );
  const runs: Float32Array[][] = [];
  let length = 0;
  // NOTE: under a Node with Float16Array the binding cannot take fp16 tensors it returned (runners
  // run without it): an fp16 graph is checked on the prompt alone.
  for (const tokens of half ? [PROMPT] : [PROMPT, [40]]) {
    const total = length + tokens.length;
    const feeds: Record<string, ort.Tensor> = {
      ...past,
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (session.inputNames.includes('position_ids'))
      feeds.position_ids = new ort.Tensor(
        'int64',
        BigInt64Array.from(tokens, (_, at) => BigInt(length + at)),
        [1, tokens.length],
      );
    if (session.inputNames.includes('use_cache_branch'))
      feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(length > 0 ? 1 : 0), [1]);
    if (keep !== undefined) feeds[KEEP_INPUT] = new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), []);
    const out = await session.run(feeds);
    runs.push(rowsOf(out.logits as ort.Tensor));
    const next: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < spec.layers; layer++)
      for (const part of ['key', 'value'])
        next[`past_key_values.${layer}.${part}`] = out[`present.${layer}.${part}`] as ort.Tensor;
    past = next;
    length = total;
  }
  await session.release();
  return runs;
}

/** The largest difference between two lists of rows, relative to each row's scale. */
function worstError(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  expect(a).toHaveLength(b.length);
  let worst = 0;
  for (const [row, values] of a.entries()) {
    const other = b[row] as Float32Array;
    let scale = 1;
    for (const value of other) scale = Math.max(scale, Math.abs(value));
    for (const [at, value] of values.entries())
      worst = Math.max(worst, Math.abs(value - (other[at] as number)) / scale);
  }
  return worst;
}

describe('the lm_head cut to the positions asked for', () => {
  it.each([
    ['a tied head over the embedding matrix (Gemm between Reshapes)', BASE, 1e-6],
    ['an untied head with a bias (MatMul, Add)', { ...BASE, untied: true }, 1e-6],
    ['a llama head (MatMul, no bias)', { ...BASE, rotary: { theta: 10_000 } }, 1e-6],
    ['a q4 export (MatMulNBits)', { ...BASE, quant: 'q4', rotary: { theta: 10_000 } }, 1e-6],
    ['an fp16 export', { ...BASE, dtype: 'fp16', untied: true }, 2e-3],
    ['a merged decoder (its head after the If)', { ...BASE, merged: true }, 1e-6],
  ] as const)('%s: the export’s last rows, for the count fed', async (_, spec, tolerance) => {
    const exported = await run(load(spec), spec);
    const model = load(spec);
    expect(keepLastLogits(model, STORE)).toBe(true);
    expect(model.graph?.input?.map((input) => input.name)).toContain(KEEP_INPUT);
    const [prompt = [], step = []] = exported;
    for (const keep of [1, 3]) {
      const [keptPrompt = [], keptStep = []] = await run(model, spec, keep);
      expect(worstError(keptPrompt, prompt.slice(-keep)), `keep ${keep}`).toBeLessThan(tolerance);
      // A step has one position: it is returned whatever the count.
      if (spec.dtype !== 'fp16') expect(worstError(keptStep, step)).toBeLessThan(tolerance);
    }
    const [all = []] = await run(model, spec, 0);
    expect(worstError(all, prompt)).toBeLessThan(tolerance);
  });

  it('leaves heads it cannot prove position-wise, and graphs that already take the count', () => {
    for (const spec of [
      // logits plus a table gathered by position: the last row alone would not know its position's.
      { ...BASE, untied: true, script: { start: 0, text: 'hi' } },
      { ...BASE, numLogitsToKeep: true },
    ] as const) {
      const model = load(spec);
      const before = onnx.ModelProto.encode(model).finish();
      expect(keepLastLogits(model, STORE), JSON.stringify(spec)).toBe(false);
      expect(onnx.ModelProto.encode(model).finish()).toEqual(before);
    }
  });

  it('leaves a head whose output another node reads', () => {
    const model = load({ ...BASE, untied: true });
    const graph = model.graph as onnx.GraphProto;
    const head = graph.node.find((node) => node.opType === 'MatMul' && node.input?.[1] === 'lm_head.weight');
    const product = head?.output?.[0] as string;
    graph.node.push(onnx.NodeProto.create({ opType: 'Identity', input: [product], output: ['head.copy'] }));
    graph.output.push(onnx.ValueInfoProto.create({ name: 'head.copy' }));
    expect(keepLastLogits(model, STORE)).toBe(false);
  });
});
