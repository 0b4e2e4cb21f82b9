import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../../../src/main/core/library/model-catalog';
import { chooseVariant } from '../../../../src/main/core/library/variant-choice';
import { readOnnxSignature } from '../../../../src/main/core/library/onnx-signature';
import {
  fixturePath,
  installFixture,
  TENSOR_MODEL,
  TINY_EMBEDDER,
  TINY_LM,
  WIDE_LM,
} from '../../../fixtures/models';
import { tempDir } from '../../../helpers/temp-dir';
import pino from 'pino';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { ModelRepository } from '../../../../src/main/core/db/model-repository';

describe('readOnnxSignature', () => {
  it('reads inputs and outputs with types and symbolic dims, without loading weights', () => {
    const signature = readOnnxSignature(join(fixturePath(WIDE_LM), 'onnx/model.onnx'));
    expect(signature.inputs[0]).toEqual({
      name: 'input_ids',
      type: 'int64',
      shape: ['batch_size', 'sequence_length'],
    });
    expect(signature.inputs.find((input) => input.name === 'num_logits_to_keep')).toEqual({
      name: 'num_logits_to_keep',
      type: 'int64',
      shape: [],
    });
    expect(signature.inputs.find((input) => input.name === 'past_key_values.3.value')?.shape).toEqual([
      'batch_size',
      2,
      'past_sequence_length',
      32,
    ]);
    expect(signature.outputs[0]).toEqual({
      name: 'logits',
      type: 'float32',
      shape: ['batch_size', 'sequence_length', 151_936],
    });
    const tensors = readOnnxSignature(join(fixturePath(TENSOR_MODEL), 'model.onnx'));
    expect(tensors.inputs.map((input) => input.type)).toEqual([
      'float32',
      'int64',
      'int32',
      'bool',
      'uint8',
      'float64',
      'float16',
      'string',
    ]);
  });

  it('throws for a file that is not ONNX', () => {
    const dir = tempDir();
    writeFileSync(join(dir.path, 'x.onnx'), 'hello, not protobuf at all');
    expect(() => readOnnxSignature(join(dir.path, 'x.onnx'))).toThrow();
    dir.remove();
  });
});

describe('ModelCatalog', () => {
  const dir = tempDir();
  afterAll(() => {
    db.close();
    dir.remove();
  });
  const models = join(dir.path, 'models');
  installFixture(TINY_LM, models, 'acme/tiny');
  installFixture(TINY_EMBEDDER, models, 'acme/embed');
  installFixture(TENSOR_MODEL, models, 'acme/tensors');
  // A second variant of the LM, and a folder that is no model.
  writeFileSync(join(models, 'acme/tiny/onnx/model_q4.onnx'), 'x');
  mkdirSync(join(models, 'acme/notes'), { recursive: true });
  writeFileSync(join(models, 'acme/notes/readme.txt'), 'hello');
  const db = openDatabase(join(dir.path, 'lodge.db'));
  migrate(db, migrations);
  const catalog = new ModelCatalog(models, new ModelRepository(db), pino({ level: 'silent' }));
  catalog.refresh();

  it('lists the models, skipping folders that are not models', () => {
    expect(catalog.list().map((model) => `${model.id}:${model.task}`)).toEqual([
      'acme/embed:embeddings',
      'acme/tensors:tensors',
      'acme/tiny:text-generation',
    ]);
  });

  it('resolves ids, bare names and variant tags', () => {
    expect(catalog.resolve('acme/tiny').record.id).toBe('acme/tiny');
    expect(catalog.resolve('tiny').record.id).toBe('acme/tiny');
    expect(catalog.resolve('acme/tiny:latest').variant).toBeNull();
    expect(catalog.resolve('acme/tiny:q4').variant).toBe('q4');
    expect(() => catalog.resolve('acme/tiny:fp16')).toThrow(/no variant 'fp16'. Its variants: fp32, q4/);
    expect(() => catalog.resolve('acme/none')).toThrow(/Available: acme\/embed, acme\/tensors, acme\/tiny/);
  });

  it('prefers a quantized variant on the CPU unless one is asked for', () => {
    const record = catalog.resolve('acme/tiny').record;
    expect(chooseVariant(record, null).name).toBe('q4');
    expect(chooseVariant(record, 'fp32').name).toBe('fp32');
  });
});
