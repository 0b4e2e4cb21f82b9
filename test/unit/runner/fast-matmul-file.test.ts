// The MatMulNBits rewrite of model files as exports ship them: weights embedded, or in one or
// several external data files beside the graph. The rewrite reads the model's folder and writes
// only the cache dir; real onnxruntime sessions load both and compare.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fastMatMulFile,
  type FastMatMulOptions,
  type FastMatMulReport,
} from '../../../src/main/runner/onnx/fast-matmul';
import { RunnerError } from '../../../src/main/runner/runner-error';
import { MLP_IN, mlpModel, opTypes, relativeError } from '../../fixtures/matmul-graphs';
import { fixturePath, lmFileName, WIDE_LM } from '../../fixtures/models';
import { DType, GraphBuilder, normal, seededRandom } from '../../fixtures/onnx-builder';
import { writeOnnx } from '../../fixtures/onnx-transforms';

let root: string;
let folder: string;
let cacheDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lodge-fast-matmul-file-'));
  folder = join(root, 'model');
  cacheDir = join(root, 'cache');
  mkdirSync(folder);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes `model` as `model.onnx` in the model folder, weights in `files` data files (0: embedded). */
function writeModel(model: onnx.ModelProto, files: number, dataName?: string): string {
  writeOnnx(folder, 'model', model, files, dataName);
  return join(folder, 'model.onnx');
}

