// The screened LM head (screen-rewrite.ts, llm/head-screen.ts) in a real onnxruntime session, on
// the head layouts exports write: the exact branch computes what the graph did; every screened
// logit is within its bound of the exact one; and the screen's argmax, with tokens forbidden,
// biased or penalized by the sampler, is the exact head's: exact ties to the lowest id, and ties
// that only float32 rounding breaks broken as onnxruntime's head breaks them. Heads it cannot
// screen are left alone.
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { HeadScreen, type HeadQuantization, type RowScreen } from '../../../src/main/runner/llm/head-screen';
import { Sampler } from '../../../src/main/runner/llm/sampler';
import { argmax } from '../../../src/main/runner/llm/top-k';
import { embeddedBytes } from '../../../src/main/runner/onnx/matmul-rewrite';
import {
  EXACT_INPUT,
  HIDDEN_OUTPUT,
  LEVELS_OUTPUT,
  SCALE_OUTPUT,
  screenHead,
  SCREEN_MIN_WEIGHTS,
  ZERO_OUTPUT,
  type ScreenTables,
} from '../../../src/main/runner/onnx/screen-rewrite';
import { GREEDY, type SamplingOptions } from '../../../src/shared/engine';
import { DType, GraphBuilder, normal, seededRandom } from '../../fixtures/onnx-builder';

/** Tokens given the same weights (an exact tie) and a larger norm, so they often lead. */
const TWINS = [3, 7] as const;
/**
 * Tokens whose weights are the same values in another order (neighbours swapped), also wide: fed
 * a hidden state whose neighbours are equal, their logits tie in exact arithmetic and part by
 * float32 rounding alone.
 */
const NEAR_TWINS = [5, 9] as const;
const STORE = {
  readable: () => true,
  bytes: embeddedBytes,
  place: (tensor: onnx.ITensorProto, bytes: Uint8Array) => {
    tensor.rawData = bytes;
  },
};

type Layout = 'matmul' | 'tied' | 'gemm' | 'bias' | 'cast';

/** A head's hidden size and vocabulary. */
interface Shape {
  readonly hidden: number;
  readonly vocab: number;
}

/** A head's weights as [V, H] rows (token j's weights contiguous), with the twins set up. */
function headRows({ hidden, vocab }: Shape, seed: number): Float32Array {
  const rows = normal(seededRandom(seed), vocab * hidden, 0.5);
  const [first, second] = TWINS;
  const [near, far] = NEAR_TWINS;
  for (let i = 0; i < hidden; i++) {
    rows[first * hidden + i] = (rows[first * hidden + i] as number) * 3;
    rows[near * hidden + i] = (rows[near * hidden + i] as number) * 4;
  }
  rows.copyWithin(second * hidden, first * hidden, (first + 1) * hidden);
  for (let i = 0; i < hidden; i++) rows[far * hidden + (i ^ 1)] = rows[near * hidden + i] as number;
  return rows;
}

function transposed({ hidden, vocab }: Shape, rows: Float32Array): Float32Array {
  const out = new Float32Array(rows.length);
  for (let token = 0; token < vocab; token++)
    for (let i = 0; i < hidden; i++) out[i * vocab + token] = rows[token * hidden + i] as number;
  return out;
}

/** h [rows, 1, H] → the head in `layout` → logits [rows, 1, V]. */
function headModel(shape: Shape, layout: Layout, rows: Float32Array, bias: Float32Array): onnx.ModelProto {
  const { hidden, vocab } = shape;
  const g = new GraphBuilder();
  const h = g.input('h', DType.FLOAT, ['rows', 1, hidden]);
  g.output('logits', DType.FLOAT, ['rows', 1, vocab]);
  const weight = () => g.float('lm_head.weight', [hidden, vocab], transposed(shape, rows));
  let logits: string;
  if (layout === 'matmul') logits = g.op('MatMul', [h, weight()]);
  else if (layout === 'cast') logits = g.op('Cast', [g.op('MatMul', [h, weight()])], { to: DType.FLOAT });
  else if (layout === 'tied')
    logits = g.op('MatMul', [
      h,
      g.op('Transpose', [g.float('embed', [vocab, hidden], rows)], { perm: [1, 0] }),
    ]);
  else if (layout === 'bias')
    logits = g.op('Add', [g.op('MatMul', [h, weight()]), g.float('lm_head.bias', [vocab], bias)]);
  else {
    const flat = g.op('Reshape', [h, g.int64('flat', [-1, hidden])]);
    const product = g.op(
      'Gemm',
      [flat, g.float('embed', [vocab, hidden], rows), g.float('bias', [vocab], bias)],
      {
        transB: 1,
      },
    );
    logits = g.op('Reshape', [product, g.int64('back', [-1, 1, vocab])]);
  }
  g.op('Identity', [logits], {}, 'logits');
  return g.model('head');
}

