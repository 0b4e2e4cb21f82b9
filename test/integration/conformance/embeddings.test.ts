// sentence-transformers exports through Lodge's real forked runner, against transformers.js'
// feature-extraction pipeline: the pooling 1_Pooling/config.json asks for, the normalization
// modules.json asks for, token_type_ids fed only where the graph declares them.
import { basename, dirname, join } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER } from '../../helpers/core';
import { fixturePath, TINY_EMBEDDER, type EmbeddingModelSpec } from '../../fixtures/models';

const TEXTS = ['The cat sat on the mat.', 'A dog ran in the park!', 'Hello'];

const CASES: readonly { name: string; spec: EmbeddingModelSpec; pooling: 'mean' | 'cls' | 'last_token' }[] = [
  { name: 'mean pooling, normalized', spec: TINY_EMBEDDER, pooling: 'mean' },
  { name: 'CLS pooling', spec: { ...TINY_EMBEDDER, pooling: 'cls' }, pooling: 'cls' },
  { name: 'last-token pooling', spec: { ...TINY_EMBEDDER, pooling: 'lasttoken' }, pooling: 'last_token' },
  { name: 'no Normalize module', spec: { ...TINY_EMBEDDER, unnormalized: true }, pooling: 'mean' },
  { name: 'no token_type_ids input', spec: { ...TINY_EMBEDDER, noTokenTypes: true }, pooling: 'mean' },
];

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let index = 0; index < a.length; index++) {
    const x = a[index] as number;
    const y = b[index] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

describe.each(CASES)('embeddings conformance: $name', ({ spec, pooling }) => {
  const dir = fixturePath(spec);
  let runner: RunnerProcess;
  let lodge: Float32Array[];
  let reference: number[][];

  beforeAll(async () => {
    runner = new RunnerProcess('test/embedder', BUILT_RUNNER);
    await runner.ready;
    await runner.load({
      modelId: 'test/embedder',
      task: 'embeddings',
      dir,
      modelFile: join(dir, 'onnx/model.onnx'),
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
    lodge = (await runner.call('embed', { request: { inputs: TEXTS, truncate: false } })).embeddings.map(
      (vector) => Float32Array.from(vector),
    );
    env.allowRemoteModels = false;
    env.localModelPath = `${dirname(dir)}/`;
    const extractor = await pipeline('feature-extraction', basename(dir), { dtype: 'fp32', device: 'cpu' });
    reference = [];
    // One text a call: transformers.js' last-token pooling reads the last column, padding or not.
    for (const text of TEXTS) {
      const output = await extractor(text, { pooling, normalize: !spec.unnormalized });
      reference.push((output.tolist() as number[][])[0] as number[]);
    }
    await extractor.dispose();
  });
  afterAll(async () => {
    await runner.stop();
  });

  it('gives the vectors transformers.js gives, to 1e-5', () => {
    expect(lodge.map((vector) => vector.length)).toEqual(reference.map((vector) => vector.length));
    lodge.forEach((vector, row) => {
      const expected = reference[row] as number[];
      let worst = 0;
      for (let index = 0; index < vector.length; index++)
        worst = Math.max(worst, Math.abs((vector[index] as number) - (expected[index] as number)));
      expect(worst, `text ${row}`).toBeLessThan(1e-5);
    });
  });

  it('gives the cosine similarities transformers.js gives, to 1e-5', () => {
    for (let a = 0; a < TEXTS.length; a++)
      for (let b = a + 1; b < TEXTS.length; b++)
        expect(
          Math.abs(
            cosine(lodge[a] as Float32Array, lodge[b] as Float32Array) -
              cosine(reference[a] as number[], reference[b] as number[]),
          ),
        ).toBeLessThan(1e-5);
  });
});