/** Each file of `dir` with a digest of its bytes and its modification time. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => {
      const file = join(dir, name);
      const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
      return [name, `${digest} ${statSync(file).mtimeMs}`];
    }),
  );
}

const x = normal(seededRandom(2), MLP_IN, 1);

/** The MLP's output `y`, the session opened from the file (so its data files resolve beside it). */
async function mlpOutput(file: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  try {
    return (await session.run({ x: new ort.Tensor('float32', x, [1, MLP_IN]) })).y?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function rewrite(file: string, options: FastMatMulOptions): { file: string; reports: FastMatMulReport[] } {
  const reports: FastMatMulReport[] = [];
  return { file: fastMatMulFile(file, cacheDir, options, (report) => reports.push(report)), reports };
}

describe('fastMatMulFile', () => {
  it.each([
    ['embedded weights', 0, undefined, ['model.onnx']],
    ['one data file', 1, undefined, ['model.onnx', 'model.onnx_data']],
    ['one data file named model.onnx.data', 1, 'model.onnx.data', ['model.onnx', 'model.onnx.data']],
    ['two data files', 2, undefined, ['model.onnx', 'model.onnx_data', 'model.onnx_data_1']],
  ] as const)(
    'rewrites a model with %s into the cache dir, leaving its folder as it was',
    async (_, files, dataName, written) => {
      const file = writeModel(mlpModel(1), files, dataName);
      expect(readdirSync(folder).sort()).toEqual(written);
      const before = snapshot(folder);
      const expected = await mlpOutput(file);
      const eight = rewrite(file, { bits: 8 });
      const four = rewrite(file, { bits: 4 });
      expect(eight.reports).toEqual([{ quantized: 2, heads: 0, switched: 0, left: [] }]);
      for (const { file: rewritten } of [eight, four]) {
        expect(dirname(rewritten)).toBe(cacheDir);
        expect(opTypes(readFileSync(rewritten))).toEqual(['MatMulNBits', 'Add', 'Relu', 'MatMulNBits']);
        // Every weight, quantized or copied, lives in the rewrite's own data file.
        const graph = onnx.ModelProto.decode(readFileSync(rewritten)).graph;
        const locations = (graph?.initializer ?? []).map(
          (tensor) => tensor.externalData?.find((entry) => entry.key === 'location')?.value,
        );
        expect(locations).toEqual(locations.map(() => `${basename(rewritten)}.data`));
      }
      const error8 = relativeError(await mlpOutput(eight.file), expected);
      const error4 = relativeError(await mlpOutput(four.file), expected);
      expect(error8).toBeGreaterThan(0);
      expect(error8).toBeLessThan(0.03);
      expect(error4).toBeLessThan(0.25);
      expect(error8).toBeLessThan(error4);
      expect(snapshot(folder)).toEqual(before);
      expect(readdirSync(root).sort()).toEqual(['cache', 'model']);
      expect(readdirSync(cacheDir).sort()).toEqual(
        [eight.file, four.file]
          .flatMap((rewritten) => [rewritten, `${rewritten}.data`, `${rewritten}.json`])
          .map((path) => basename(path))
          .sort(),
      );
      // Made once: the second ask is answered from the cache, report and all.
      const again = rewrite(file, { bits: 8 });
      expect(again).toEqual(eight);
    },
  );

  it('makes a new rewrite when a data file changes, though the graph file did not', async () => {
    const file = writeModel(mlpModel(1), 1);
    const first = rewrite(file, { bits: 8 }).file;
    const graphBefore = readFileSync(file);
    const other = join(root, 'other');
    mkdirSync(other);
    writeOnnx(other, 'model', mlpModel(2), 1);
    copyFileSync(join(other, 'model.onnx_data'), join(folder, 'model.onnx_data'));
    expect(readFileSync(file)).toEqual(graphBefore);
    const second = rewrite(file, { bits: 8 }).file;
    expect(second).not.toBe(first);
    expect(relativeError(await mlpOutput(second), await mlpOutput(file))).toBeLessThan(0.03);
  });

  it('keeps a rewrite in blocks of 64 apart from the one in blocks of 32', async () => {
    const file = writeModel(mlpModel(1), 1);
    const wide = rewrite(file, { bits: 8, blockSize: 64 });
    expect(wide.reports).toEqual([{ quantized: 2, heads: 0, switched: 0, left: [], blockSize: 64 }]);
    const narrow = rewrite(file, { bits: 8 }).file;
    expect(wide.file).not.toBe(narrow);
    const blockSizes = (rewritten: string) =>
      (onnx.ModelProto.decode(readFileSync(rewritten)).graph?.node ?? [])
        .filter((node) => node.opType === 'MatMulNBits')
        .map((node) => Number(node.attribute?.find((attribute) => attribute.name === 'block_size')?.i));
    expect(blockSizes(wide.file)).toEqual([64, 64]);
    expect(blockSizes(narrow)).toEqual([32, 32]);
    // From the cache, with the report that says its block size.
    expect(rewrite(file, { bits: 8, blockSize: 64 })).toEqual(wide);
    expect(relativeError(await mlpOutput(wide.file), await mlpOutput(file))).toBeLessThan(0.03);
  });

  it('refuses a data file that links outside the folder, as onnxruntime does, and follows one inside', async () => {
    const file = writeModel(mlpModel(1), 1);
    const data = readdirSync(folder).find((name) => name !== 'model.onnx') as string;
    mkdirSync(join(folder, 'blobs'));
    renameSync(join(folder, data), join(folder, 'blobs', 'abc123'));
    symlinkSync(join('blobs', 'abc123'), join(folder, data));
    const { file: rewritten } = rewrite(file, { bits: 8 });
    expect(relativeError(await mlpOutput(rewritten), await mlpOutput(file))).toBeLessThan(0.03);

    rmSync(cacheDir, { recursive: true });
    rmSync(join(folder, data));
    renameSync(join(folder, 'blobs', 'abc123'), join(root, 'elsewhere'));
    symlinkSync(join('..', 'elsewhere'), join(folder, data));
    expect(() => fastMatMulFile(file, cacheDir, { bits: 8 })).toThrow(
      expect.objectContaining({
        code: 'model_load_failed',
        message: expect.stringMatching(/a link to a file outside the model's folder/),
      }),
    );
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });

  it('refuses a data file that is not a regular file (a FIFO would block the load), writing nothing', () => {
    const file = writeModel(mlpModel(1), 1);
    const data = readdirSync(folder).find((name) => name !== 'model.onnx') as string;
    rmSync(join(folder, data));
    execFileSync('mkfifo', [join(folder, data)]);
    expect(() => fastMatMulFile(file, cacheDir, { bits: 8 })).toThrow(
      expect.objectContaining({
        code: 'model_load_failed',
        message: expect.stringMatching(/which is missing or not a regular file/),
      }),
    );
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });

  it('writes the rewrite again when its data file went missing from the cache', async () => {
    const file = writeModel(mlpModel(1), 1);
    const first = rewrite(file, { bits: 8 }).file;
    rmSync(`${first}.data`);
    expect(rewrite(file, { bits: 8 }).file).toBe(first);
    expect(relativeError(await mlpOutput(first), await mlpOutput(file))).toBeLessThan(0.03);
  });

  it.each([
    [
      '../../etc/passwd',
      'mlp.up_proj.bias',
      /names its external data "\.\.\/\.\.\/etc\/passwd", which leaves the model's folder/,
    ],
    ['/etc/passwd', 'mlp.up_proj.weight', /names its external data by an absolute path/],
    ['sub/../../model.onnx_data', 'mlp.down_proj.weight', /which leaves the model's folder/],
  ])('refuses external data at %s (on %s), writing nothing', (location, name, message) => {
    const model = mlpModel(1);
    writeModel(model, 1);
    const tensor = model.graph?.initializer?.find((initializer) => initializer.name === name);
    for (const entry of tensor?.externalData ?? []) if (entry.key === 'location') entry.value = location;
    const file = join(folder, 'model.onnx');
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    const before = snapshot(folder);
    let thrown: unknown;
    try {
      fastMatMulFile(file, cacheDir, { bits: 8 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RunnerError);
    expect(thrown).toMatchObject({ code: 'model_load_failed', message: expect.stringMatching(message) });
    expect((thrown as Error).message).not.toContain(root);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(snapshot(folder)).toEqual(before);
  });

  it('copies a weight larger than its copy buffer (16 MiB) into the new data file intact', async () => {
    const rows = 40_000;
    const random = seededRandom(12);
    const g = new GraphBuilder();
    const ids = g.input('ids', DType.INT64, [1, 3]);
    const table = g.float('big.table', [rows, MLP_IN], normal(random, rows * MLP_IN, 1));
    const looked = g.op('Gather', [table, ids], { axis: 0 }, 'rows');
    g.output('rows', DType.FLOAT, [1, 3, MLP_IN]);
    const weight = g.float('proj.weight', [MLP_IN, 32], normal(random, MLP_IN * 32, 0.2));
    g.op('MatMul', [looked, weight], {}, 'projected');
    g.output('projected', DType.FLOAT, [1, 3, 32]);
    const file = writeModel(g.model('big'), 1);
    const rewritten = rewrite(file, { bits: 8 }).file;
    const picked = { ids: new ort.Tensor('int64', BigInt64Array.of(0n, 23_456n, 39_999n), [1, 3]) };
    const outputs = async (path: string) => {
      const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
      try {
        const out = await session.run(picked);
        return [out.rows?.data as Float32Array, out.projected?.data as Float32Array] as const;
      } finally {
        await session.release();
      }
    };
    const [rowsBefore, projectedBefore] = await outputs(file);
    const [rowsAfter, projectedAfter] = await outputs(rewritten);
    expect(rowsAfter).toEqual(rowsBefore);
    expect(relativeError(projectedAfter, projectedBefore)).toBeLessThan(0.03);
    expect(statSync(`${rewritten}.data`).size).toBeGreaterThan(rows * MLP_IN * 4);
  });

  it('gives back the model itself when there is nothing to rewrite, and remembers it', () => {
    const g = new GraphBuilder();
    g.op(
      'Add',
      [g.input('x', DType.FLOAT, [1, 4]), g.float('c', [1, 4], Float32Array.of(1, 2, 3, 4))],
      {},
      'y',
    );
    g.output('y', DType.FLOAT, [1, 4]);
    writeFileSync(join(folder, 'model.onnx'), g.build('add'));
    const file = join(folder, 'model.onnx');
    expect(rewrite(file, { bits: 8 })).toEqual({
      file,
      reports: [{ quantized: 0, heads: 0, switched: 0, left: [] }],
    });
    expect(readdirSync(cacheDir).filter((name) => !name.endsWith('.json'))).toEqual([]);
    expect(rewrite(file, { bits: 8 }).file).toBe(file);
  });

  it('quantizes WIDE_LM’s tied head (Gemm over the embedding table) at 8 bits beside 4-bit layers', async () => {
    const file = join(fixturePath(WIDE_LM), 'onnx', lmFileName(WIDE_LM));
    const { file: rewritten, reports } = rewrite(file, { bits: 4 });
    expect(reports[0]).toMatchObject({ heads: 1 });
    const graph = onnx.ModelProto.decode(readFileSync(rewritten)).graph;
    const nodes = graph?.node ?? [];
    expect(nodes.filter((node) => node.opType === 'Gemm')).toEqual([]);
    const head = nodes.find((node) => node.input?.[1] === 'model.embed_tokens.weight.nbits_weight');
    const attribute = (name: string) => Number(head?.attribute?.find((entry) => entry.name === name)?.i);
    expect([head?.opType, attribute('N'), attribute('bits'), head?.input?.[5]]).toEqual([
      'MatMulNBits',
      WIDE_LM.vocabSize,
      8,
      'lm_head.bias',
    ]);
    const lookups = nodes.filter((node) => node.input?.[0] === 'model.embed_tokens.weight');
    expect(lookups.map((node) => node.opType)).toEqual(['Gather']);
    const layers = nodes.filter((node) => node.opType === 'MatMulNBits' && node !== head);
    expect(layers.length).toBe((reports[0]?.quantized ?? 0) - 1);
    expect(
      layers.every((node) => Number(node.attribute?.find((entry) => entry.name === 'bits')?.i) === 4),
    ).toBe(true);
    // One prefill step of four tokens, fp32 graph against the rewrites: logits within quantization.
    const step = async (path: string) => {
      const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
      try {
        const tokens = 4;
        const headDim = WIDE_LM.hidden / WIDE_LM.heads;
        const feeds: Record<string, ort.Tensor> = {
          input_ids: new ort.Tensor('int64', BigInt64Array.of(11n, 400n, 9_000n, 151_000n), [1, tokens]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(tokens).fill(1n), [1, tokens]),
          position_ids: new ort.Tensor('int64', BigInt64Array.of(0n, 1n, 2n, 3n), [1, tokens]),
          num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(1n), []),
        };
        for (let layer = 0; layer < WIDE_LM.layers; layer++)
          for (const part of ['key', 'value'])
            feeds[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [
              1,
              WIDE_LM.kvHeads,
              0,
              headDim,
            ]);
        return (await session.run(feeds)).logits?.data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const expected = await step(file);
    expect(expected.length).toBe(WIDE_LM.vocabSize);
    const error4 = relativeError(await step(rewritten), expected);
    const error8 = relativeError(await step(rewrite(file, { bits: 8 }).file), expected);
    expect(error8).toBeGreaterThan(0);
    expect(error8).toBeLessThan(0.03);
    expect(error4).toBeLessThan(0.25);
    expect(error8).toBeLessThan(error4);
  }, 120_000);
});
