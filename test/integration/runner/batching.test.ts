import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateEvent, type GenerateRequest } from '../../../src/shared/engine';
import { generate } from '../../../src/main/runner/llm/generate';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { fixturePath, lmFileName, TINY_LM, type LanguageModelSpec } from '../../fixtures/models';
import { tempDir } from '../../helpers/temp-dir';

const GQA_LM: LanguageModelSpec = { ...TINY_LM, gqa: true, seed: 23 };
const cache = tempDir();
afterAll(() => cache.remove());

/** The model of `spec`; `fused`: as the runner loads it, with a cache dir, its attention fused. */
async function open(spec: LanguageModelSpec, parallel: number, fused = false) {
  const dir = fixturePath(spec);
  const opened = await LanguageModel.open(
    dir,
    join(dir, 'onnx', lmFileName(spec)),
    { providers: ['cpu'], threads: 1, cacheDir: fused ? cache.path : null, fuse: fused },
    'test/batch',
    parallel,
  );
  if (fused) expect(opened.opened.fusion?.attention).toBeGreaterThan(0);
  return opened.model;
}

async function run(model: LanguageModel, text: string, extra: Partial<GenerateRequest> = {}) {
  return texts(await events(model, text, extra));
}

function texts(events: readonly GenerateEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

async function events(model: LanguageModel, text: string, extra: Partial<GenerateRequest> = {}) {
  const events: GenerateEvent[] = [];
  for await (const event of generate(
    model,
    { prompt: { kind: 'text', text }, maxTokens: 24, stop: [], sampling: GREEDY, ignoreEos: true, ...extra },
    'test/batch',
    new AbortController().signal,
  ))
    events.push(event);
  return events;
}

// Prompts of different lengths, so the batch pads.
const PROMPTS = [
  'Hi',
  'The quick brown fox jumps',
  'Once upon a time, in a land far away, there lived',
  'a b c',
  'Lodge hosts models on your own machine and serves them',
  'Tell me a story about the sea',
  'x',
  'What is the capital of France? The capital of France is',
];

describe.each([
  ['tiny LM (attention mask and position ids)', TINY_LM, 'left', false],
  ['GroupQueryAttention LM (seqlens_k)', GQA_LM, 'right', false],
  ['tiny LM with its attention fused at load (the mask as a bias)', TINY_LM, 'left', true],
] as const)('continuous batching on the %s', (_, spec, layout, fused) => {
  let solo: LanguageModel;
  let batched: LanguageModel;
  beforeAll(async () => {
    solo = await open(spec, 1);
    batched = await open(spec, 8, fused);
  });
  afterAll(async () => {
    await solo.release();
    await batched.release();
  });

  it('batches, and eight concurrent greedy sequences each write what they write alone', async () => {
    expect(batched.batching).toEqual({ parallel: 8, layout, reason: null });
    const alone: string[] = [];
    for (const prompt of PROMPTS) alone.push(await run(solo, prompt));
    const before = batched.batchStats;
    const together = await Promise.all(PROMPTS.map((prompt) => run(batched, prompt)));
    expect(together).toEqual(alone);
    expect(batched.batchStats.batchedSteps).toBeGreaterThan(before.batchedSteps);
    // Prompts that arrive together are read in one padded run where padding is a mask.
    expect(batched.batchStats.batchedPrefills > before.batchedPrefills).toBe(layout === 'left');
  });
});

describe('batched prompts on a graph whose attention is fused at load', () => {
  let solo: LanguageModel;
  let batched: LanguageModel;
  beforeAll(async () => {
    solo = await open(TINY_LM, 1);
    batched = await open(TINY_LM, 8, true);
  });
  afterAll(async () => {
    await solo.release();
    await batched.release();
  });

  // GroupQueryAttention reads several new tokens after a cache in batches of one only: prompts
  // are read together from empty caches, and a short cached prefix is read again to join them.
  it('reads a prompt that shares a short cached prefix again, with the others', async () => {
    batched.clearCache();
    solo.clearCache();
    await run(batched, 'Hello there');
    // The first shares "Hello there" with the sequence cached above: without reading it again, it
    // would run alone and the other after it.
    const prompts = ['Hello there, my friend', 'The quick brown fox jumps'];
    const alone: string[] = [];
    for (const prompt of prompts) alone.push(await run(solo, prompt));
    const before = batched.batchStats.batchedPrefills;
    expect(await Promise.all(prompts.map((prompt) => run(batched, prompt)))).toEqual(alone);
    expect(batched.batchStats.batchedPrefills).toBeGreaterThan(before);
  });
});

describe('continuous batching keeps each sequence its own', () => {
  let solo: LanguageModel;
  let batched: LanguageModel;
  beforeAll(async () => {
    solo = await open(TINY_LM, 1);
    batched = await open(TINY_LM, 8);
  });
  afterAll(async () => {
    await solo.release();
    await batched.release();
  });

  it('sampling seed, stop strings, logprobs and penalties of each sequence are its own in a batch', async () => {
    const requests: [string, Partial<GenerateRequest>][] = [
      ['Once upon a time', { sampling: { ...GREEDY, temperature: 1.1, topK: 40, topP: 0.9, seed: 7 } }],
      ['The quick brown fox', { logprobs: 3 }],
      ['Tell me a story', { sampling: { ...GREEDY, repetitionPenalty: 1.3, repeatLastN: 64 } }],
      ['a b c d e f', { sampling: { ...GREEDY, presencePenalty: 0.8, frequencyPenalty: 0.5 } }],
    ];
    const alone = [];
    for (const [text, extra] of requests) alone.push(strip(await events(solo, text, extra)));
    // A stop string taken from the greedy answer, so it is met.
    const greedy = texts(alone[1] ?? []);
    const stop = greedy.slice(4, 6);
    requests.push(['The quick brown fox', { stop: [stop] }]);
    solo.clearCache();
    alone.push(strip(await events(solo, 'The quick brown fox', { stop: [stop] })));
    expect(texts(alone[4] ?? [])).toBe(greedy.slice(0, greedy.indexOf(stop)));

    const together = await Promise.all(requests.map(([text, extra]) => events(batched, text, extra)));
    expect(together.map(strip)).toEqual(alone);
  });

  it('a long prompt is read in chunks while running sequences keep decoding', async () => {
    const order: string[] = [];
    const consume = async (name: string, text: string, extra: Partial<GenerateRequest>) => {
      for await (const event of generate(
        batched,
        { prompt: { kind: 'text', text }, stop: [], sampling: GREEDY, ignoreEos: true, ...extra },
        'test/batch',
        new AbortController().signal,
      ))
        if (event.type === 'text') order.push(name);
    };
    batched.clearCache();
    const running = consume('short', 'Hi', { maxTokens: 400 });
    // Let the short one start decoding first.
    for (let turn = 0; order.length < 2 && turn < 100_000; turn++)
      await new Promise((resolve) => setImmediate(resolve));
    const long = consume('long', 'the sea and the sky '.repeat(60), { maxTokens: 1 });
    await Promise.all([running, long]);
    const firstLong = order.indexOf('long');
    // Its prompt is several chunks long; the short one got steps between them.
    expect(order.slice(2, firstLong).filter((name) => name === 'short').length).toBeGreaterThanOrEqual(3);
  });

  it('a sequence continuing a conversation reuses its cached prefix after a batch', async () => {
    batched.clearCache();
    const first = ['Hello there!', 'What a fine day it is, is it not?', 'Tell me about boats.'];
    const answers = await Promise.all(first.map((text) => run(batched, text)));
    const next = await Promise.all(
      first.map((text, index) => events(batched, `${text}${answers[index]} And then?`)),
    );
    for (const [index, text] of first.entries()) {
      const done = next[index]?.at(-1);
      if (done?.type !== 'done') throw new Error('no done event');
      const prompt = batched.tokenizer.encode(text + (answers[index] ?? '')).length;
      expect(done.stats.cachedTokens).toBeGreaterThanOrEqual(prompt - 2);
    }
  });
});

/** Events without timings, which differ from run to run. */
function strip(events: readonly GenerateEvent[]) {
  return events.map((event) =>
    event.type === 'done'
      ? {
          ...event,
          stats: { ...event.stats, prefillMs: 0, decodeMs: 0, timeToFirstTokenMs: 0, cachedTokens: 0 },
        }
      : event,
  );
}
