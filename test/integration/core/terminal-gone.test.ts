import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM } from '../../fixtures/models';
import { BUILT_CLI } from '../../helpers/serve-process';
import { tempDir } from '../../helpers/temp-dir';

describe('a core whose terminal went away', () => {
  const home = tempDir();
  afterAll(() => home.remove());

  it('keeps serving when writing to its stdout and stderr fails (EPIPE)', async () => {
    mkdirSync(join(home.path, 'models'), { recursive: true });
    const broken = installFixture(TINY_LM, join(home.path, 'models'), 'test/broken');
    writeFileSync(join(broken, 'onnx/model.onnx'), 'not an ONNX file');
    const child = spawn(process.execPath, [BUILT_CLI, 'serve', '--port', '0', '--data-dir', home.path], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      const url = await new Promise<string>((resolve) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /^Lodge listening on (http:\/\/\S+)$/.exec(line);
          if (match?.[1]) resolve(match[1]);
        });
      });
      // The terminal closes: every later write to stdout or stderr fails.
      child.stdout.destroy();
      child.stderr.destroy();
      // A failed load logs a warning, which goes to stderr.
      const failed = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test/broken', messages: [{ role: 'user', content: 'Hi' }] }),
      });
      expect(((await failed.json()) as { error: { code: string } }).error.code).toBe('model_load_failed');
      for (let attempt = 0; attempt < 3; attempt++) {
        const again = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test/broken', messages: [{ role: 'user', content: 'Hi' }] }),
        });
        expect(again.status).toBe(422);
      }
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