async function session(model: onnx.ModelProto): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), { intraOpNumThreads: 1 });
}

function copy(model: onnx.ModelProto): onnx.ModelProto {
  return onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
}

interface Run {
  readonly exact: Float32Array[];
  readonly screened: Float32Array[];
  readonly hidden: Float32Array;
  readonly quantization: HeadQuantization;
}

/** The exact and screened logits of `count` hidden states, and what the screened run made of them. */
async function both(
  vocab: number,
  screened: ort.InferenceSession,
  hidden: Float32Array,
  count: number,
): Promise<Run> {
  const h = new ort.Tensor('float32', hidden, [count, 1, hidden.length / count]);
  const pick = async (exact: boolean) =>
    screened.run({ h, [EXACT_INPUT]: new ort.Tensor('bool', Uint8Array.of(exact ? 1 : 0), []) });
  const exact = await pick(true);
  const approximate = await pick(false);
  const rows = (tensor: ort.Tensor) =>
    Array.from({ length: count }, (_, row) =>
      (tensor.data as Float32Array).slice(row * vocab, (row + 1) * vocab),
    );
  return {
    exact: rows(exact.logits as ort.Tensor),
    screened: rows(approximate.logits as ort.Tensor),
    hidden: (approximate[HIDDEN_OUTPUT] as ort.Tensor).data as Float32Array,
    quantization: {
      levels: (approximate[LEVELS_OUTPUT] as ort.Tensor).data as Uint8Array,
      scale: (approximate[SCALE_OUTPUT] as ort.Tensor).data[0] as number,
      zero: (approximate[ZERO_OUTPUT] as ort.Tensor).data[0] as number,
    },
  };
}

const WIDE: Shape = { hidden: 64, vocab: 8192 };
/** A hidden size past MLAS' 256-long summation blocks, so the order they are added in matters. */
const DEEP: Shape = { hidden: 512, vocab: 2048 };

