import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { installFixture, TINY_LM } from '../../fixtures/models';

// A chat template is code that a model folder (and so a hub) brings. One that loops for ever must
// not hold its runner, and the requests queued behind it, at 100% CPU: it is stopped and refused.
describe("a model's chat template cannot hang its runner", () => {
  const dir = tempDir();
  let core: TestCore;
  beforeAll(async () => {
    const models = join(dir.path, 'models');
    installFixture(TINY_LM, models, 'test/tiny-lm');
    const bomb = installFixture(TINY_LM, models, 'test/bomb');
    const config = JSON.parse(readFileSync(join(bomb, 'tokenizer_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    config.chat_template =
      '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}{{ messages[0].content }}';
    writeFileSync(join(bomb, 'tokenizer_config.json'), JSON.stringify(config));
    core = await startTestCore({ dataDir: dir.path });
  });
  afterAll(async () => {
    await core.dispose();
    dir.remove();
  });

  const chat = (model: string) =>
    fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
    });

  it('refuses the request in words, frees the runner, and the runner serves on', async () => {
    const refused = await chat('test/bomb');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: {
        code: 'invalid_request',
        message: expect.stringMatching(/chat template did not finish rendering/),
      },
    });
    const runners = (await (await fetch(`${core.url}/app/runners`)).json()) as {
      models: { id: string; busy: boolean; pid: number }[];
    };
    const runner = runners.models.find((model) => model.id === 'test/bomb');
    expect(runner?.busy).toBe(false);
    // The same runner (its worker replaced) still answers what it can, and other models are untouched.
    expect((await chat('test/tiny-lm')).status).toBe(200);
    expect(runner?.pid).toBeGreaterThan(0);
    process.kill(runner?.pid as number, 0);
  });
});
