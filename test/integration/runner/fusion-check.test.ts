// The fusions at load (fused-graph.ts), through LanguageModel.open as the runner opens a
// model: the first load fuses, checks the fused graph against the export on a test prompt and
// caches it; the next load takes it from the cache; and a graph the matcher accepts but whose
// attention is not what GroupQueryAttention computes (here: a mask that lets each query see the
// keys after it, not before) runs as exported, with the cache remembering not to fuse it again.
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { quantizeOptions } from '../../../src/main/runner/onnx/fast-matmul';
import { NO_FUSION } from '../../../src/main/runner/onnx/fused-graph';
import { fixturePath, SMALL_LM, TINY_LM_EXTERNAL, WIDE_LLAMA_LM } from '../../fixtures/models';
import { tempDir } from '../../helpers/temp-dir';

const SPEC = SMALL_LM;
const scratch = tempDir();
afterAll(() => scratch.remove());

const open = (dir: string, cacheDir: string | null) =>
  LanguageModel.open(dir, join(dir, 'onnx/model.onnx'), {
    providers: ['cpu'],
    threads: 1,
    cacheDir,
    fuse: true,
  });

async function greedy(model: LanguageModel, count: number): Promise<number[]> {
  const tokens = model.tokenizer.encode('Tell me about the sea.');
  let { logits } = await model.prefill(tokens);
  const out: number[] = [];
  for (let step = 0; step < count; step++) {
    let best = 0;
    for (let at = 1; at < logits.length; at++)
      if ((logits[at] as number) > (logits[best] as number)) best = at;
    out.push(best);
    tokens.push(best);
    ({ logits } = await model.prefill(tokens));
  }
  return out;
}

