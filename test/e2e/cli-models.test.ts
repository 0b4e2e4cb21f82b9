import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../fixtures/fake-hub';
import { fixturePath, installFixture, TENSOR_MODEL, TINY_EMBEDDER, TINY_LM } from '../fixtures/models';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { join } from 'node:path';

describe('lodge CLI commands against a running server', () => {
  const home = tempDir();
  let hub: FakeHub;
  let server: ServeProcess;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    hub = await FakeHub.start([
      { id: 'acme/embedder', dir: fixturePath(TINY_EMBEDDER), pipelineTag: 'feature-extraction' },
    ]);
    server = await startServeProcess(['--port', '0'], {
      LODGE_HOME: home.path,
      HF_ENDPOINT: hub.url,
      LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl,
    });
    env = { LODGE_PORT: new URL(server.url).port };
  });
  afterAll(async () => {
    await server.stop();
    await hub.close();
    home.remove();
  });

  it('lists the library', async () => {
    const { code, output } = await runCli(['ls'], env);
    expect(code).toBe(0);
    expect(output).toMatch(/^NAME\s+TASK\s+VARIANTS\s+SIZE\s+STATUS\s+ADDED\s+LAST USED\n/);
    expect(output).toMatch(/test\/tiny-lm\s+text-generation\s+fp32\s+\d+ KB\s+ready\s+/);
  });

  it('answers one prompt, then chats interactively, and lists the loaded model', async () => {
    // Short answers, so a few turns fit the tiny model's 2,048-token context.
    await fetch(`${server.url}/app/models/test/tiny-lm`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ preset: { maxTokens: 20 } }),
    });
    const once = await runCli(['run', 'test/tiny-lm', 'Hello there!'], env);
    expect(once.code, once.output).toBe(0);
    expect(once.output.trim().length).toBeGreaterThan(0);
    const chat = await runCli(['run', 'test/tiny-lm'], env, 'Hello\nHow are you?\n/bye\n');
    expect(chat.code, chat.output).toBe(0);
    expect(chat.output.trim().split('\n').length).toBeGreaterThanOrEqual(2);
    // No spinner and no prompt when the output is not a terminal.
    expect(chat.output).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|>>>/);
    // Just used: "just now", never a future "in 0 seconds".
    expect((await runCli(['ls'], env)).output).toMatch(/test\/tiny-lm\s.*\sjust now\n/);
    const ps = await runCli(['ps'], env);
    expect(ps.output).toMatch(/test\/tiny-lm\s+cpu\s+\d+ (MB|KB)\s+in \d+ minutes?/);
  });

  it('imports, pulls and deletes models', async () => {
    const imported = await runCli(
      ['import', join(fixturePath(TENSOR_MODEL), 'model.onnx'), '--id', 'local/tensors'],
      env,
    );
    expect(imported).toMatchObject({
      code: 0,
      output: expect.stringMatching(/imported local\/tensors \(tensors/),
    });
    const pulled = await runCli(['pull', 'acme/embedder'], env);
    expect(pulled).toMatchObject({ code: 0, output: expect.stringMatching(/pulled acme\/embedder/) });
    expect((await runCli(['ls'], env)).output).toMatch(/acme\/embedder\s+embeddings/);
    expect(await runCli(['rm', 'local/tensors'], env)).toMatchObject({
      code: 0,
      output: expect.stringMatching(/deleted local\/tensors/),
    });
    expect((await runCli(['ls'], env)).output).not.toContain('local/tensors');
  });

  it('deletes a model by alias and by bare name, as lodge run finds it', async () => {
    const tensors = join(fixturePath(TENSOR_MODEL), 'model.onnx');
    for (const id of ['local/by-alias', 'local/bare-one']) {
      expect((await runCli(['import', tensors, '--id', id], env)).code).toBe(0);
    }
    const alias = await fetch(`${server.url}/app/models/local/by-alias`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ alias: 'shorty' }),
    });
    expect(alias.status).toBe(200);
    // Found by its alias, and refused for what it is.
    expect(await runCli(['run', 'shorty', 'Hi'], env)).toMatchObject({
      code: 1,
      output: expect.stringMatching(/local\/by-alias is a model for tensors, not text generation/),
    });
    expect(await runCli(['rm', 'shorty'], env)).toMatchObject({
      code: 0,
      output: expect.stringMatching(/deleted local\/by-alias/),
    });
    expect(await runCli(['rm', 'bare-one'], env)).toMatchObject({
      code: 0,
      output: expect.stringMatching(/deleted local\/bare-one/),
    });
    const left = (await runCli(['ls'], env)).output;
    expect(left).not.toContain('local/by-alias');
    expect(left).not.toContain('local/bare-one');
    expect(await runCli(['rm', 'nothing-here'], env)).toMatchObject({
      code: 1,
      output: expect.stringMatching(/The model 'nothing-here' does not exist\. Available: .*test\/tiny-lm/),
    });
  });

  it('says clearly when the model is unknown, or no server runs', async () => {
    const unknown = await runCli(['run', 'nope/nothing', 'Hi'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/does not exist/);
    const noServer = await runCli(['ls'], { LODGE_PORT: '9' });
    expect(noServer).toMatchObject({
      code: 1,
      output: expect.stringMatching(/Lodge is not running at http:\/\/127\.0\.0\.1:9/),
    });
  });
});
