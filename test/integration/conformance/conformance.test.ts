// Every export shape through Lodge's real forked runner, against transformers.js and a bare
// onnxruntime loop: the greedy text of two chat turns must match, and the second turn must reuse the
// first one's KV cache. A shape that answers differently would answer users with wrong text. The
// runner loads with a cache dir, as the app's do, so a shape whose attention it fuses at load is
// checked as fused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateEvent } from '../../../src/shared/engine';
import type { LoadedInfo } from '../../../src/shared/runner-protocol';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { fixturePath, lmFileName } from '../../fixtures/models';
import { bareGreedy, chatIds, decodeIds, transformersGreedy, type Message } from './reference';
import { SHAPES } from './shapes';

const NEW_TOKENS = 10;
const FIRST: Message = { role: 'user', content: 'Hello there! Tell me about the sea.' };
const SECOND: Message = { role: 'user', content: 'And what about the mountains?' };

async function lodgeTurn(runner: RunnerProcess, messages: readonly Message[]) {
  const events: GenerateEvent[] = [];
  for await (const event of runner.generate({
    prompt: { kind: 'chat', messages: [...messages] },
    maxTokens: NEW_TOKENS,
    stop: [],
    sampling: GREEDY,
  }))
    events.push(event);
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error('the generation did not end with done');
  return {
    text: events.map((event) => (event.type === 'text' ? event.text : '')).join(''),
    stats: done.stats,
  };
}

describe.each(SHAPES)('conformance: $name', ({ spec, transformersJs, fused }) => {
  const dir = fixturePath(spec);
  const modelFile = join(dir, 'onnx', lmFileName(spec));
  const config = JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8')) as {
    eos_token_id: number[];
  };
  const eos = new Set(config.eos_token_id);
  let runner: RunnerProcess;
  let loaded: LoadedInfo;
  const cache = tempDir();
  const lodge: { text: string; cachedTokens: number }[] = [];

  beforeAll(async () => {
    runner = new RunnerProcess('test/conformance', BUILT_RUNNER);
    await runner.ready;
    loaded = await runner.load({
      modelId: 'test/conformance',
      task: 'text-generation',
      dir,
      modelFile,
      providers: ['cpu'],
      threads: 1,
      cacheDir: cache.path,
    });
    const first = await lodgeTurn(runner, [FIRST]);
    const second = await lodgeTurn(runner, [FIRST, { role: 'assistant', content: first.text }, SECOND]);
    lodge.push(
      { text: first.text, cachedTokens: first.stats.cachedTokens },
      { text: second.text, cachedTokens: second.stats.cachedTokens },
    );
  });
  afterAll(async () => {
    await runner.stop();
    cache.remove();
  });

  const turns = () => [
    [FIRST],
    [FIRST, { role: 'assistant' as const, content: lodge[0]?.text ?? '' }, SECOND],
  ];

  it('writes text, and reuses the first turn’s KV cache in the second', () => {
    expect(lodge[0]?.text.length).toBeGreaterThan(0);
    expect(lodge[1]?.cachedTokens).toBeGreaterThan(0);
  });

  it(fused ? 'runs with its attention fused at load' : 'runs its attention as exported', () => {
    if (fused) expect(loaded.fusions).toMatch(/\b2 attentions fused into GroupQueryAttention/);
    else expect(loaded.fusions ?? '').not.toMatch(/attention/);
  });

  it('matches a bare onnxruntime loop (no KV cache) token for token, both turns', async () => {
    for (const [turn, messages] of turns().entries()) {
      const prompt = await chatIds(dir, messages);
      const tokens = await bareGreedy(modelFile, prompt, NEW_TOKENS, eos);
      expect(lodge[turn]?.text, `turn ${turn + 1}`).toBe(await decodeIds(dir, tokens));
    }
  });

  it.runIf(transformersJs)('matches transformers.js token for token, both turns', async () => {
    for (const [turn, messages] of turns().entries()) {
      const prompt = await chatIds(dir, messages);
      const tokens = await transformersGreedy(dir, spec, prompt, NEW_TOKENS);
      expect(lodge[turn]?.text, `turn ${turn + 1}`).toBe(await decodeIds(dir, tokens));
    }
  });
});
