// Decoder attention fused into GroupQueryAttention (attention-rewrite.ts), on the generated models
// in the layouts exports write: the fused graph must give the logits the export gives, over a
// prompt and decode steps on the KV cache it returns, in a real onnxruntime session; and every
// layer the matcher cannot prove is left as it was.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { fuseAttention } from '../../../src/main/runner/onnx/attention-rewrite';
import { embeddedBytes } from '../../../src/main/runner/onnx/matmul-rewrite';
import { fixturePath, lmFileName, SMALL_LM, type LanguageModelSpec } from '../../fixtures/models';

const BASE = SMALL_LM;
const ROTARY: LanguageModelSpec = { ...BASE, rotary: { theta: 10_000 }, headDim: 16 };
const STORE = {
  readable: () => true,
  bytes: embeddedBytes,
  place: (tensor: onnx.ITensorProto, bytes: Uint8Array) => {
    tensor.rawData = bytes;
  },
};

function load(spec: LanguageModelSpec): onnx.ModelProto {
  return onnx.ModelProto.decode(readFileSync(join(fixturePath(spec), 'onnx', lmFileName(spec))));
}

const ops = (model: onnx.ModelProto) => (model.graph?.node ?? []).map((node) => node.opType ?? '');

/** Empty past keys and values for `batch` rows. */
function emptyPast(spec: LanguageModelSpec, batch: number): Record<string, ort.Tensor> {
  const headDim = spec.headDim ?? spec.hidden / spec.heads;
  const past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < spec.layers; layer++)
    for (const part of ['key', 'value'])
      past[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
        batch,
        spec.kvHeads,
        0,
        headDim,
      ]);
  return past;
}

/** A run's presents, as the next run's past. */
function nextPast(spec: LanguageModelSpec, out: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < spec.layers; layer++)
    for (const part of ['key', 'value'])
      past[`past_key_values.${layer}.${part}`] = out[`present.${layer}.${part}`] as ort.Tensor;
  return past;
}

/** Logits of a 9-token prompt and of 4 steps after it (the same tokens fed to every graph). */
async function run(model: onnx.ModelProto, spec: LanguageModelSpec): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    intraOpNumThreads: 1,
  });
  let past = emptyPast(spec, 1);
  const rows: Float32Array[] = [];
  let length = 0;
  for (const tokens of [[5, 9, 14, 3, 27, 8, 2, 30, 11], [40], [7], [19], [23]]) {
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
    const out = await session.run(feeds);
    const logits = out.logits as ort.Tensor;
    const vocab = logits.dims.at(-1) as number;
    rows.push((logits.data as Float32Array).slice(-vocab));
    past = nextPast(spec, out);
    length = total;
  }
  await session.release();
  return rows;
}

/**
 * The last-position logits of two rows read together, the second padded on the left (mask 0,
 * as the runner batches prompts), then of two steps on the cache they return.
 */
async function runLeftPadded(model: onnx.ModelProto, spec: LanguageModelSpec): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    intraOpNumThreads: 1,
  });
  let past = emptyPast(spec, 2);
  const rows: Float32Array[] = [];
  const mask = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1],
    [0, 0, 0, 1, 1, 1, 1, 1, 1],
  ];
  let ids = [
    [5, 9, 14, 3, 27, 8, 2, 30, 11],
    [0, 0, 0, 12, 6, 17, 4, 21, 9],
  ];
  let positions = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8],
    [0, 0, 0, 0, 1, 2, 3, 4, 5],
  ];
  for (const next of [
    [40, 33],
    [7, 2],
    [19, 25],
  ]) {
    const width = ids[0]?.length ?? 0;
    const feeds: Record<string, ort.Tensor> = {
      ...past,
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [2, width]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat(), BigInt), [
        2,
        mask[0]?.length ?? 0,
      ]),
    };
    if (session.inputNames.includes('position_ids'))
      feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from(positions.flat(), BigInt), [2, width]);
    const out = await session.run(feeds);
    const logits = out.logits as ort.Tensor;
    const [, sequence = 0, vocab = 0] = logits.dims;
    const data = logits.data as Float32Array;
    for (let row = 0; row < 2; row++)
      rows.push(data.slice((row * sequence + sequence - 1) * vocab, (row * sequence + sequence) * vocab));
    past = nextPast(spec, out);
    for (const row of mask) row.push(1);
    positions = positions.map((row) => [(row.at(-1) as number) + 1]);
    ids = next.map((token) => [token]);
  }
  await session.release();
  return rows;
}

