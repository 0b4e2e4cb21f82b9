// A load prints nothing to the server's terminal: no onnxruntime warning about serializing the
// optimized graph, no Dawn/Vulkan build-tree paths from a WebGPU attempt on a machine without a GPU.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CoreToRunnerMessage, RunnerToCoreMessage } from '../../../src/shared/runner-protocol';
import { BUILT_RUNNER } from '../../helpers/core';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { tempDir } from '../../helpers/temp-dir';

describe('a runner loading a model', () => {
  it('writes nothing to stderr while it tries every provider and caches the optimized graph', async () => {
    const dir = fixturePath(TINY_LM);
    const cache = tempDir();
    const child = fork(BUILT_RUNNER, [], {
      execArgv: ['--no-js-float16array'],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const reply = await new Promise<RunnerToCoreMessage>((resolve) => {
      child.on('message', (message: RunnerToCoreMessage) => {
        if (message.type === 'ready') {
          const load: CoreToRunnerMessage = {
            type: 'load',
            id: 1,
            spec: {
              modelId: 'test/tiny-lm',
              task: 'text-generation',
              dir,
              modelFile: join(dir, 'onnx/model.onnx'),
              providers: ['webgpu', 'cuda', 'cpu'],
              threads: 1,
              cacheDir: cache.path,
            },
          };
          child.send(load);
        } else resolve(message);
      });
    });
    child.send({ type: 'shutdown' } satisfies CoreToRunnerMessage);
    await exited;
    cache.remove();
    expect(reply).toMatchObject({ type: 'result', result: { provider: 'cpu', fromCache: false } });
    expect(stderr).toBe('');
  });
});
