import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { installFixture, TINY_LM } from '../../fixtures/models';

describe('/api/ps describes the variant that is loaded', () => {
  const dir = tempDir();
  let core: TestCore;
  beforeAll(async () => {
    // Two variants: on a CPU a request that names none loads q4; this one asks for fp32.
    const folder = installFixture(TINY_LM, join(dir.path, 'models'), 'test/two');
    copyFileSync(join(folder, 'onnx/model.onnx'), join(folder, 'onnx/model_q4.onnx'));
    core = await startTestCore({ dataDir: dir.path });
  });
  afterAll(async () => {
    await core.dispose();
    dir.remove();
  });

  it('reports the loaded fp32, not the q4 a bare name would load', async () => {
    const ollama = new Ollama({ host: core.url });
    expect((await ollama.list()).models[0]?.details.quantization_level).toBe('Q4');
    await ollama.generate({ model: 'test/two:fp32', prompt: 'Hi', options: { num_predict: 1 } });
    const { models } = await ollama.ps();
    expect(models).toHaveLength(1);
    expect(models[0]?.details.quantization_level).toBe('FP32');
  });
});
