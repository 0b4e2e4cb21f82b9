import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { openSession } from '../../../src/main/runner/onnx/session';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { tempDir } from '../../helpers/temp-dir';

describe('sessions', () => {
  const cache = tempDir();
  afterAll(() => cache.remove());
  const modelFile = join(fixturePath(TINY_LM), 'onnx/model.onnx');

  it('caches the optimized graph, loads it on the second open, and computes the same logits', async () => {
    const first = await LanguageModel.open(fixturePath(TINY_LM), modelFile, {
      providers: ['cpu'],
      threads: 1,
      cacheDir: cache.path,
    });
    expect(first.opened.fromCache).toBe(false);
    expect(readdirSync(cache.path).some((name) => name.endsWith('.onnx'))).toBe(true);
    const second = await LanguageModel.open(fixturePath(TINY_LM), modelFile, {
      providers: ['cpu'],
      threads: 1,
      cacheDir: cache.path,
    });
    expect(second.opened.fromCache).toBe(true);
    const tokens = first.model.tokenizer.encode('Hello there');
    const [a, b] = [(await first.model.prefill(tokens)).logits, (await second.model.prefill(tokens)).logits];
    let worst = 0;
    for (let index = 0; index < a.length; index++)
      worst = Math.max(worst, Math.abs((a[index] as number) - (b[index] as number)));
    expect(worst).toBeLessThan(1e-4);
    await Promise.all([first.model.release(), second.model.release()]);
  });

  it('reports each provider it skipped, with the reason, and runs on the CPU', async () => {
    const opened = await openSession(modelFile, {
      providers: ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'],
      threads: 1,
      cacheDir: null,
    });
    expect(opened.provider).toBe('cpu');
    expect(opened.skipped.map((entry) => entry.provider)).toEqual(['cuda', 'dml', 'coreml', 'webgpu']);
    for (const entry of opened.skipped) expect(entry.reason.length).toBeGreaterThan(10);
    await opened.session.release();
  });

  it('throws for a file that is not ONNX', async () => {
    const broken = join(cache.path, 'broken.onnx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(broken, 'not a model');
    await expect(openSession(broken, { providers: ['cpu'], threads: 1, cacheDir: null })).rejects.toThrow();
    expect(existsSync(broken)).toBe(true);
  });
});
