// Quantization at load as a user turns it on: the `quantize` setting (here LODGE_QUANTIZE) and a
// model's preset decide whether its runner rewrites the fp32 graph into integer MatMul blocks; the
// rewritten graph lives in the data directory's cache, the model's own folder is left as it was,
// the running list says what runs, and the model answers through the OpenAI SDK.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM, type LanguageModelSpec } from '../../fixtures/models';

// A llama-shaped LM (untied head, rotary positions) whose every matrix has K a multiple of 32.
const LLAMA: LanguageModelSpec = { ...TINY_LM, hidden: 64, ffn: 128, rotary: { theta: 10_000 }, seed: 41 };

/** Every file under `dir` with its size and modification time, to show a folder was not touched. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const stat = statSync(path);
    files[path] = `${stat.size}:${stat.mtimeMs}`;
  }
  return files;
}

/** The op types of the graph in `file`, with how often each occurs. */
function opCounts(file: string): Map<string, number> {
  const model = onnx.ModelProto.decode(readFileSync(file));
  const counts = new Map<string, number>();
  for (const node of model.graph?.node ?? [])
    counts.set(node.opType ?? '', (counts.get(node.opType ?? '') ?? 0) + 1);
  return counts;
}

describe('quantization at load', () => {
  let core: TestCore;
  let client: OpenAI;
  let before: Record<string, string>;
  beforeAll(async () => {
    core = await startTestCore({
      models: {
        'test/fast': LLAMA,
        'test/exact': { ...LLAMA, seed: 43 },
        // Every matrix has K = 48 or 80, no whole number of blocks of 32: nothing to quantize.
        'test/odd': { ...TINY_LM, hidden: 48, ffn: 80, seed: 47 },
      },
      env: { LODGE_QUANTIZE: 'q8' },
    });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    before = snapshot(join(core.dataDir, 'models'));
    // The preset wins over the setting: this one runs as exported.
    const patched = await fetch(`${core.url}/app/models/test/exact`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ preset: { quantize: 'off' } }),
    });
    expect(patched.status).toBe(200);
  });
  afterAll(async () => {
    await core.dispose();
  });

  async function answer(model: string): Promise<string> {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Tell me about the sea.' }],
      max_tokens: 12,
      temperature: 0,
    });
    return completion.choices[0]?.message.content ?? '';
  }

  async function runners(): Promise<{ id: string; quantized: unknown; quantizeNote: unknown }[]> {
    const response = await fetch(`${core.url}/app/runners`);
    return (
      (await response.json()) as { models: { id: string; quantized: unknown; quantizeNote: unknown }[] }
    ).models;
  }

  async function running(): Promise<Record<string, unknown>> {
    return Object.fromEntries((await runners()).map((model) => [model.id, model.quantized]));
  }

  it('runs a model quantized to 8 bits when the setting says so, from a graph in the cache', async () => {
    expect((await answer('test/fast')).length).toBeGreaterThan(0);
    expect((await running())['test/fast']).toBe('q8');
    const cache = join(core.dataDir, 'cache');
    const rewritten = readdirSync(cache).filter((name) => name.endsWith('.nbits.onnx'));
    expect(rewritten).toHaveLength(1);
    const ops = opCounts(join(cache, rewritten[0] as string));
    // Four projections and three MLP matrices per layer, and the LM head.
    expect(ops.get('MatMulNBits')).toBe(TINY_LM.layers * 7 + 1);
    expect(ops.get('MatMul') ?? 0).toBeLessThan(TINY_LM.layers * 2 + 1);
  });

  it('tells Ollama clients the blocks a model quantized at load runs with', async () => {
    const ollama = new Ollama({ host: core.url });
    const { models } = await ollama.ps();
    const levels = Object.fromEntries(models.map((model) => [model.name, model.details.quantization_level]));
    expect(levels['test/fast:latest']).toBe('Q8_0');
  });

  it("runs a model as exported when its preset turns quantization off, and leaves every model's folder alone", async () => {
    expect((await answer('test/exact')).length).toBeGreaterThan(0);
    expect(await running()).toMatchObject({ 'test/fast': 'q8', 'test/exact': null });
    const cache = join(core.dataDir, 'cache');
    expect(readdirSync(cache).filter((name) => name.endsWith('.nbits.onnx'))).toHaveLength(1);
    expect(snapshot(join(core.dataDir, 'models'))).toEqual(before);
  });

  it('says why a model asked to quantize runs as exported when its graph has nothing to quantize', async () => {
    expect((await answer('test/odd')).length).toBeGreaterThan(0);
    const odd = (await runners()).find((model) => model.id === 'test/odd');
    expect(odd).toMatchObject({
      quantized: null,
      quantizeNote: expect.stringMatching(
        /^nothing in its graph could be quantized \(fast MatMuls: 0 quantized.*K not a multiple of 32/,
      ),
    });
  });
});
