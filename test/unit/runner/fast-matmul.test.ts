// The MatMulNBits rewrite against a real onnxruntime session: the rewritten graph loads, takes the
// integer path, and multiplies as the fp32 graph does to within its quantization.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, fastMatMuls, quantizeBlocks } from '../../../src/main/runner/onnx/fast-matmul';
import { openSession, tensor } from '../../../src/main/runner/onnx/session';
import { DType, GraphBuilder, MS_DOMAIN, normal, seededRandom } from '../../fixtures/onnx-builder';
import { quantizeQ4 } from '../../fixtures/quantize';

const K = 128;
const N = 48;

/** x [1, K] · W [K, N] (and, with `shared`, a second MatMul over the same weight). */
function matmulModel(weight: Float32Array, k = K, shared = false): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', DType.FLOAT, [1, k]);
  const w = g.float('proj.weight', [k, N], weight);
  g.op('MatMul', [x, w], {}, 'y');
  g.output('y', DType.FLOAT, [1, N]);
  if (shared) {
    g.op('MatMul', [x, w], {}, 'z');
    g.output('z', DType.FLOAT, [1, N]);
  }
  return g.build('matmul');
}

async function run(model: Uint8Array, x: Float32Array, k = K): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, [1, k]) });
    return out.y?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function opTypes(model: Uint8Array): string[] {
  return (onnx.ModelProto.decode(model).graph?.node ?? []).map((node) => node.opType ?? '');
}

/** The largest difference between `a` and `b`, relative to `b`'s largest magnitude. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let error = 0;
  let scale = 0;
  for (let index = 0; index < b.length; index++) {
    error = Math.max(error, Math.abs((a[index] as number) - (b[index] as number)));
    scale = Math.max(scale, Math.abs(b[index] as number));
  }
  return error / scale;
}

describe('fastMatMuls', () => {
  const random = seededRandom(3);
  const weight = normal(random, K * N, 0.2);
  const x = normal(random, K, 1);

  it.each([
    [8, 0.02],
    [4, 0.2],
  ] as const)(
    'makes an fp32 MatMul a %d-bit MatMulNBits that multiplies like it',
    async (bits, tolerance) => {
      const fp32 = matmulModel(weight);
      const result = fastMatMuls(fp32, { bits });
      expect(result.quantized).toBe(1);
      expect(opTypes(result.model)).toEqual(['MatMulNBits']);
      const expected = await run(fp32, x);
      const error = relativeError(await run(result.model, x), expected);
      expect(error).toBeLessThan(tolerance);
      expect(error).toBeGreaterThan(0); // it did quantize
    },
  );

  it('switches an export’s MatMulNBits to accuracy level 4, leaving its weights', async () => {
    const q = quantizeQ4(weight, K, N, BLOCK_SIZE);
    const g = new GraphBuilder();
    const input = g.input('x', DType.FLOAT, [1, K]);
    g.opMulti(
      'MatMulNBits',
      [
        input,
        g.raw('w', DType.UINT8, [N, q.blocks, BLOCK_SIZE / 2], q.packed),
        g.float('s', [N * q.blocks], q.scales),
        g.raw('z', DType.UINT8, [N * Math.ceil(q.blocks / 2)], q.zeroPoints),
      ],
      ['y'],
      { K, N, bits: 4, block_size: BLOCK_SIZE, accuracy_level: 0 },
      MS_DOMAIN,
    );
    g.output('y', DType.FLOAT, [1, N]);
    const exported = g.build('q4');
    const result = fastMatMuls(exported, { bits: null });
    expect(result).toMatchObject({ switched: 1, quantized: 0 });
    const node = onnx.ModelProto.decode(result.model).graph?.node?.[0];
    expect(Number(node?.attribute?.find((attribute) => attribute.name === 'accuracy_level')?.i)).toBe(4);
    expect(relativeError(await run(result.model, x), await run(exported, x))).toBeLessThan(0.02);
    expect(fastMatMuls(result.model, { bits: null }).switched).toBe(0);
  });

  it('leaves a weight two nodes share, and one whose K is not a whole number of blocks', () => {
    expect(fastMatMuls(matmulModel(weight, K, true), { bits: 8 }).quantized).toBe(0);
    const odd = normal(random, 40 * N, 0.2);
    expect(fastMatMuls(matmulModel(odd, 40), { bits: 8 }).quantized).toBe(0);
  });

  it('writes Q8_0’s block: scale max|w| / 127 in half precision, values round(w / scale) + 128', () => {
    const block = Float32Array.from({ length: BLOCK_SIZE }, (_, i) => (i - 16) / 10);
    const { packed, scales } = quantizeBlocks(block, BLOCK_SIZE, 1, 8);
    // 1.6 / 127 = 0.0125984…; halves near it step by 2^-17, and 1651 steps is the nearest.
    expect(scales[0]).toBe(1651 / 2 ** 17);
    expect(packed[0]).toBe(128 - 127);
    expect(packed[16]).toBe(128);
    expect(packed[31]).toBe(128 + Math.round(1.5 / (1.6 / 127)));
  });

  it('opens the rewritten graph from the cache dir when a session asks for it, and only then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lodge-fast-matmul-'));
    try {
      const file = join(dir, 'model.onnx');
      writeFileSync(file, matmulModel(weight));
      const cacheDir = join(dir, 'cache');
      const outputOf = async (fast: boolean) => {
        const { session } = await openSession(file, {
          providers: ['cpu'],
          threads: 1,
          cacheDir,
          ...(fast ? { fastMatMuls: { bits: 8 } } : {}),
        });
        try {
          return (await session.run({ x: tensor('float32', x, [1, K]) })).y?.data as Float32Array;
        } finally {
          await session.release();
        }
      };
      const plain = await outputOf(false);
      expect(plain).toEqual(await run(matmulModel(weight), x));
      const fast = await outputOf(true);
      expect(readdirSync(cacheDir).filter((name) => name.endsWith('.nbits.onnx'))).toHaveLength(1);
      expect(fast).not.toEqual(plain);
      expect(relativeError(fast, plain)).toBeLessThan(0.02);
      expect(await outputOf(true)).toEqual(fast);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