function worstError(a: readonly Float32Array[], b: readonly Float32Array[]): number {
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

describe('attention fused into GroupQueryAttention', () => {
  it.each([
    ['a llama: rotary embeddings from position tables, grouped query heads', ROTARY],
    ['a llama with heads of 8', { ...BASE, rotary: { theta: 10_000 } }],
    ['learned positions, grouped query heads', BASE],
    ['one key head per query head', { ...BASE, kvHeads: 4 }],
    ['positions computed from the mask (no position_ids input)', { ...BASE, noPositionIds: true }],
  ] as const)('%s: every layer, with the export’s logits over a prompt and four steps', async (_, spec) => {
    const exported = load(spec);
    const fused = load(spec);
    expect(fuseAttention(fused, STORE)).toBe(spec.layers);
    expect(ops(fused).filter((op) => op === 'GroupQueryAttention')).toHaveLength(spec.layers);
    // The heads' splits and merges and the scores' Softmax are gone.
    for (const op of ['Softmax', 'Transpose']) {
      expect(ops(exported)).toContain(op);
      expect(ops(fused)).not.toContain(op);
    }
    expect(worstError(await run(fused, spec), await run(exported, spec))).toBeLessThan(1e-4);
  });

  it.each([
    ['a llama', ROTARY],
    ['learned positions', BASE],
  ] as const)('%s: rows padded on the left read together attend as in the export', async (_, spec) => {
    const fused = load(spec);
    expect(fuseAttention(fused, STORE)).toBe(spec.layers);
    const rows = await runLeftPadded(fused, spec);
    expect(rows.every((row) => row.every(Number.isFinite))).toBe(true);
    expect(worstError(rows, await runLeftPadded(load(spec), spec))).toBeLessThan(1e-4);
  });

  it('leaves graphs it cannot prove: fp16, a merged decoder, GroupQueryAttention already', () => {
    for (const spec of [
      { ...BASE, dtype: 'fp16' },
      { ...BASE, merged: true },
      { ...BASE, gqa: true },
    ] as const) {
      const model = load(spec);
      const before = onnx.ModelProto.encode(model).finish();
      expect(fuseAttention(model, STORE), JSON.stringify(spec)).toBe(0);
      expect(onnx.ModelProto.encode(model).finish()).toEqual(before);
    }
  });

  it('leaves a layer whose attention weights another node reads, and fuses the rest', async () => {
    const model = load(ROTARY);
    const graph = model.graph as onnx.GraphProto;
    const softmax = (graph.node ?? []).find((node) => node.opType === 'Softmax') as onnx.INodeProto;
    const probabilities = softmax.output?.[0] as string;
    graph.node.push(
      onnx.NodeProto.create({ opType: 'Identity', input: [probabilities], output: ['weights.0'] }),
    );
    graph.output.push(
      onnx.ValueInfoProto.create({ name: 'weights.0', type: { tensorType: { elemType: 1 } } }),
    );
    expect(fuseAttention(model, STORE)).toBe(ROTARY.layers - 1);
    expect(ops(model)).toContain('Softmax');
    const exported = load(ROTARY);
    expect(worstError(await run(model, ROTARY), await run(exported, ROTARY))).toBeLessThan(1e-4);
  });

  it('leaves a layer whose rotary table does not repeat its halves (an interleaved layout)', () => {
    const model = load(ROTARY);
    const graph = model.graph as onnx.GraphProto;
    const table = graph.initializer.find((tensor) => tensor.name === 'rotary.cos') as onnx.ITensorProto;
    const values = new Float32Array(new Uint8Array(table.rawData as Uint8Array).buffer);
    values[1] = (values[1] as number) + 0.5;
    table.rawData = new Uint8Array(values.buffer);
    expect(fuseAttention(model, STORE)).toBe(0);
  });
});
