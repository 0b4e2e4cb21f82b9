import { describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../../src/shared/contract/models';
import { matchModel } from '../../../src/main/cli/resolve-model';

function model(id: string, alias: string | null = null): ModelSummary {
  return {
    id,
    format: 'hf-onnx',
    task: 'text-generation',
    architecture: null,
    variants: [
      { name: 'fp32', bytes: 10 },
      { name: 'q4', bytes: 4 },
    ],
    contextLength: null,
    hasChatTemplate: true,
    status: 'ready',
    source: { kind: 'folder' },
    location: 'models/x',
    parameterCount: null,
    totalBytes: 14,
    alias,
    tags: [],
    preset: {},
    addedAt: '2026-01-01T00:00:00.000Z',
    lastUsedAt: null,
  };
}

const LIBRARY = [
  model('test/tiny-lm', 'tiny'),
  model('acme/embedder'),
  model('other/embedder'),
  model('a/solo'),
];

describe('matchModel: one resolver for every lodge verb, by the server rules', () => {
  it('finds a model by id, alias or a bare name one owner has, with a variant tag', () => {
    expect(matchModel(LIBRARY, 'test/tiny-lm').name).toBe('test/tiny-lm');
    expect(matchModel(LIBRARY, 'tiny').model.id).toBe('test/tiny-lm');
    expect(matchModel(LIBRARY, 'tiny-lm').model.id).toBe('test/tiny-lm');
    expect(matchModel(LIBRARY, 'SOLO').model.id).toBe('a/solo');
    expect(matchModel(LIBRARY, 'tiny:q4')).toMatchObject({ variant: 'q4', name: 'test/tiny-lm:q4' });
    expect(matchModel(LIBRARY, 'tiny:latest')).toMatchObject({ variant: null, name: 'test/tiny-lm' });
    // A revision goes to the server as given: it knows that revision's variants.
    expect(matchModel(LIBRARY, 'tiny:q8@abc1234')).toMatchObject({ name: 'test/tiny-lm:q8@abc1234' });
    expect(matchModel(LIBRARY, 'tiny@abc1234').name).toBe('test/tiny-lm@abc1234');
  });

  it('says what it could mean, or what there is, when it finds no single model', () => {
    expect(() => matchModel(LIBRARY, 'embedder')).toThrow(
      "'embedder' could mean acme/embedder or other/embedder. Give the full name.",
    );
    expect(() => matchModel(LIBRARY, 'nope')).toThrow(
      /The model 'nope' does not exist\. Available: test\/tiny-lm, /,
    );
    expect(() => matchModel([], 'nope')).toThrow(/No models are installed yet/);
    expect(() => matchModel(LIBRARY, 'tiny:q8')).toThrow(
      "test/tiny-lm has no variant 'q8'. Its variants: fp32, q4.",
    );
  });
});