describe('attention fused at load', () => {
  it('fuses once, checks, caches, and answers as the export does', async () => {
    const dir = fixturePath(SPEC);
    const cache = join(scratch.path, 'cache');
    const first = await open(dir, cache);
    expect(first.opened.fusion).toMatchObject({ attention: 2, logits: 1 });
    expect(first.opened.fromCache).toBe(false);
    const second = await open(dir, cache);
    expect(second.opened.fusion).toEqual(first.opened.fusion);
    expect(second.opened.fromCache).toBe(true);
    const exported = await open(dir, null);
    expect(exported.opened.fusion).toBeNull();
    expect(await greedy(second.model, 6)).toEqual(await greedy(exported.model, 6));
    // The head computes the last position only unless asked for all (num_logits_to_keep 0).
    const tokens = second.model.tokenizer.encode('Tell me about the sea.');
    const all = await second.model.logitsOfAll(tokens);
    const expected = await exported.model.logitsOfAll(tokens);
    expect(all).toHaveLength(tokens.length);
    for (const [row, values] of all.entries())
      for (const [at, value] of values.entries()) expect(value).toBeCloseTo(expected[row]?.[at] as number, 3);
    for (const { opened } of [first, second, exported]) await opened.session.release();
  });

  it('fuses the quantization at load too, and answers as the unfused quantization does', async () => {
    const dir = fixturePath(SPEC);
    const cache = join(scratch.path, 'cache-q8');
    const options = {
      providers: ['cpu'] as const,
      threads: 1,
      cacheDir: cache,
      fastMatMuls: quantizeOptions('q8'),
    };
    const file = join(dir, 'onnx/model.onnx');
    const fused = await LanguageModel.open(dir, file, { ...options, providers: ['cpu'], fuse: true });
    expect(fused.opened.rewritten).toBe(true);
    expect(fused.opened.rewriteSummary).toMatch(/quantized/);
    expect(fused.opened.fusion).toMatchObject({ attention: 2 });
    const plain = await LanguageModel.open(dir, file, { ...options, providers: ['cpu'], fuse: false });
    expect(plain.opened.fusion).toBeNull();
    expect(await greedy(fused.model, 6)).toEqual(await greedy(plain.model, 6));
    for (const { opened } of [fused, plain]) await opened.session.release();
  });

  it('fuses an export whose weights are in a data file beside it, reading them where they are', async () => {
    const dir = fixturePath(TINY_LM_EXTERNAL);
    const before = readdirSync(join(dir, 'onnx')).sort();
    expect(before.some((name) => name.includes('_data'))).toBe(true);
    const fused = await open(dir, join(scratch.path, 'cache-external'));
    expect(fused.opened.fusion).toMatchObject({ attention: TINY_LM_EXTERNAL.layers });
    expect(readdirSync(join(dir, 'onnx')).sort()).toEqual(before);
    const exported = await open(dir, null);
    expect(await greedy(fused.model, 6)).toEqual(await greedy(exported.model, 6));
    for (const { opened } of [fused, exported]) await opened.session.release();
  });

  it('fuses a 4-bit quantization at load whose int8 activations round the two graphs apart', async () => {
    // On this model the quantization's fused and unfused logits differ by about 1% of their scale
    // (a row's int8 rounding moves with its last ulp); with float activations they agree to 1e-6.
    const dir = fixturePath(WIDE_LLAMA_LM);
    const file = join(dir, 'onnx/model.onnx');
    const options = {
      providers: ['cpu'] as const,
      threads: 1,
      cacheDir: join(scratch.path, 'cache-wide-q4'),
      fastMatMuls: quantizeOptions('q4'),
    };
    const fused = await LanguageModel.open(dir, file, { ...options, providers: ['cpu'], fuse: true });
    expect(fused.opened.rewritten).toBe(true);
    expect(fused.opened.fusion).toMatchObject({ attention: WIDE_LLAMA_LM.layers });
    const plain = await LanguageModel.open(dir, file, { ...options, providers: ['cpu'], fuse: false });
    const tokens = plain.model.tokenizer.encode('Tell me about the sea.');
    const ours = (await fused.model.prefill(tokens)).logits;
    const theirs = (await plain.model.prefill(tokens)).logits;
    let scale = 1;
    let largest = 0;
    for (const [at, value] of theirs.entries()) {
      scale = Math.max(scale, Math.abs(value));
      largest = Math.max(largest, Math.abs(value - (ours[at] as number)));
    }
    expect(largest).toBeGreaterThan(0);
    expect(largest / scale).toBeLessThan(0.05);
    for (const { opened } of [fused, plain]) await opened.session.release();
  });

  it('runs a graph whose fusion would change its answers as exported, and does not fuse it again', async () => {
    const dir = notCausal('not-causal');
    const cache = join(scratch.path, 'cache-not-causal');
    const first = await open(dir, cache);
    expect(first.opened.fusion).toBeNull();
    const reports = readdirSync(cache).filter((name) => name.endsWith('.json'));
    expect(reports.map((name) => JSON.parse(readFileSync(join(cache, name), 'utf8')))).toContainEqual(
      NO_FUSION,
    );
    const second = await open(dir, cache);
    expect(second.opened.fusion).toBeNull();
    const exported = await open(dir, null);
    expect(await greedy(second.model, 6)).toEqual(await greedy(exported.model, 6));
    for (const { opened } of [first, second, exported]) await opened.session.release();
  });

  it('refuses that fusion under a 4-bit quantization at load too, where float activations are compared', async () => {
    const dir = notCausal('not-causal-q4');
    const loaded = await LanguageModel.open(dir, join(dir, 'onnx/model.onnx'), {
      providers: ['cpu'],
      threads: 1,
      cacheDir: join(scratch.path, 'cache-not-causal-q4'),
      fastMatMuls: quantizeOptions('q4'),
      fuse: true,
    });
    expect(loaded.opened.rewritten).toBe(true);
    expect(loaded.opened.fusion).toBeNull();
    await loaded.opened.session.release();
  });
});

/** A copy of SPEC's model whose mask lets each query see itself and the keys after it, not before. */
function notCausal(name: string): string {
  const dir = join(scratch.path, name);
  cpSync(fixturePath(SPEC), dir, { recursive: true });
  const file = join(dir, 'onnx/model.onnx');
  const model = onnx.ModelProto.decode(readFileSync(file));
  const causal = model.graph?.node?.find((node) => node.opType === 'LessOrEqual') as onnx.INodeProto;
  causal.opType = 'GreaterOrEqual';
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return dir;
}
