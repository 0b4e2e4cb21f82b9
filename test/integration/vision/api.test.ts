// Chat with images through every API family, with each family's real client against a real core:
// the generated SmolVLM answers what transformers.js generates for the same image and question,
// and every image a client gets wrong is a 400 in the family's error shape that says why.
import Anthropic from '@anthropic-ai/sdk';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { installFixture, TINY_LM } from '../../fixtures/models';
import { TINY_VLM, vlmPath } from '../../fixtures/vlm';
import { testImage } from '../../fixtures/vlm-image';
import { transformersVisionGreedy } from './reference';
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const NEW_TOKENS = 8;
const QUESTION = 'What is in this picture?';
const VLM = 'test/smolvlm';

describe('images into chat through the API families', () => {
  const data = tempDir();
  let core: TestCore;
  let image: Buffer;
  let expected: string;
  let openai: OpenAI;
  const dataUrl = () => `data:image/png;base64,${image.toString('base64')}`;

  beforeAll(async () => {
    const models = join(data.path, 'models');
    mkdirSync(join(models, 'test'), { recursive: true });
    const dir = vlmPath(TINY_VLM);
    cpSync(dir, join(models, 'test', 'smolvlm'), {
      recursive: true,
      filter: (source) => !source.endsWith('.complete'),
    });
    installFixture(TINY_LM, models, 'test/tiny-lm');
    image = await testImage(80, 50, 1);
    const ids = await transformersVisionGreedy(
      dir,
      [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: QUESTION }] }],
      [image],
      NEW_TOKENS,
    );
    const tokenizer = new Tokenizer(
      JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as object,
      JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as object,
    );
    expected = tokenizer.decode(ids, { skip_special_tokens: true });
    core = await startTestCore({ dataDir: data.path });
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    data.remove();
  });

  it('lists the folder as a vision-language model', async () => {
    const listed = (await (await fetch(`${core.url}/app/models`)).json()) as {
      models: { id: string; task: string }[];
    };
    expect(listed.models.find((model) => model.id === VLM)?.task).toBe('image-text-to-text');
  });

  it('answers an OpenAI image_url data URL with the greedy text transformers.js writes, streamed or not', async () => {
    expect(expected.length).toBeGreaterThan(0);
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: dataUrl() } },
          { type: 'text', text: QUESTION },
        ],
      },
    ];
    const answer = await openai.chat.completions.create({
      model: VLM,
      messages,
      temperature: 0,
      max_tokens: NEW_TOKENS,
    });
    expect(answer.choices[0]?.message.content).toBe(expected);
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(7 * 4);
    const stream = await openai.chat.completions.create({
      model: VLM,
      messages,
      temperature: 0,
      max_tokens: NEW_TOKENS,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(expected);
  });

  it('chats without an image too, as transformers.js does for text alone', async () => {
    const ids = await transformersVisionGreedy(
      vlmPath(TINY_VLM),
      [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
      [],
      NEW_TOKENS,
    );
    const answer = await openai.chat.completions.create({
      model: VLM,
      messages: [{ role: 'user', content: QUESTION }],
      temperature: 0,
      max_tokens: NEW_TOKENS,
    });
    const tokenizer = new Tokenizer(
      JSON.parse(readFileSync(join(vlmPath(TINY_VLM), 'tokenizer.json'), 'utf8')) as object,
      JSON.parse(readFileSync(join(vlmPath(TINY_VLM), 'tokenizer_config.json'), 'utf8')) as object,
    );
    expect(answer.choices[0]?.message.content).toBe(tokenizer.decode(ids, { skip_special_tokens: true }));
  });

  it('answers Ollama images in /api/chat and /api/generate', async () => {
    const ollama = new Ollama({ host: core.url });
    const base64 = image.toString('base64');
    const chat = await ollama.chat({
      model: VLM,
      messages: [{ role: 'user', content: QUESTION, images: [base64] }],
      options: { temperature: 0, num_predict: NEW_TOKENS },
    });
    expect(chat.message.content).toBe(expected);
    const generated = await ollama.generate({
      model: VLM,
      prompt: QUESTION,
      images: [base64],
      options: { temperature: 0, num_predict: NEW_TOKENS },
    });
    expect(generated.response).toBe(expected);
  });

  it('answers an Anthropic image block', async () => {
    const anthropic = new Anthropic({ baseURL: core.url, apiKey: 'unused', maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: VLM,
      max_tokens: NEW_TOKENS,
      // Greedy; this SDK's types no longer carry temperature.
      ...{ temperature: 0 },
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'image',
              source: { type: 'base64', media_type: 'image/png', data: image.toString('base64') },
            },
            { type: 'text', text: QUESTION },
          ],
        },
      ],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: expected });
    // Counting tokens sees the image's tokens, as the answer's usage does.
    const counted = await anthropic.messages.countTokens({
      model: VLM,
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'image',
              source: { type: 'base64', media_type: 'image/png', data: image.toString('base64') },
            },
            { type: 'text', text: QUESTION },
          ],
        },
      ],
    });
    // Anthropic's input_tokens leaves out what was read from the cache.
    expect(counted.input_tokens).toBe(
      message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0),
    );
    expect(counted.input_tokens).toBeGreaterThan(7 * 4);
  });

  it('answers a Responses input_image', async () => {
    const response = await openai.responses.create({
      model: VLM,
      temperature: 0,
      max_output_tokens: NEW_TOKENS,
      store: false,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_image', image_url: dataUrl(), detail: 'auto' },
            { type: 'input_text', text: QUESTION },
          ],
        },
      ],
    });
    expect(response.output_text).toBe(expected);
  });

  it('refuses images a text-only model cannot see, naming the model', async () => {
    const failure = openai.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl() } }] }],
    });
    await expect(failure).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(failure).rejects.toMatchObject({
      message: expect.stringMatching(/test\/tiny-lm .*takes text only/),
    });
    const ollama = new Ollama({ host: core.url });
    await expect(
      ollama.chat({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi', images: [image.toString('base64')] }],
      }),
    ).rejects.toMatchObject({
      status_code: 400,
      error: expect.stringMatching(/test\/tiny-lm .*takes text only/),
    });
  });

  it.each([
    ['an http URL (remote images off)', 'https://example.com/cat.png', /only when allowRemoteImages is on/],
    ['a data URL of text', 'data:text/plain;base64,aGVsbG8=', /data URL of text\/plain/],
    [
      'bytes that are no image',
      'data:image/png;base64,aGVsbG8gdGhlcmU=',
      /not a png, jpeg, webp or gif image/,
    ],
    ['broken base64', 'data:image/png;base64,%%%', /not valid base64/],
    [
      'a PNG that does not decode',
      `data:image/png;base64,${Buffer.from('\x89PNG\r\n\x1a\nbroken', 'latin1').toString('base64')}`,
      /Image 1 could not be decoded/,
    ],
  ])('refuses %s with a 400 that says why', async (_, url, message) => {
    const failure = openai.chat.completions.create({
      model: VLM,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url } },
            { type: 'text', text: 'Hi' },
          ],
        },
      ],
    });
    await expect(failure).rejects.toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });

  it('says in Ollama /api/show that the model sees images', async () => {
    const shown = await new Ollama({ host: core.url }).show({ model: VLM });
    expect(shown.capabilities).toEqual(['completion', 'vision']);
  });

  it('turns remote image URLs on from Settings, still refusing private addresses', async () => {
    const patch = (value: boolean | null) =>
      fetch(`${core.url}/app/settings`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ allowRemoteImages: value }),
      });
    expect((await patch(true)).status).toBe(200);
    try {
      await expect(
        openai.chat.completions.create({
          model: VLM,
          messages: [
            {
              role: 'user',
              content: [{ type: 'image_url', image_url: { url: 'http://127.0.0.1:9/cat.png' } }],
            },
          ],
        }),
      ).rejects.toMatchObject({
        status: 400,
        param: 'messages[0].content[0].image_url',
        message: expect.stringMatching(/127\.0\.0\.1 is a private, loopback or internal address/),
      });
    } finally {
      expect((await patch(null)).status).toBe(200);
    }
  });

  it('refuses more images than one request may carry', async () => {
    const parts = Array.from({ length: 17 }, () => ({
      type: 'image_url' as const,
      image_url: { url: dataUrl() },
    }));
    await expect(
      openai.chat.completions.create({ model: VLM, messages: [{ role: 'user', content: parts }] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/17 images; Lodge takes at most 16/),
    });
  });
});

