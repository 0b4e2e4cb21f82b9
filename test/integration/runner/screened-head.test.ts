// The screened LM head as the runner loads it (fused at load, with a cache dir): greedy requests
// take it and write exactly what the exact head of the same graph writes (a request for
// log-probabilities takes the exact head), alone, batched, under a grammar and with penalties; a
// cached load reads its tables back; tables that are missing or wrong leave the exact head alone
// in service, with a note that says why.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../../src/main/runner/llm/generate';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { GREEDY, type GenerateRequest } from '../../../src/shared/engine';
import { fixturePath, lmFileName, SMALL_LM, type LanguageModelSpec } from '../../fixtures/models';
import { tempDir } from '../../helpers/temp-dir';

/** The small LM with a vocabulary wide enough (32,768 × 32 weights) for its head to be screened. */
const TIED: LanguageModelSpec = { ...SMALL_LM, vocabSize: 32_768, seed: 41 };
/** The same as a llama: an untied head without bias (a MatMul). */
const UNTIED: LanguageModelSpec = { ...TIED, rotary: { theta: 10_000 }, seed: 43 };
const PROMPTS = ['Hi', 'The quick brown fox jumps', 'Once upon a time, in a land far away, there lived'];
const caches: ReturnType<typeof tempDir>[] = [];
afterAll(() => {
  for (const cache of caches) cache.remove();
});

async function open(spec: LanguageModelSpec, cacheDir: string, parallel = 1) {
  const dir = fixturePath(spec);
  return LanguageModel.open(
    dir,
    join(dir, 'onnx', lmFileName(spec)),
    { providers: ['cpu'], threads: 1, cacheDir, fuse: true },
    'test/screened',
    parallel,
  );
}

async function run(
  model: LanguageModel,
  text: string,
  extra: Partial<GenerateRequest> = {},
): Promise<string> {
  let out = '';
  for await (const event of generate(
    model,
    { prompt: { kind: 'text', text }, maxTokens: 32, stop: [], sampling: GREEDY, ignoreEos: true, ...extra },
    'test/screened',
    new AbortController().signal,
  ))
    if (event.type === 'text') out += event.text;
  return out;
}

/** The same request on the exact head: log-probabilities need every logit. */
function exactly(model: LanguageModel, text: string, extra: Partial<GenerateRequest> = {}): Promise<string> {
  return run(model, text, { ...extra, logprobs: 0 });
}

describe.each([
  ['tied head (a Gemm over the embedding table, with bias)', TIED],
  ['untied head (a MatMul)', UNTIED],
] as const)('the screened %s', (_, spec) => {
  it('serves greedy requests with the exact head’s tokens, alone, batched, under a grammar and penalties', async () => {
    const cache = tempDir();
    caches.push(cache);
    const { model, opened } = await open(spec, cache.path, 4);
    try {
      expect(opened.fusion?.screen).toBe(1);
      expect(model.screening).toBe(true);
      expect(model.screenNote).toBeNull();
      const before = model.screenedRuns;
      const exact: string[] = [];
      for (const prompt of PROMPTS) {
        const expected = await exactly(model, prompt);
        expect(expected.length).toBeGreaterThan(0);
        exact.push(expected);
        expect(await run(model, prompt)).toBe(expected);
      }
      // Greedy steps took the screened head: a prefill and 31 steps a prompt.
      expect(model.screenedRuns - before).toBe(PROMPTS.length * 32);
      // Batched steps: every row greedy takes it too.
      const batched = model.batchStats.batchedSteps;
      const screenedBefore = model.screenedRuns;
      expect(await Promise.all(PROMPTS.map((prompt) => run(model, prompt)))).toEqual(exact);
      expect(model.batchStats.batchedSteps).toBeGreaterThan(batched);
      expect(model.screenedRuns - screenedBefore).toBeGreaterThanOrEqual(32);
      // A grammar's mask and the sampler's penalties and bias apply to screened logits as to exact ones.
      const shaped: Partial<GenerateRequest> = {
        grammar: { kind: 'json' },
        sampling: { ...GREEDY, repetitionPenalty: 1.4, presencePenalty: 0.3, logitBias: { 120: 5 } },
      };
      for (const prompt of PROMPTS)
        expect(await run(model, prompt, shaped)).toBe(await exactly(model, prompt, shaped));
    } finally {
      await model.release();
    }
  });
});

describe('the screened head’s tables in the cache', () => {
  it('are read back on a cached load; wrong, damaged or missing, the exact head serves alone (wrong ones are named)', async () => {
    const cache = tempDir();
    caches.push(cache);
    const first = await open(TIED, cache.path);
    const expected = await run(first.model, PROMPTS[2] as string);
    await first.model.release();
    const tables = readdirSync(cache.path).find((name) => name.endsWith('.screen'));
    expect(tables).toBeDefined();
    const file = join(cache.path, tables as string);

    const cached = await open(TIED, cache.path);
    expect(cached.opened.fromCache).toBe(true);
    expect(cached.model.screening).toBe(true);
    expect(await run(cached.model, PROMPTS[2] as string)).toBe(expected);
    await cached.model.release();

    // Weights that are not the graph's: the load check finds screened logits outside their bounds.
    writeFileSync(file, zeroedRows(file));
    const wrong = await open(TIED, cache.path);
    expect(wrong.model.screening).toBe(false);
    expect(wrong.model.screenNote).toMatch(/screened lm_head is not used: .*(bound|another token|order)/);
    const runs = wrong.model.screenedRuns;
    expect(await run(wrong.model, PROMPTS[2] as string)).toBe(expected);
    expect(wrong.model.screenedRuns).toBe(runs);
    await wrong.model.release();

    // A damaged file (its checksum fails) is not read.
    const damaged = zeroedRows(file);
    damaged[40] = (damaged[40] as number) ^ 1;
    writeFileSync(file, damaged);
    const unread = await open(TIED, cache.path);
    expect(unread.opened.screen).toBeNull();
    expect(unread.model.screening).toBe(false);
    await unread.model.release();

    rmSync(file);
    const missing = await open(TIED, cache.path);
    expect(missing.opened.screen).toBeNull();
    expect(missing.model.screening).toBe(false);
    expect(await run(missing.model, PROMPTS[2] as string)).toBe(expected);
    await missing.model.release();
  });
});

/** The tables file with every float weight set to zero (norms and header kept, checksum made anew). */
function zeroedRows(file: string): Buffer {
  const bytes = readFileSync(file);
  const vocab = bytes.readUInt32LE(12);
  const rowsAt = 32 + 16 * vocab;
  bytes.fill(0, rowsAt, rowsAt + 4 * vocab * bytes.readUInt32LE(16));
  bytes.writeUInt32LE(crc32(bytes.subarray(32)), 24);
  return bytes;
}
