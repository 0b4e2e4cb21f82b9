// The MatMulNBits rewrite against a real onnxruntime session: the rewritten graph loads, takes the
// integer path, and multiplies as the fp32 graph does to within its quantization.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIZE,
  describeFastMatMuls,
  fastMatMuls,
  quantizeBlocks,
  quantizeRowBlocks,
} from '../../../src/main/runner/onnx/fast-matmul';
import { openSession, tensor } from '../../../src/main/runner/onnx/session';
import {
  EMBED_NAME,
  HEAD_IDS,
  HEAD_TOKENS,
  HEAD_VOCAB,
  MLP_IN,
  MLP_OUT,
  mlpModel,
  opTypes,
  relativeError,
  tiedHeadModel,
  type TiedForm,
} from '../../fixtures/matmul-graphs';
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

  it('puts one scale on each block of 64 when asked: max|w| / 127 over all 64 values', () => {
    // The first 32 values are small, the next 32 large: blocks of 32 give the first its own scale.
    const column = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? 0.01 : 1.27) * (i % 2 ? 1 : -1));
    expect(quantizeBlocks(column, 64, 1, 8).scales).toHaveLength(2);
    const { packed, scales } = quantizeBlocks(column, 64, 1, 8, 64);
    expect(scales).toHaveLength(1);
    expect(scales[0]).toBeCloseTo(0.01, 5);
    expect(packed).toHaveLength(64);
    expect([packed[0], packed[1], packed[62], packed[63]]).toEqual([127, 129, 1, 255]);
    // Row-major blocks ([N, K]) are the same blocks.
    expect(quantizeRowBlocks(column, 64, 1, 8, 64)).toEqual({ packed, scales });
  });

  it.each([
    [8, 64, 0.02],
    [8, 128, 0.02],
    [4, 64, 0.25],
    [4, 128, 0.25],
  ] as const)(
    'makes %d-bit MatMulNBits of blocks of %d when asked, that multiply like the fp32 graph',
    async (bits, blockSize, tolerance) => {
      const fp32 = matmulModel(weight);
      const result = fastMatMuls(fp32, { bits, blockSize });
      expect(result.quantized).toBe(1);
      const graph = onnx.ModelProto.decode(result.model).graph;
      const node = graph?.node?.[0];
      expect(node?.opType).toBe('MatMulNBits');
      expect(Number(node?.attribute?.find((attribute) => attribute.name === 'block_size')?.i)).toBe(
        blockSize,
      );
      const dims = (name: string) =>
        (graph?.initializer?.find((tensor) => tensor.name === name)?.dims ?? []).map(Number);
      expect(dims(node?.input?.[1] ?? '')).toEqual([N, K / blockSize, (blockSize * bits) / 8]);
      expect(dims(node?.input?.[2] ?? '')).toEqual([N * (K / blockSize)]);
      const error = relativeError(await run(result.model, x), await run(fp32, x));
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThan(tolerance);
    },
  );

  it('leaves a MatMul whose K is blocks of 32 but not of the 64 asked for, saying why', () => {
    const model = matmulModel(normal(random, 96 * N, 0.2), 96);
    expect(fastMatMuls(model, { bits: 8 }).quantized).toBe(1);
    const left = fastMatMuls(model, { bits: 8, blockSize: 64 });
    expect(left).toMatchObject({ quantized: 0, left: [{ weight: 'proj.weight', reason: 'k-not-blocks' }] });
    expect(describeFastMatMuls(left)).toBe(
      'fast MatMuls: 0 quantized in blocks of 64 (0 LM heads), 0 switched to accuracy 4; ' +
        'left 1 (1 K not a multiple of 64)',
    );
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

/** `model`'s float32 output `name` on `feeds`. */
async function outputOf(
  model: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  name: string,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    return (await session.run(feeds))[name]?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function nodeReading(model: Uint8Array, input: string): onnx.INodeProto | undefined {
  return onnx.ModelProto.decode(model).graph?.node?.find((node) => node.input?.includes(input));
}

function intAttribute(node: onnx.INodeProto | undefined, name: string): number {
  return Number(node?.attribute?.find((attribute) => attribute.name === name)?.i);
}

describe('fastMatMuls on the heads and weights real exports have', () => {
  const ids = { input_ids: new ort.Tensor('int64', HEAD_IDS, [1, HEAD_TOKENS]) };

  it.each(['gemm', 'transpose'] as const)(
    'quantizes a copy of a tied head’s table (%s form) at headBits, the lookup keeping the float table',
    async (form: TiedForm) => {
      const tied = onnx.ModelProto.encode(tiedHeadModel(5, form)).finish();
      const eight = fastMatMuls(tied, { bits: 4 });
      const four = fastMatMuls(tied, { bits: 4, headBits: 4 });
      expect(eight).toMatchObject({ quantized: 1, heads: 1, switched: 0, left: [] });
      // The Transpose of the MatMul form goes with its only reader.
      expect(opTypes(eight.model)).toEqual(['Gather', 'Tanh', 'Reshape', 'MatMulNBits']);
      const head = nodeReading(eight.model, `${EMBED_NAME}.nbits_weight`);
      expect(head?.opType).toBe('MatMulNBits');
      expect([intAttribute(head, 'K'), intAttribute(head, 'N'), intAttribute(head, 'bits')]).toEqual([
        64,
        HEAD_VOCAB,
        8,
      ]);
      expect(intAttribute(nodeReading(four.model, `${EMBED_NAME}.nbits_weight`), 'bits')).toBe(4);
      // Gemm's bias rides on MatMulNBits' bias input (input 5).
      if (form === 'gemm') expect(head?.input?.[5]).toBe('lm_head.bias');
      const graph = onnx.ModelProto.decode(eight.model).graph;
      expect(nodeReading(eight.model, EMBED_NAME)?.opType).toBe('Gather');
      expect(graph?.initializer?.find((tensor) => tensor.name === EMBED_NAME)?.dataType).toBe(DType.FLOAT);
      const expected = await outputOf(tied, ids, 'logits');
      const error8 = relativeError(await outputOf(eight.model, ids, 'logits'), expected);
      const error4 = relativeError(await outputOf(four.model, ids, 'logits'), expected);
      expect(error8).toBeGreaterThan(0);
      expect(error8).toBeLessThan(0.03);
      expect(error4).toBeLessThan(0.25);
      expect(error8).toBeLessThan(error4);
    },
  );

  it.each([
    ['logits', 8, 1],
    ['hidden', 4, 0],
  ] as const)(
    'takes a MatMul whose product becomes the %s output for an LM head by where it leads, whatever its weight’s name',
    (output, bits, heads) => {
      const random = seededRandom(11);
      const g = new GraphBuilder();
      const product = g.op('MatMul', [
        g.input('x', DType.FLOAT, [1, 1, K]),
        g.float('onnx::MatMul_1234', [K, N], normal(random, K * N, 0.2)),
      ]);
      const biased = g.op('Add', [product, g.float('onnx::Add_1235', [N], normal(random, N, 1))]);
      g.op('Identity', [g.op('Reshape', [biased, g.int64('shape', [1, 1, N])])], {}, output);
      g.output(output, DType.FLOAT, [1, 1, N]);
      const result = fastMatMuls(g.build('head'), { bits: 4 });
      expect(result).toMatchObject({ quantized: 1, heads });
      expect(intAttribute(nodeReading(result.model, 'onnx::MatMul_1234.nbits_weight'), 'bits')).toBe(bits);
    },
  );

  it('leaves a Gemm that scales its product (alpha ≠ 1), saying why', () => {
    const scaled = onnx.ModelProto.encode(tiedHeadModel(5, 'gemm', 0.5)).finish();
    const result = fastMatMuls(scaled, { bits: 8 });
    expect(result).toMatchObject({ quantized: 0, left: [{ weight: EMBED_NAME, reason: 'gemm-form' }] });
    expect(result.model).toBe(scaled);
  });

  it('adds a Gemm’s C after the MatMulNBits where C is not a [N] vector (a [1, N] row here)', async () => {
    const random = seededRandom(10);
    const g = new GraphBuilder();
    const input = g.input('x', DType.FLOAT, [2, K]);
    const weight = g.float('linear.weight', [N, K], normal(random, N * K, 0.2));
    const bias = g.float('linear.bias', [1, N], normal(random, N, 1));
    g.op('Gemm', [input, weight, bias], { transB: 1 }, 'y');
    g.output('y', DType.FLOAT, [2, N]);
    const linear = g.build('linear');
    const result = fastMatMuls(linear, { bits: 8 });
    expect(result).toMatchObject({ quantized: 1, heads: 0, left: [] });
    expect(opTypes(result.model)).toEqual(['MatMulNBits', 'Add']);
    const feeds = { x: new ort.Tensor('float32', normal(random, 2 * K, 1), [2, K]) };
    const error = relativeError(await outputOf(result.model, feeds, 'y'), await outputOf(linear, feeds, 'y'));
    expect(error).toBeGreaterThan(0);
    expect(error).toBeLessThan(0.03);
  });

  it('makes fp16 MatMuls MatMulNBits with half-precision scales that multiply like them', async () => {
    const fp16 = onnx.ModelProto.encode(mlpModel(9, true)).finish();
    const random = seededRandom(4);
    const x = { x: new ort.Tensor('float32', normal(random, MLP_IN, 1), [1, MLP_IN]) };
    const expected = await outputOf(fp16, x, 'y');
    expect(expected).toHaveLength(MLP_OUT);
    const errors: number[] = [];
    for (const bits of [8, 4] as const) {
      const result = fastMatMuls(fp16, { bits });
      expect(result).toMatchObject({ quantized: 2, left: [] });
      expect(opTypes(result.model)).toEqual(['Cast', 'MatMulNBits', 'Add', 'Relu', 'MatMulNBits', 'Cast']);
      const scales = onnx.ModelProto.decode(result.model).graph?.initializer?.filter((tensor) =>
        tensor.name?.endsWith('.nbits_scales'),
      );
      expect(scales?.map((tensor) => tensor.dataType)).toEqual([DType.FLOAT16, DType.FLOAT16]);
      errors.push(relativeError(await outputOf(result.model, x, 'y'), expected));
    }
    const [error8, error4] = errors as [number, number];
    expect(error8).toBeGreaterThan(0);
    expect(error8).toBeLessThan(0.03);
    expect(error4).toBeLessThan(0.25);
    expect(error8).toBeLessThan(error4);
  });

  it('says which MatMuls it left and why, in one line', () => {
    const random = seededRandom(8);
    const g = new GraphBuilder();
    const x = g.input('x', DType.FLOAT, [1, K]);
    const odd = g.input('odd', DType.FLOAT, [1, 40]);
    const shared = g.float('shared.weight', [K, N], normal(random, K * N, 0.2));
    g.op('MatMul', [x, shared], {}, 'a');
    g.op('MatMul', [x, shared], {}, 'b');
    g.op('MatMul', [odd, g.float('odd.weight', [40, N], normal(random, 40 * N, 0.2))], {}, 'c');
    g.op(
      'MatMul',
      [x, g.op('Relu', [g.float('computed.weight', [K, N], normal(random, K * N, 0.2))])],
      {},
      'd',
    );
    g.op('MatMul', [x, g.float('proj.weight', [K, N], normal(random, K * N, 0.2))], {}, 'e');
    for (const name of ['a', 'b', 'c', 'd', 'e']) g.output(name, DType.FLOAT, [1, N]);
    const result = fastMatMuls(g.build('left'), { bits: 8 });
    expect(result.quantized).toBe(1);
    expect(result.left.map(({ weight, reason }) => [weight, reason])).toEqual([
      ['shared.weight', 'shared'],
      ['shared.weight', 'shared'],
      ['odd.weight', 'k-not-blocks'],
      ['relu_3', 'not-constant'],
    ]);
    expect(describeFastMatMuls(result)).toBe(
      'fast MatMuls: 1 quantized (0 LM heads), 0 switched to accuracy 4; left 4 (2 weight shared with ' +
        'another node, 1 K not a multiple of 32, 1 not over a constant weight)',
    );
  });

  it('leaves MatMuls over external weights when it has only the bytes of the graph', () => {
    const model = mlpModel(9);
    for (const tensor of model.graph?.initializer ?? []) {
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [{ key: 'location', value: 'model.onnx_data' }];
      tensor.rawData = new Uint8Array(0);
    }
    const bytes = onnx.ModelProto.encode(model).finish();
    const result = fastMatMuls(bytes, { bits: 8 });
    expect(result.left.map(({ reason }) => reason)).toEqual(['external', 'external']);
    expect(result.model).toBe(bytes);
  });

  it('quantizes an [N, K] table as the same blocks as its [K, N] transpose', () => {
    const random = seededRandom(6);
    const weight = normal(random, K * N, 0.3);
    const transposed = new Float32Array(K * N);
    for (let k = 0; k < K; k++)
      for (let n = 0; n < N; n++) transposed[n * K + k] = weight[k * N + n] as number;
    for (const bits of [4, 8] as const)
      expect(quantizeRowBlocks(transposed, K, N, bits)).toEqual(quantizeBlocks(weight, K, N, bits));
  });
});