describe('remote image URLs with allowRemoteImages on', () => {
  const data = tempDir();
  let core: TestCore;
  let images: Server;
  let origin: string;
  let image: Buffer;
  let openai: OpenAI;
  const ask = (url: string) =>
    openai.chat.completions.create({
      model: VLM,
      temperature: 0,
      max_tokens: NEW_TOKENS,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url } },
            { type: 'text', text: QUESTION },
          ],
        },
      ],
    });

  // The image request that never gets an answer, once it has arrived.
  let arrived: (request: IncomingMessage) => void = () => undefined;
  const slow = new Promise<IncomingMessage>((resolve) => (arrived = resolve));

  beforeAll(async () => {
    image = await testImage(80, 50, 1);
    images = createServer((request, response) => {
      if (request.url === '/cat.png') response.writeHead(200, { 'content-type': 'image/png' }).end(image);
      else if (request.url === '/elsewhere')
        // The same machine by another name: not the trusted origin, so a private address.
        response
          .writeHead(302, { location: `http://localhost:${(images.address() as AddressInfo).port}/cat.png` })
          .end();
      else if (request.url === '/slow.png') arrived(request);
      else if (request.url === '/huge.png')
        response.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(9 * 1024 * 1024));
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    const models = join(data.path, 'models');
    mkdirSync(join(models, 'test'), { recursive: true });
    cpSync(vlmPath(TINY_VLM), join(models, 'test', 'smolvlm'), {
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

  it('fetches an image URL and answers as it does for the same image sent inline', async () => {
    const inline = await ask(`data:image/png;base64,${image.toString('base64')}`);
    const fetched = await ask(`${origin}/cat.png`);
    expect(fetched.choices[0]?.message.content).toBe(inline.choices[0]?.message.content);
    expect(fetched.usage?.prompt_tokens).toBe(inline.usage?.prompt_tokens);
  });

  it('refuses a redirect to a private address, a missing image and one over the size bound', async () => {
    await expect(ask(`${origin}/elsewhere`)).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/localhost is a private, loopback or internal address/),
    });
    await expect(ask(`${origin}/missing.png`)).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/could not be fetched: the server answered 404/),
    });
    await expect(ask(`${origin}/huge.png`)).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/larger than 8 MiB/),
    });
  });

  it('fetches image URLs sent to the routes without the /v1 prefix too', async () => {
    const bare = new OpenAI({ baseURL: core.url, apiKey: 'unused', maxRetries: 0 });
    const inline = await ask(`data:image/png;base64,${image.toString('base64')}`);
    const fetched = await bare.chat.completions.create({
      model: VLM,
      temperature: 0,
      max_tokens: NEW_TOKENS,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `${origin}/cat.png` } },
            { type: 'text', text: QUESTION },
          ],
        },
      ],
    });
    expect(fetched.choices[0]?.message.content).toBe(inline.choices[0]?.message.content);
  });

  // Without the client's signal the fetch would hold on for its 20 s deadline, past this test's limit.
  it('stops fetching an image when the client disconnects', { timeout: 15_000 }, async () => {
    const leaving = new AbortController();
    const asked = openai.chat.completions
      .create(
        {
          model: VLM,
          messages: [
            { role: 'user', content: [{ type: 'image_url', image_url: { url: `${origin}/slow.png` } }] },
          ],
        },
        { signal: leaving.signal },
      )
      .catch((error: unknown) => error);
    const fetching = await slow;
    const closed = new Promise<void>((resolve) => fetching.once('close', () => resolve()));
    leaving.abort();
    expect(await asked).toBeInstanceOf(OpenAI.APIUserAbortError);
    await closed;
    expect(fetching.destroyed).toBe(true);
  });
});
