import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteEngineSchema } from '../../../src/shared/contract/remote';
import { startTestCore, type TestCore } from '../../helpers/core';

const chunk = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const FINISH = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

// A plain node:http upstream that misbehaves in one way per path prefix (`/<mode>/v1/...`).
describe('a hostile upstream cannot hang, flood, redirect or break Lodge', () => {
  let core: TestCore;
  let upstream: Server;
  let elsewhere: Server;
  let base = '';
  let elsewhereUrl = '';
  let elsewhereHits = 0;
  const hits = new Map<string, number>();
  const held = new Set<ServerResponse>();
  const askedFor: string[] = [];
  let slowClosed: Promise<void> = Promise.resolve();
  let onSlowClose = () => {};
  let openai: OpenAI;

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const [, mode = '', , ...rest] = (request.url ?? '').split('/');
    const path = rest.join('/');
    const key = `${mode} ${path}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    let body = '';
    request.on('data', (piece: Buffer) => (body += piece.toString()));
    request.on('end', () => {
      if (mode === 'plain' && path === 'chat/completions')
        askedFor.push((JSON.parse(body) as { model: string }).model);
    });
    const sse = () => response.writeHead(200, { 'content-type': 'text/event-stream' });
    if (mode === 'stall') {
      held.add(response);
      return;
    }
    if (mode === 'redirect') {
      response.writeHead(path === 'models' ? 302 : 307, { location: `${elsewhereUrl}/v1/${path}` });
      response.end();
      return;
    }
    if (mode === 'huge' && path === 'models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`{"data":[{"id":"${'m'.repeat(8 * 1024 * 1024)}"}]}`);
      return;
    }
    if (path === 'models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
      return;
    }
    if (mode === 'huge') {
      sse();
      response.end(`data: "${'x'.repeat(2 * 1024 * 1024)}"\n\n`);
    } else if (mode === 'broken') {
      sse();
      response.end('data: {"choices": [oops\n\n');
    } else if (mode === 'cut') {
      sse();
      response.write(chunk('Hi'));
      response.write(chunk(' there'), () => response.destroy());
    } else if (mode === 'slow') {
      request.socket.once('close', () => onSlowClose());
      sse();
      response.write(chunk('Hi'));
      held.add(response);
    } else if (mode === 'flaky' && hits.get(key) === 1) {
      request.socket.destroy();
    } else {
      sse();
      response.end(chunk('Hi') + FINISH);
    }
  };

  beforeAll(async () => {
    upstream = createServer(handle);
    elsewhere = createServer((_request, response) => {
      elsewhereHits += 1;
      response.end('{"data": []}');
    });
    [base, elsewhereUrl] = await Promise.all([listen(upstream), listen(elsewhere)]);
    core = await startTestCore({
      env: { LODGE_REMOTE_IDLE_TIMEOUT_MS: '1500', LODGE_REMOTE_CONNECT_TIMEOUT_MS: '1500' },
    });
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    for (const mode of ['stall', 'huge', 'redirect', 'broken', 'cut', 'slow', 'flaky', 'plain']) {
      const response = await fetch(`${core.url}/app/engines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: mode, baseUrl: `${base}/${mode}/v1` }),
      });
      expect(response.status).toBe(200);
    }
  });
  afterAll(async () => {
    for (const response of held) response.destroy();
    await core.dispose();
    upstream.closeAllConnections();
    elsewhere.closeAllConnections();
    await Promise.all([
      new Promise((resolve) => upstream.close(resolve)),
      new Promise((resolve) => elsewhere.close(resolve)),
    ]);
  });

  const engine = async (name: string) =>
    RemoteEngineSchema.parse(
      await (await fetch(`${core.url}/app/engines/${name}/check`, { method: 'POST' })).json(),
    );
  const chatError = (model: string) =>
    openai.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hi' }] })
      .then(() => null)
      .catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);

  it('a stalled upstream times out: down, and a 503 that names it', async () => {
    expect((await engine('stall')).health).toMatchObject({
      status: 'down',
      error: expect.stringContaining('sent nothing for 1.5 s'),
    });
    const failed = await chatError('stall/m');
    expect(failed?.status).toBe(503);
    expect(failed?.message).toContain("remote engine 'stall' is down");
  });

  it('a huge model list or stream event is cut off and refused', async () => {
    expect((await engine('huge')).health).toMatchObject({
      status: 'down',
      error: expect.stringContaining('over 4 MiB'),
    });
    const failed = await chatError('huge/m');
    expect(failed?.status).toBe(502);
    expect(failed?.message).toContain('over 1 MiB');
  });

  it('a redirect to another origin is refused, and the other origin never hears from Lodge', async () => {
    expect((await engine('redirect')).health).toMatchObject({
      status: 'down',
      error: expect.stringContaining('only follows redirects on the same origin'),
    });
    const failed = await chatError('redirect/m');
    expect(failed?.status).toBe(502);
    expect(elsewhereHits).toBe(0);
  });

  it('a broken stream chunk is a 502 naming the engine', async () => {
    const failed = await chatError('broken/m');
    expect(failed?.status).toBe(502);
    expect(failed?.message).toContain("remote engine 'broken'");
  });

  it('a stream cut after its first text ends in an in-stream error, and is not sent twice', async () => {
    const response = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cut/m', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('"content":"Hi"');
    expect(text).toContain("remote engine 'cut'");
    expect(text).toContain('broke its stream off');
    expect(hits.get('cut chat/completions')).toBe(1);
  });

  it('a connection dropped before any answer is retried once', async () => {
    const answer = await openai.chat.completions.create({
      model: 'flaky/m',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(answer.choices[0]?.message.content).toBe('Hi');
    expect(hits.get('flaky chat/completions')).toBe(2);
  });

  it('asks a server that lists a bare model name for it, without the :latest an Ollama client adds', async () => {
    const response = await fetch(`${core.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'plain/m:latest',
        messages: [{ role: 'user', content: 'hi' }],
        stream: false,
      }),
    });
    expect(((await response.json()) as { message: { content: string } }).message.content).toBe('Hi');
    expect(askedFor).toEqual(['m']);
  });

  it('a client that leaves mid-stream closes the upstream connection', async () => {
    slowClosed = new Promise<void>((resolve) => (onSlowClose = resolve));
    const controller = new AbortController();
    const response = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow/m', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    let seen = '';
    while (!seen.includes('"content":"Hi"')) {
      const { value, done } = (await reader?.read()) ?? { done: true, value: undefined };
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain('"content":"Hi"');
    controller.abort();
    await slowClosed;
  });
});
