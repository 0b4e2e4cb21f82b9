import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTritonConfig } from '../../../src/main/core/export/triton-schema';
import { TENSOR_MODEL, TINY_EMBEDDER } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { runCli } from '../../helpers/serve-process';
import { tempDir } from '../../helpers/temp-dir';

describe('lodge export', () => {
  let core: TestCore;
  let env: NodeJS.ProcessEnv;
  const out = tempDir('lodge-cli-export-');
  beforeAll(async () => {
    core = await startTestCore({ models: { 'local/tensors': TENSOR_MODEL, 'test/embedder': TINY_EMBEDDER } });
    env = { LODGE_PORT: new URL(core.url).port, LODGE_HOME: core.dataDir };
  });
  afterAll(async () => {
    await core.dispose();
    out.remove();
  }, 60_000);

  it('writes the repository and the manifest, and says where', async () => {
    const repo = join(out.path, 'repo');
    const { code, output } = await runCli(
      ['export', 'embedder', '--triton', repo, '--gpu', '--instances', '3', '--max-batch', '4'],
      env,
    );
    expect(code, output).toBe(0);
    expect(output).toContain('exported test/embedder as Triton model test_embedder');
    expect(output).toContain(join(repo, 'test_embedder/config.pbtxt'));
    expect(output).toContain(join(repo, 'test_embedder.kserve.yaml'));
    expect(output).toContain('batching: up to 4 per batch, dynamic batching on');
    const config = parseTritonConfig(readFileSync(join(repo, 'test_embedder/config.pbtxt'), 'utf8'));
    expect(config).toMatchObject({
      name: 'test_embedder',
      max_batch_size: 4,
      instance_group: [{ kind: 'KIND_GPU', count: 3 }],
    });
    expect(existsSync(join(repo, 'test_embedder/1/model.onnx'))).toBe(true);
  }, 60_000);

  it('replaces an earlier export only with --force, under the name given', async () => {
    const repo = join(out.path, 'named');
    const args = ['export', 'local/tensors', '--triton', repo, '--name', 'tensors'];
    expect((await runCli(args, env)).code).toBe(0);
    const again = await runCli(args, env);
    expect(again.code).not.toBe(0);
    expect(again.output).toMatch(
      /already holds a model named tensors; export with overwrite \(lodge export --force\)/,
    );
    const forced = await runCli([...args, '--force'], env);
    expect(forced.code, forced.output).toBe(0);
    expect(forced.output).toContain('batching: off (max_batch_size 0');
  }, 60_000);

  it('says what is missing or wrong in words', async () => {
    const noDir = await runCli(['export', 'local/tensors'], env);
    expect(noDir.code).not.toBe(0);
    expect(noDir.output).toContain('lodge export needs --triton DIR');
    const noModel = await runCli(['export', '--triton', out.path], env);
    expect(noModel.output).toContain('lodge export needs a model');
    const badCount = await runCli(['export', 'local/tensors', '--triton', out.path, '--instances', '0'], env);
    expect(badCount.output).toContain('--instances takes a whole number of at least 1.');
    const unknown = await runCli(['export', 'nothing-here', '--triton', out.path], env);
    expect(unknown.output).toContain("The model 'nothing-here' does not exist.");
    for (const result of [noDir, noModel, badCount, unknown]) expect(result.output).not.toMatch(/\n\s+at /);
  }, 60_000);
});