describe('the screened LM head', () => {
  for (const [layout, shape] of [
    ['matmul', WIDE],
    ['tied', WIDE],
    ['gemm', WIDE],
    ['bias', WIDE],
    ['cast', WIDE],
    ['matmul', DEEP],
    ['gemm', DEEP],
  ] as const) {
    it(`picks the exact head's greedy token with its ${layout} head (H ${shape.hidden}), ties and penalties included`, async () => {
      const rows = headRows(shape, 17);
      const bias = normal(seededRandom(23), shape.vocab, 1);
      const model = headModel(shape, layout, rows, bias);
      const plain = await session(model);
      const rewritten = copy(model);
      const tables = screenHead(rewritten, STORE, 0) as ScreenTables;
      expect(tables).not.toBeNull();
      const biased = layout === 'gemm' || layout === 'bias';
      expect([tables.vocab, tables.hidden, tables.bias !== null, tables.biasFirst]).toEqual([
        shape.vocab,
        shape.hidden,
        biased,
        layout === 'gemm',
      ]);
      const screen = new HeadScreen(tables);
      const screened = await session(rewritten);
      const random = seededRandom(5);
      let ties = 0;
      let nearTies = 0;
      for (let trial = 0; trial < 16; trial++) {
        const count = 1 + (trial % 3);
        // Hidden states of several scales, with an outlier channel as real models have; every other
        // trial with equal neighbours, where the near twins tie but for rounding.
        const hidden = normal(random, count * shape.hidden, 0.5 + trial);
        hidden[trial % shape.hidden] = (hidden[trial % shape.hidden] as number) * 8;
        if (trial % 2 === 1) for (let i = 1; i < hidden.length; i += 2) hidden[i] = hidden[i - 1] as number;
        const run = await both(shape.vocab, screened, hidden, count);
        const reference = (
          await plain.run({ h: new ort.Tensor('float32', hidden, [count, 1, shape.hidden]) })
        ).logits as ort.Tensor;
        expect(run.exact.flatMap((row) => [...row])).toEqual([...(reference.data as Float32Array)]);
        const screens = screen.rows(run.hidden, run.quantization, count);
        for (let row = 0; row < count; row++) {
          const rowScreen = screens[row] as RowScreen;
          const exact = run.exact[row] as Float32Array;
          const approximate = run.screened[row] as Float32Array;
          expect(rowScreen.covers(approximate, exact)).toBe(true);
          expect(screen.fitOrder(rowScreen, exact)).toBe(true);
          const best = argmax(exact);
          if (exact[TWINS[0]] === exact[best]) ties++;
          if (NEAR_TWINS.includes(best as 5 | 9) && trial % 2 === 1) nearTies++;
          expect(rowScreen.argmax(approximate.slice())).toBe(best);
          // The sampler's greedy pick on each head, with the leader forbidden, others biased and penalized.
          const sampling: SamplingOptions = {
            ...GREEDY,
            repetitionPenalty: 1.3,
            presencePenalty: 0.5,
            logitBias: { [String(TWINS[1])]: 2, '11': 40 },
          };
          const forbid = (values: Float32Array) => {
            values[best] = -Infinity;
            return values;
          };
          const pick = (values: Float32Array, onScreen: boolean) => {
            const sampler = new Sampler(sampling, [best, 11, 12, TWINS[0]]);
            sampler.accept(12);
            return sampler.pick(values, undefined, onScreen ? rowScreen : null).token;
          };
          expect(pick(forbid(approximate.slice()), true)).toBe(pick(forbid(exact.slice()), false));
        }
      }
      // The twins lead some rows (their exact tie went to the lower id above), the near twins others.
      expect(ties).toBeGreaterThan(0);
      expect(nearTies).toBeGreaterThan(0);
    });
  }

  it('resolves every token where a hidden state is not finite, as the exact head reads it', async () => {
    const rows = headRows(WIDE, 29);
    const rewritten = headModel(WIDE, 'matmul', rows, new Float32Array(WIDE.vocab));
    const screen = new HeadScreen(screenHead(rewritten, STORE, 0) as ScreenTables);
    const screened = await session(rewritten);
    for (const poison of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
      const hidden = normal(seededRandom(31), WIDE.hidden, 1);
      hidden[4] = poison;
      const run = await both(WIDE.vocab, screened, hidden, 1);
      const row = screen.rows(run.hidden, run.quantization, 1)[0] as RowScreen;
      expect(row.argmax((run.screened[0] as Float32Array).slice())).toBe(
        argmax(run.exact[0] as Float32Array),
      );
    }
  });

  it('leaves heads it cannot screen exactly as they were', () => {
    const rows = headRows(WIDE, 3);
    const small = headModel(WIDE, 'matmul', rows, new Float32Array(WIDE.vocab));
    expect(WIDE.vocab * WIDE.hidden).toBeLessThan(SCREEN_MIN_WEIGHTS);
    expect(screenHead(copy(small), STORE)).toBeNull();
    // A head with a NaN weight: its bounds would be NaN.
    const broken = rows.slice();
    broken[100] = Number.NaN;
    expect(screenHead(headModel(WIDE, 'matmul', broken, new Float32Array(WIDE.vocab)), STORE, 0)).toBeNull();
    // A softcapped head: tanh(x / 30) · 30 is not a product the screen bounds.
    const g = new GraphBuilder();
    const h = g.input('h', DType.FLOAT, ['rows', 1, WIDE.hidden]);
    g.output('logits', DType.FLOAT, ['rows', 1, WIDE.vocab]);
    const product = g.op('MatMul', [h, g.float('w', [WIDE.hidden, WIDE.vocab], transposed(WIDE, rows))]);
    const cap = g.float('cap', [], Float32Array.of(30));
    g.op('Mul', [g.op('Tanh', [g.op('Div', [product, cap])]), cap], {}, 'logits');
    const capped = g.model('capped');
    const before = onnx.ModelProto.encode(capped).finish();
    expect(screenHead(capped, STORE, 0)).toBeNull();
    expect(onnx.ModelProto.encode(capped).finish()).toEqual(before);
  });
});
