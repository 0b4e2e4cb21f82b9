// A hostile image host behind an image_url, with allowRemoteImages on: what it answers is the
// client's 400 in OpenAI's shape, never the core's 500.
import { cpSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_VLM, vlmPath } from '../../fixtures/vlm';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

describe('a hostile image host', () => {
  const data = tempDir();
  let core: TestCore;
  let images: Server;
  let origin: string;
  let openai: OpenAI;

  beforeAll(async () => {
    images = createServer((request, response) => {
      if (request.url === '/broken-redirect') response.writeHead(302, { location: 'http://[' }).end();
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    mkdirSync(join(data.path, 'models', 'test'), { recursive: true });
    cpSync(vlmPath(TINY_VLM), join(data.path, 'models', 'test', 'smolvlm'), {
      recursive: true,
      filter: (source) => !source.endsWith('.complete'),
    });
    // The configured hub's origin is the one non-public place images may come from.
    core = await startTestCore({
      dataDir: data.path,
      env: { LODGE_ALLOW_REMOTE_IMAGES: 'true', HF_ENDPOINT: origin },
    });
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    await new Promise((resolve) => images.close(resolve));
    data.remove();
  });

  it('redirecting to a Location that is no URL is a 400 naming the image', async () => {
    await expect(
      openai.chat.completions.create({
        model: 'test/smolvlm',
        max_tokens: 2,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `${origin}/broken-redirect` } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/could not be fetched: it redirects to a Location that is not a URL/),
    });
  });
});
