import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PbtxtMessage, PbtxtValue } from '../../../src/main/core/export/pbtxt';
import { externalDataLocations } from '../../../src/main/core/export/external-data';
import { parseTritonConfig } from '../../../src/main/core/export/triton-schema';
import { DType, GraphBuilder } from '../../fixtures/onnx-builder';
import {
  fixturePath,
  TENSOR_MODEL,
  TINY_EMBEDDER,
  TINY_LM,
  WIDE_LM,
  type LanguageModelSpec,
} from '../../fixtures/models';
import { installWhisper, TINY_WHISPER } from '../../fixtures/whisper';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

/** The tiny LM with its weights spread over three external data files. */
const SPLIT_LM: LanguageModelSpec = { ...TINY_LM, externalFiles: 3 };

/** A plain ONNX model folder whose one weight lives in the external file `location`. */
function writeExternalModel(dir: string, location: string): void {
  const g = new GraphBuilder();
  g.input('x', DType.FLOAT, [4]);
  g.op('Add', ['x', 'w'], {}, 'y');
  g.output('y', DType.FLOAT, [4]);
  const model = g.model('external');
  model.graph?.initializer?.push({
    name: 'w',
    dims: [4],
    dataType: DType.FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [{ key: 'location', value: location }],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish());
}

/** A tensor as KServe v2 model metadata describes it. */
interface V2Tensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

interface V2Metadata {
  readonly inputs: readonly V2Tensor[];
  readonly outputs: readonly V2Tensor[];
}

const list = (value: PbtxtValue | undefined): readonly PbtxtMessage[] =>
  (Array.isArray(value) ? value : []) as readonly PbtxtMessage[];

/**
 * The metadata Triton reports for a config (its documented GET /v2/models/{name}): the datatype
 * without `TYPE_` (STRING as BYTES), and the batch dim as -1 in front when max_batch_size > 0.
 */
function tritonMetadata(config: PbtxtMessage): V2Metadata {
  const batched = Number(config.max_batch_size ?? 0) > 0;
  const describe = (tensor: PbtxtMessage): V2Tensor => {
    const type = String(tensor.data_type);
    return {
      name: String(tensor.name),
      datatype: type === 'TYPE_STRING' ? 'BYTES' : type.replace(/^TYPE_/, ''),
      shape: [...(batched ? [-1] : []), ...(tensor.dims as number[])],
    };
  };
  return { inputs: list(config.input).map(describe), outputs: list(config.output).map(describe) };
}

/**
 * One KServe v2 client routine, as a user writes it once for both servers: reads the model's
 * metadata and builds an infer request with every dynamic dim 2 (FP16 as binary, the rest JSON).
 */
function inferRequest(metadata: V2Metadata): { headers: Record<string, string>; body: Buffer } {
  const binaries: Buffer[] = [];
  const inputs = metadata.inputs.map((input) => {
    const shape = input.shape.map((dim) => (dim < 0 ? 2 : dim));
    const count = shape.reduce((product, dim) => product * dim, 1);
    const base = { name: input.name, datatype: input.datatype, shape };
    if (input.datatype === 'FP16') {
      binaries.push(Buffer.alloc(count * 2));
      return { ...base, parameters: { binary_data_size: count * 2 } };
    }
    const value = input.datatype === 'BOOL' ? false : input.datatype === 'BYTES' ? 'a' : 1;
    return { ...base, data: Array.from({ length: count }, () => value) };
  });
  const header = Buffer.from(JSON.stringify({ inputs }));
  return {
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
    body: Buffer.concat([header, ...binaries]),
  };
}

describe('export to a Triton model repository', () => {
  let core: TestCore;
  const out = tempDir('lodge-export-');
  const exportModel = (id: string, body: Record<string, unknown>) =>
    fetch(`${core.url}/app/models/${id}/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const exported = async (id: string, body: Record<string, unknown>) => {
    const response = await exportModel(id, body);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as {
      name: string;
      modelDir: string;
      configFile: string;
      manifestFile: string;
      config: string;
      maxBatchSize: number;
      versions: { version: number; variant: string; files: { name: string; bytes: number; how: string }[] }[];
      skipped: { model: string; reason: string }[];
    };
  };

  beforeAll(async () => {
    core = await startTestCore({
      models: { 'local/tensors': TENSOR_MODEL, 'test/embedder': TINY_EMBEDDER, 'test/split-lm': SPLIT_LM },
    });
    // A second variant whose file name differs from the weights it refers to (model.onnx_data*).
    const onnxDir = join(core.dataDir, 'models/test/split-lm/onnx');
    copyFileSync(join(onnxDir, 'model.onnx'), join(onnxDir, 'model_q4.onnx'));
    writeExternalModel(join(core.dataDir, 'models/local/escape'), '../../outside.bin');
    writeExternalModel(join(core.dataDir, 'models/local/missing'), 'weights.bin');
    installWhisper(TINY_WHISPER, join(core.dataDir, 'models'), 'test/whisper');
    await fetch(`${core.url}/app/models/refresh`, { method: 'POST' });
  });
  afterAll(async () => {
    await core.dispose();
    out.remove();
  });

  it('writes a tensor model whose config has the names, types and shapes Lodge serves over KServe v2', async () => {
    const result = await exported('local/tensors', { dir: join(out.path, 'repo') });
    expect(result.name).toBe('local_tensors');
    expect(result.modelDir).toBe(join(out.path, 'repo/local_tensors'));
    const source = join(core.dataDir, 'models/local/tensors/model.onnx');
    expect(readFileSync(join(result.modelDir, '1/model.onnx')).equals(readFileSync(source))).toBe(true);
    expect(readdirSync(join(result.modelDir, '1'))).toEqual(['model.onnx']);

    const text = readFileSync(result.configFile, 'utf8');
    expect(text).toBe(result.config);
    const config = parseTritonConfig(text);
    expect(config).toMatchObject({
      name: 'local_tensors',
      platform: 'onnxruntime_onnx',
      max_batch_size: 0,
      instance_group: [{ kind: 'KIND_CPU', count: 1 }],
    });
    // The graph's first dims differ (batch, n, 2, m…): Triton must not batch it.
    expect(config.dynamic_batching).toBeUndefined();

    const lodge = (await (await fetch(`${core.url}/v2/models/local%2Ftensors`)).json()) as V2Metadata;
    const triton = tritonMetadata(config);
    expect(triton.inputs).toEqual(lodge.inputs);
    expect(triton.outputs).toEqual(lodge.outputs);

    // The same client routine builds the same request for both servers, and Lodge answers it.
    const fromLodge = inferRequest(lodge);
    const fromTriton = inferRequest(triton);
    expect(fromTriton.body.equals(fromLodge.body)).toBe(true);
    const answer = await fetch(`${core.url}/v2/models/local%2Ftensors/infer`, {
      method: 'POST',
      headers: fromLodge.headers,
      body: fromLodge.body,
    });
    expect(answer.status, await answer.clone().text()).toBe(200);
    const outputs = ((await answer.json()) as { outputs: { name: string; datatype: string }[] }).outputs;
    expect(outputs.map(({ name, datatype }) => ({ name, datatype }))).toEqual(
      triton.outputs.map(({ name, datatype }) => ({ name, datatype })),
    );
  });

  it('writes a KServe InferenceService beside the model, its storage URI left to the user', async () => {
    const result = await exported('local/tensors', { dir: join(out.path, 'kserve'), name: 'Tensors_1' });
    expect(result.manifestFile).toBe(join(out.path, 'kserve/Tensors_1.kserve.yaml'));
    const lines = readFileSync(result.manifestFile, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('#') && line.trim() !== '');
    expect(lines).toEqual([
      'apiVersion: serving.kserve.io/v1beta1',
      'kind: InferenceService',
      'metadata:',
      '  name: tensors-1',
      'spec:',
      '  predictor:',
      '    model:',
      '      modelFormat:',
      '        name: onnx',
      '      protocolVersion: v2',
      '      storageUri: "s3://YOUR-BUCKET/PATH/TO/REPOSITORY"',
    ]);
  });

  it('batches an embedding model along its batch dim, and still matches Lodge metadata', async () => {
    const result = await exported('test/embedder', {
      dir: join(out.path, 'repo'),
      instanceKind: 'gpu',
      instanceCount: 2,
      maxBatchSize: 16,
    });
    expect(result.maxBatchSize).toBe(16);
    const config = parseTritonConfig(readFileSync(result.configFile, 'utf8'));
    expect(config).toMatchObject({
      max_batch_size: 16,
      dynamic_batching: {},
      instance_group: [{ kind: 'KIND_GPU', count: 2 }],
    });
    expect(list(config.input).map((input) => input.dims)).toEqual(list(config.input).map(() => [-1]));
    const lodge = (await (await fetch(`${core.url}/v2/models/test%2Fembedder`)).json()) as V2Metadata;
    expect(tritonMetadata(config)).toEqual({ inputs: lodge.inputs, outputs: lodge.outputs });
    expect(readFileSync(result.manifestFile, 'utf8')).toContain('nvidia.com/gpu: "1"');
  });

  it('exports a text model with its KV inputs as-is and every external data file the graph names', async () => {
    const result = await exported('test/split-lm', { dir: join(out.path, 'repo'), variant: 'q4' });
    const version = join(result.modelDir, '1');
    const names = ['model.onnx', 'model.onnx_data', 'model.onnx_data_1', 'model.onnx_data_2'];
    expect(readdirSync(version).sort()).toEqual(names);
    expect(externalDataLocations(join(version, 'model.onnx')).sort()).toEqual(names.slice(1));
    for (const name of names.slice(1))
      expect(statSync(join(version, name)).size).toBe(
        statSync(join(core.dataDir, 'models/test/split-lm/onnx', name)).size,
      );
    expect(result.versions).toEqual([
      {
        version: 1,
        variant: 'q4',
        files: expect.arrayContaining([expect.objectContaining({ name: 'model.onnx_data_2' })]),
      },
    ]);

    const text = readFileSync(result.configFile, 'utf8');
    expect(text).toMatch(/client-side\s*\n?#? ?decode loop/);
    const config = parseTritonConfig(text);
    expect(config.max_batch_size).toBe(0);
    expect(config.dynamic_batching).toBeUndefined();
    const inputs = list(config.input).map((input) => String(input.name));
    expect(inputs).toContain('input_ids');
    expect(inputs.some((name) => name.startsWith('past_key_values.'))).toBe(true);

    // onnxruntime loads the exported graph from its version folder: the weights are where it looks.
    const session = await ort.InferenceSession.create(join(version, 'model.onnx'));
    try {
      expect([...session.inputNames]).toEqual(inputs);
      expect([...session.outputNames]).toEqual(list(config.output).map((output) => String(output.name)));
    } finally {
      await session.release();
    }
  });

  it('refuses a repository that already holds the model unless told to replace it', async () => {
    const dir = join(out.path, 'again');
    await exported('local/tensors', { dir });
    writeFileSync(join(dir, 'local_tensors/stale.txt'), 'left from before');
    const conflict = await exportModel('local/tensors', { dir });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe('conflict');
    await exported('local/tensors', { dir, overwrite: true });
    expect(existsSync(join(dir, 'local_tensors/stale.txt'))).toBe(false);
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);

    // A folder of the user's that has the model's name is never replaced, overwrite or not.
    mkdirSync(join(dir, 'mine'));
    writeFileSync(join(dir, 'mine/notes.txt'), 'keep me');
    const refused = await exportModel('local/tensors', { dir, name: 'mine', overwrite: true });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'a folder named mine that Lodge did not export',
    );
    expect(readFileSync(join(dir, 'mine/notes.txt'), 'utf8')).toBe('keep me');
  });

  it('leaves out an older revision whose graph has other inputs or outputs, and says why', async () => {
    // Two revisions of one id: a tiny LM, then a wider one whose KV cache has other shapes.
    for (const spec of [TINY_LM, WIDE_LM]) {
      const imported = await fetch(`${core.url}/app/models/import`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: fixturePath(spec), id: 'local/sig' }),
      });
      expect(imported.status, await imported.text()).toBe(200);
    }
    const result = await exported('local/sig', { dir: join(out.path, 'sig') });
    expect(result.versions.map((version) => version.version)).toEqual([1]);
    expect(readdirSync(result.modelDir).sort()).toEqual(['1', 'config.pbtxt']);
    expect(result.skipped).toEqual([
      {
        model: expect.stringMatching(/^local\/sig@[0-9a-f]{12}$/),
        reason: expect.stringMatching(
          /^its inputs \(.+\) differ from the newest revision's \(.+\) in names, types or shapes$/,
        ),
      },
    ]);
  });

  it('answers what a client got wrong with a clear error and no path', async () => {
    const cases: [string, Record<string, unknown>, number, string, RegExp][] = [
      ['local/tensors', { dir: 'relative/repo' }, 400, 'invalid_request', /absolute path/],
      [
        'local/tensors',
        { dir: join(out.path, 'v'), variant: 'q4' },
        400,
        'invalid_request',
        /no variant "q4"; it has fp32/,
      ],
      ['local/tensors', { dir: join(out.path, 'n'), name: '../up' }, 400, 'invalid_request', /name/],
      [
        'test/whisper',
        { dir: join(out.path, 'w') },
        400,
        'invalid_request',
        /a pipeline of 2 graphs \(an audio encoder, a text decoder\); Triton export takes single-graph models/,
      ],
      ['local/nothing', { dir: join(out.path, 'm') }, 404, 'model_not_found', /local\/nothing/],
      [
        'local/tensors',
        { dir: join(core.dataDir, 'models/x') },
        400,
        'invalid_request',
        /inside Lodge's data/,
      ],
      ['local/escape', { dir: join(out.path, 'e') }, 422, 'model_load_failed', /climbs out with \. or \.\./],
      [
        'local/missing',
        { dir: join(out.path, 'e') },
        422,
        'model_load_failed',
        /"weights.bin", which is not beside it/,
      ],
    ];
    const file = join(out.path, 'a-file');
    writeFileSync(file, '');
    cases.push([
      'local/tensors',
      { dir: file },
      400,
      'invalid_request',
      /could not write the export into that folder/,
    ]);
    for (const [id, body, status, code, message] of cases) {
      const response = await exportModel(id, body);
      const error = ((await response.json()) as { error: { code: string; message: string } }).error;
      expect({ status: response.status, code: error.code }, error.message).toEqual({ status, code });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(out.path);
      expect(error.message).not.toContain(core.dataDir);
    }
    // Nothing half-written is left behind by the refusals.
    expect(existsSync(join(out.path, 'e'))).toBe(false);
    expect(existsSync(join(out.path, 'w'))).toBe(false);
  });
});
