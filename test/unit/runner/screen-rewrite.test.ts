// The screened LM head (screen-rewrite.ts, llm/head-screen.ts) in a real onnxruntime session, on
// the head layouts exports write: the exact branch computes what the graph did; every screened
// logit is within its bound of the exact one; and the screen's argmax, with tokens forbidden,
// biased or penalized by the sampler, is the exact head's, ties to the lowest id included. Heads
// it cannot screen are left alone.
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { HeadScreen, type RowScreen } from '../../../src/main/runner/llm/head-screen';
import { Sampler } from '../../../src/main/runner/llm/sampler';
import { argmax } from '../../../src/main/runner/llm/top-k';
import { embeddedBytes } from '../../../src/main/runner/onnx/matmul-rewrite';
import {
  EXACT_INPUT,
  HIDDEN_OUTPUT,
  screenHead,
  SCREEN_MIN_WEIGHTS,
  type ScreenTables,
} from '../../../src/main/runner/onnx/screen-rewrite';
import { GREEDY, type SamplingOptions } from '../../../src/shared/engine';
import { DType, GraphBuilder, normal, seededRandom } from '../../fixtures/onnx-builder';

const HIDDEN = 64;
const VOCAB = 8192;
/** Tokens given the same weights (an exact tie) and a larger norm, so they often lead. */
const TWINS = [3, 7] as const;
const STORE = {
  readable: () => true,
  bytes: embeddedBytes,
  place: (tensor: onnx.ITensorProto, bytes: Uint8Array) => {
    tensor.rawData = bytes;
  },
};

type Layout = 'matmul' | 'tied' | 'gemm' | 'bias';

/** A head's weights as [V, H] rows (token j's weights contiguous), with TWINS identical and wide. */
function headRows(seed: number): Float32Array {
  const rows = normal(seededRandom(seed), VOCAB * HIDDEN, 0.5);
  const [first, second] = TWINS;
  for (let i = 0; i < HIDDEN; i++) rows[first * HIDDEN + i] = (rows[first * HIDDEN + i] as number) * 3;
  rows.copyWithin(second * HIDDEN, first * HIDDEN, (first + 1) * HIDDEN);
  return rows;
}

function transposed(rows: Float32Array): Float32Array {
  const out = new Float32Array(rows.length);
  for (let token = 0; token < VOCAB; token++)
    for (let i = 0; i < HIDDEN; i++) out[i * VOCAB + token] = rows[token * HIDDEN + i] as number;
  return out;
}

