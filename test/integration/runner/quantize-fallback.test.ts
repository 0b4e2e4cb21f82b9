// Quantization at load in a real forked runner, when the quantized graph in the cache is damaged:
// the model still loads, as exported, and the load says why.
import { readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { GREEDY } from '../../../src/shared/engine';
import { fixturePath, TINY_LM, type LanguageModelSpec } from '../../fixtures/models';
import { BUILT_RUNNER } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const LLAMA: LanguageModelSpec = { ...TINY_LM, hidden: 64, ffn: 128, rotary: { theta: 10_000 }, seed: 53 };

const runners: RunnerProcess[] = [];
const dirs: { remove: () => void }[] = [];
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  for (const dir of dirs.splice(0)) dir.remove();
});

async function load(cacheDir: string) {
  const dir = fixturePath(LLAMA);
  const runner = new RunnerProcess('test/q8', BUILT_RUNNER);
  runners.push(runner);
  await runner.ready;
  const info = await runner.load({
    modelId: 'test/q8',
    task: 'text-generation',
    dir,
    modelFile: join(dir, 'onnx/model.onnx'),
    providers: ['cpu'],
    threads: 1,
    cacheDir,
    quantize: 'q8',
  });
  return { runner, info };
}

describe('quantization at load with a damaged cache', () => {
  it('runs the export and says why when the quantized graph in the cache no longer loads, then makes it again', async () => {
    const cache = tempDir();
    dirs.push(cache);
    const first = await load(cache.path);
    expect(first.info).toMatchObject({ quantized: 'q8' });
    expect(first.info.quantizeSummary).toMatch(/^fast MatMuls: \d+ quantized/);
    await first.runner.stop();

    // Every weight file in the cache: the quantized graph's and onnxruntime's optimized copy of it.
    const data = readdirSync(cache.path).filter((name) => name.endsWith('.data'));
    expect(data.some((name) => name.endsWith('.nbits.onnx.data'))).toBe(true);
    for (const name of data) truncateSync(join(cache.path, name), 100);

    const { runner, info } = await load(cache.path);
    expect(info.quantized).toBeUndefined();
    expect(info.quantizeNote).toMatch(/^its quantized graph did not load \(.+\), so it runs as exported$/);
    expect(info.quantizeNote).not.toContain(cache.path);
    let text = '';
    for await (const event of runner.generate({
      prompt: { kind: 'text', text: 'Hello' },
      maxTokens: 4,
      stop: [],
      sampling: GREEDY,
      ignoreEos: true,
    }))
      if (event.type === 'text') text += event.text;
    expect(text.length).toBeGreaterThan(0);
    await runner.stop();

    // The damaged copy is gone: the next load quantizes afresh.
    expect((await load(cache.path)).info).toMatchObject({ quantized: 'q8' });
  });
});
