// RMSNorms written with Mul(x, x), rewritten to the Pow(x, 2) form onnxruntime fuses: checked on a
// real session (the optimized graph holds SimplifiedLayerNormalization, the output is the norm's).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { fastMatMuls } from '../../../src/main/runner/onnx/fast-matmul';
import { squaresAsPow } from '../../../src/main/runner/onnx/norm-rewrite';
import { relativeError } from '../../fixtures/matmul-graphs';
import { DType, GraphBuilder, normal, seededRandom } from '../../fixtures/onnx-builder';

const HIDDEN = 64;
const ROWS = 3;
const scratch = mkdtempSync(join(tmpdir(), 'lodge-norm-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * y = RMSNorm(x) · w, the square as Mul(x, x) (or Pow); `extra` also reads the square elsewhere;
 * `weight` adds a MatMul after the norm, for the quantizing rewrite.
 */
function normModel(
  options: { pow?: boolean; extra?: boolean; opset?: number; weight?: boolean } = {},
): onnx.ModelProto {
  const random = seededRandom(5);
  const g = new GraphBuilder();
  const x = g.input('x', DType.FLOAT, [ROWS, HIDDEN]);
  const square = options.pow ? g.op('Pow', [x, g.float('two', [], Float32Array.of(2))]) : g.op('Mul', [x, x]);
  const mean = g.op('ReduceMean', [square], { axes: [-1], keepdims: 1 });
  const root = g.op('Sqrt', [g.op('Add', [mean, g.float('eps', [], Float32Array.of(1e-5))])]);
  const gain = g.float('norm.weight', [HIDDEN], normal(random, HIDDEN, 1));
  const normed = g.op('Mul', [g.op('Div', [x, root]), gain]);
  if (options.weight) {
    const w = g.float('proj.weight', [HIDDEN, HIDDEN], normal(random, HIDDEN * HIDDEN, 0.2));
    g.op('MatMul', [normed, w], {}, 'y');
  } else g.op('Identity', [normed], {}, 'y');
  g.output('y', DType.FLOAT, [ROWS, HIDDEN]);
  if (options.extra) {
    g.op('Identity', [square], {}, 'squares');
    g.output('squares', DType.FLOAT, [ROWS, HIDDEN]);
  }
  return g.model('norm', options.opset);
}

/** The op types of the graph onnxruntime runs after its optimizations, and `x`'s output. */
async function optimizedRun(
  model: onnx.ModelProto,
  x: Float32Array,
): Promise<{ ops: string[]; y: Float32Array }> {
  const file = join(scratch, `optimized-${Math.random().toString(36).slice(2)}.onnx`);
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    graphOptimizationLevel: 'extended',
    optimizedModelFilePath: file,
    intraOpNumThreads: 1,
  });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, [ROWS, HIDDEN]) });
    const ops = (onnx.ModelProto.decode(readFileSync(file)).graph?.node ?? []).map(
      (node) => node.opType ?? '',
    );
    return { ops, y: out.y?.data as Float32Array };
  } finally {
    await session.release();
  }
}

describe('squaresAsPow', () => {
  const x = normal(seededRandom(9), ROWS * HIDDEN, 2);

  it('makes an RMSNorm squared by Mul one kernel, with the same output', async () => {
    const original = normModel();
    const before = await optimizedRun(original, x);
    // The premise: onnxruntime leaves the Mul form as separate kernels.
    expect(before.ops).not.toContain('SimplifiedLayerNormalization');
    expect(before.ops).toContain('ReduceMean');
    const model = normModel();
    expect(squaresAsPow(model)).toBe(1);
    const after = await optimizedRun(model, x);
    expect(after.ops).toContain('SimplifiedLayerNormalization');
    expect(after.ops).not.toContain('ReduceMean');
    expect(relativeError(after.y, before.y)).toBeLessThan(1e-5);
  });

  it('leaves a square that something else reads, a graph already in Pow form, and old opsets', () => {
    expect(squaresAsPow(normModel({ extra: true }))).toBe(0);
    expect(squaresAsPow(normModel({ pow: true }))).toBe(0);
    expect(squaresAsPow(normModel({ opset: 11 }))).toBe(0);
  });

  it('reaches the norms inside a merged decoder’s If branches', async () => {
    const inner = normModel().graph as onnx.IGraphProto;
    const g = new GraphBuilder();
    g.input('x', DType.FLOAT, [ROWS, HIDDEN]);
    const flag = g.input('use_cache_branch', DType.BOOL, [1]);
    const withPast: onnx.IGraphProto = {
      name: 'with_past',
      node: inner.node,
      initializer: inner.initializer,
      output: inner.output,
    };
    const withoutPast: onnx.IGraphProto = {
      name: 'without_past',
      node: [{ opType: 'Identity', input: ['x'], output: ['y_plain'] }],
      output: [{ ...inner.output?.[0], name: 'y_plain' }],
    };
    g.op(
      'If',
      [g.op('Squeeze', [flag])],
      { then_branch: { graph: withPast }, else_branch: { graph: withoutPast } },
      'y',
    );
    g.output('y', DType.FLOAT, [ROWS, HIDDEN]);
    const model = g.model('merged');
    expect(squaresAsPow(model)).toBe(1);
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
    try {
      const out = await session.run({
        x: new ort.Tensor('float32', x, [ROWS, HIDDEN]),
        use_cache_branch: new ort.Tensor('bool', Uint8Array.of(1), [1]),
      });
      const expected = (await optimizedRun(normModel(), x)).y;
      expect(relativeError(out.y?.data as Float32Array, expected)).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });

  it('comes with quantization at load and says so in the report', () => {
    const result = fastMatMuls(onnx.ModelProto.encode(normModel({ weight: true })).finish(), { bits: 8 });
    expect(result.quantized).toBe(1);
    expect(result.norms).toBe(1);
    const ops = (onnx.ModelProto.decode(result.model).graph?.node ?? []).map((node) => node.opType);
    expect(ops).toContain('Pow');
    expect(ops).not.toContain('MatMul');
  });
});
