import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_VLM, vlmPath } from '../../fixtures/vlm';
import { testImage } from '../../fixtures/vlm-image';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

// Two real cores on loopback: `far` holds a vision-language model, `near` adds far as the remote
// engine `lab`. An image sent to lab/<model> through near must reach far's model as the same image.
describe('a chat image sent to a remote vision-language model', () => {
  const farData = tempDir();
  let near: TestCore;
  let far: TestCore;
  let image: Buffer;

  beforeAll(async () => {
    const models = join(farData.path, 'models');
    mkdirSync(join(models, 'test'), { recursive: true });
    cpSync(vlmPath(TINY_VLM), join(models, 'test', 'smolvlm'), {
      recursive: true,
      filter: (source) => !source.endsWith('.complete'),
    });
    image = await testImage(80, 50, 1);
    [near, far] = await Promise.all([startTestCore(), startTestCore({ dataDir: farData.path })]);
    const added = await fetch(`${near.url}/app/engines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lab', baseUrl: far.url }),
    });
    expect(added.status, await added.text()).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([near.dispose(), far.dispose()]);
    farData.remove();
  });

  it('is answered by the remote as it answers the same image sent to it directly', async () => {
    const ask = (core: TestCore, model: string) =>
      new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({
        model,
        temperature: 0,
        max_tokens: 8,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${image.toString('base64')}` } },
              { type: 'text', text: 'What is in this picture?' },
            ],
          },
        ],
      });
    const direct = await ask(far, 'test/smolvlm');
    const routed = await ask(near, 'lab/test/smolvlm');
    // Without the image, the prompt is the text's tokens alone: far fewer than with the image's.
    expect(routed.usage?.prompt_tokens).toBe(direct.usage?.prompt_tokens);
    expect(routed.choices[0]?.message.content).toBe(direct.choices[0]?.message.content);
  });
});