/** h [rows, 1, H] → the head in `layout` → logits [rows, 1, V]. */
function headModel(layout: Layout, rows: Float32Array, bias: Float32Array): onnx.ModelProto {
  const g = new GraphBuilder();
  const h = g.input('h', DType.FLOAT, ['rows', 1, HIDDEN]);
  g.output('logits', DType.FLOAT, ['rows', 1, VOCAB]);
  let logits: string;
  if (layout === 'matmul')
    logits = g.op('MatMul', [h, g.float('lm_head.weight', [HIDDEN, VOCAB], transposed(rows))]);
  else if (layout === 'tied')
    logits = g.op('MatMul', [
      h,
      g.op('Transpose', [g.float('embed', [VOCAB, HIDDEN], rows)], { perm: [1, 0] }),
    ]);
  else if (layout === 'bias')
    logits = g.op('Add', [
      g.op('MatMul', [h, g.float('lm_head.weight', [HIDDEN, VOCAB], transposed(rows))]),
      g.float('lm_head.bias', [VOCAB], bias),
    ]);
  else {
    const flat = g.op('Reshape', [h, g.int64('flat', [-1, HIDDEN])]);
    const product = g.op(
      'Gemm',
      [flat, g.float('embed', [VOCAB, HIDDEN], rows), g.float('bias', [VOCAB], bias)],
      {
        transB: 1,
      },
    );
    logits = g.op('Reshape', [product, g.int64('back', [-1, 1, VOCAB])]);
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
}

/** The exact and screened logits of `count` hidden states, and the hidden state the graph returned. */
async function both(screened: ort.InferenceSession, hidden: Float32Array, count: number): Promise<Run> {
  const h = new ort.Tensor('float32', hidden, [count, 1, HIDDEN]);
  const pick = async (exact: boolean) =>
    screened.run({ h, [EXACT_INPUT]: new ort.Tensor('bool', Uint8Array.of(exact ? 1 : 0), []) });
  const exact = await pick(true);
  const approximate = await pick(false);
  const rows = (tensor: ort.Tensor) =>
    Array.from({ length: count }, (_, row) =>
      (tensor.data as Float32Array).slice(row * VOCAB, (row + 1) * VOCAB),
    );
  return {
    exact: rows(exact.logits as ort.Tensor),
    screened: rows(approximate.logits as ort.Tensor),
    hidden: (approximate[HIDDEN_OUTPUT] as ort.Tensor).data as Float32Array,
  };
}

describe('the screened LM head', () => {
  for (const layout of ['matmul', 'tied', 'gemm', 'bias'] as const) {
    it(`picks the exact head's greedy token with its ${layout} head, ties and penalties included`, async () => {
      const rows = headRows(17);
      const bias = normal(seededRandom(23), VOCAB, 1);
      const model = headModel(layout, rows, bias);
      const plain = await session(model);
      const rewritten = copy(model);
      const tables = screenHead(rewritten, STORE, 0) as ScreenTables;
      expect(tables).not.toBeNull();
      expect([tables.vocab, tables.hidden, tables.bias !== null]).toEqual([
        VOCAB,
        HIDDEN,
        layout !== 'matmul' && layout !== 'tied',
      ]);
      const screen = new HeadScreen(tables);
      const screened = await session(rewritten);
      const random = seededRandom(5);
      let ties = 0;
      for (let trial = 0; trial < 12; trial++) {
        const count = 1 + (trial % 3);
        // Hidden states of several scales, with an outlier channel as real models have.
        const hidden = normal(random, count * HIDDEN, 0.5 + trial);
        hidden[trial % HIDDEN] = (hidden[trial % HIDDEN] as number) * 8;
        const run = await both(screened, hidden, count);
        const reference = (await plain.run({ h: new ort.Tensor('float32', hidden, [count, 1, HIDDEN]) }))
          .logits as ort.Tensor;
        expect(run.exact.flatMap((row) => [...row])).toEqual([...(reference.data as Float32Array)]);
        const screens = screen.rows(run.hidden, count);
        for (let row = 0; row < count; row++) {
          const rowScreen = screens[row] as RowScreen;
          const exact = run.exact[row] as Float32Array;
          const approximate = run.screened[row] as Float32Array;
          expect(rowScreen.covers(approximate, exact)).toBe(true);
          const best = argmax(exact);
          if (exact[TWINS[0]] === exact[best]) ties++;
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
      // The twins lead some rows: their exact tie went to the lower id above.
      expect(ties).toBeGreaterThan(0);
    });
  }

  it('leaves heads it cannot screen exactly as they were', () => {
    const rows = headRows(3);
    const small = headModel('matmul', rows, new Float32Array(VOCAB));
    expect(VOCAB * HIDDEN).toBeLessThan(SCREEN_MIN_WEIGHTS);
    expect(screenHead(copy(small), STORE)).toBeNull();
    // A softcapped head: tanh(x / 30) · 30 is not a product the screen bounds.
    const g = new GraphBuilder();
    const h = g.input('h', DType.FLOAT, ['rows', 1, HIDDEN]);
    g.output('logits', DType.FLOAT, ['rows', 1, VOCAB]);
    const product = g.op('MatMul', [h, g.float('w', [HIDDEN, VOCAB], transposed(rows))]);
    const cap = g.float('cap', [], Float32Array.of(30));
    g.op('Mul', [g.op('Tanh', [g.op('Div', [product, cap])]), cap], {}, 'logits');
    const capped = g.model('capped');
    const before = onnx.ModelProto.encode(capped).finish();
    expect(screenHead(capped, STORE, 0)).toBeNull();
    expect(onnx.ModelProto.encode(capped).finish()).toEqual(before);
  });
});
