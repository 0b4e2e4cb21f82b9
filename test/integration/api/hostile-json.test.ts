import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TENSOR_MODEL, TINY_LM } from '../../fixtures/models';

/** JSON text of an object nested `depth` levels deep: `{"a":{"a":…1…}}`. */
function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** JSON text of arrays nested `depth` levels deep. */
function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

const user = { role: 'user', content: 'hi' };

describe('hostile JSON: deep and large free-form fields are a 400 naming the field', () => {
  let core: TestCore;
  const post = async (path: string, body: string, contentType = 'application/json') => {
    const response = await fetch(`${core.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM, 'local/tensors': TENSOR_MODEL } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const openAiChat = (fields: string) =>
    post(
      '/v1/chat/completions',
      `{"model":"test/tiny-lm","max_tokens":2,"messages":[${JSON.stringify(user)}]${fields}}`,
    );

  it('OpenAI: tools[].function.parameters 500 and 2,000 deep', async () => {
    const tools = (depth: number) =>
      `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","p":${deepObject(depth)}}}}]`;
    const issueDepth = await openAiChat(tools(2000));
    expect(issueDepth.status).toBe(400);
    expect(issueDepth.body).toMatchObject({
      error: {
        message: expect.stringMatching(/deeper than 1000 levels.*at body\.tools\.0\.function\.parameters\.p/),
      },
    });
    // Ordinary depth is served: the runner is the one that was there all along.
    const ordinary = await openAiChat(tools(20));
    expect(ordinary.status).toBe(200);
    expect(ordinary.body).toMatchObject({ object: 'chat.completion' });
    const answer = await openAiChat(tools(500));
    expect(answer).toEqual({
      status: 400,
      body: {
        error: {
          message: expect.stringMatching(/body\.tools\.0\.function\.parameters: .*nested deeper than 64/),
          type: 'invalid_request_error',
          param: 'tools.0.function.parameters',
          code: 'invalid_request',
        },
      },
    });
  });

  it('OpenAI: tools[].function.parameters larger than 256 KiB', async () => {
    const big = JSON.stringify({ type: 'object', description: 'x'.repeat(300 * 1024) });
    const answer = await openAiChat(
      `,"tools":[{"type":"function","function":{"name":"f","parameters":${big}}}]`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { message: expect.stringMatching(/larger than 256 KiB/) } });
  });

  it('OpenAI: tool_calls arguments (a JSON string) 500 deep', async () => {
    const assistant = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: deepObject(500) } }],
    };
    const answer = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'test/tiny-lm', max_tokens: 2, messages: [user, assistant] }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: { message: expect.stringMatching(/messages\.1\.tool_calls\.0\.function\.arguments/) },
    });
  });

  it('OpenAI: response_format json_schema 500 deep', async () => {
    const answer = await openAiChat(
      `,"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":${deepObject(500)}}}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: { param: 'response_format', message: expect.stringMatching(/nested deeper than 64/) },
    });
  });

  it('Ollama: tools parameters, tool_calls arguments and format 500 deep', async () => {
    const chat = (fields: string, messages = [user]) =>
      post(
        '/api/chat',
        `{"model":"test/tiny-lm","stream":false,"messages":${JSON.stringify(messages)}${fields}}`,
      );
    const tools = await chat(
      `,"tools":[{"type":"function","function":{"name":"f","parameters":${deepObject(500)}}}]`,
    );
    expect(tools).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/body\.tools\.0\.function\.parameters: .*nested deeper than 64/) },
    });
    const format = await chat(`,"format":${deepObject(500)}`);
    expect(format).toEqual({ status: 400, body: { error: expect.stringMatching(/body\.format/) } });
    const calls = await post(
      '/api/chat',
      `{"model":"test/tiny-lm","stream":false,"messages":[${JSON.stringify(user)},` +
        `{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":${deepObject(500)}}}]}]}`,
    );
    expect(calls).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/body\.messages\.1\.tool_calls\.0\.function\.arguments/) },
    });
  });

  it('Ollama: 5,000-deep tool parameters sent as curl -d (form encoding) are a 400 too', async () => {
    // Ollama's routes parse these content types themselves, so only the field bound stands here.
    const body = `{"model":"test/tiny-lm","stream":false,"messages":[${JSON.stringify(user)}],"tools":[{"type":"function","function":{"name":"f","parameters":${deepObject(5000)}}}]}`;
    for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
      expect(await post('/api/chat', body, contentType)).toEqual({
        status: 400,
        body: {
          error: expect.stringMatching(/body\.tools\.0\.function\.parameters: .*nested deeper than 64/),
        },
      });
    }
  });

  it('KServe: request parameters 2,000 deep, input parameters 20 deep', async () => {
    const input = '{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]';
    for (const body of [
      `{"parameters":${deepObject(2000)},"inputs":[${input}}]}`,
      `{"inputs":[${input},"parameters":{"p":${deepObject(20)}}}]}`,
    ]) {
      const answer = await post('/v2/models/local%2Ftensors/infer', body);
      expect(answer).toEqual({ status: 400, body: { error: expect.stringMatching(/parameters/) } });
    }
  });

  it('a whole body nested 100,000 deep is a 400 in each family’s shape', async () => {
    const deep = `{"model":"test/tiny-lm","x":${deepArray(100_000)}}`;
    const openAi = await post('/v1/chat/completions', deep);
    expect(openAi).toMatchObject({
      status: 400,
      body: {
        error: { type: 'invalid_request_error', message: expect.stringMatching(/nested deeper than 1000/) },
      },
    });
    const ollama = await post('/api/chat', deep);
    expect(ollama).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/nested deeper than 1000/) },
    });
    const kserve = await post('/v2/models/local%2Ftensors/infer', deep);
    expect(kserve).toEqual({ status: 400, body: { error: expect.stringMatching(/nested deeper than 64/) } });
    const app = await post('/app/conversations', deep);
    expect(app).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', message: expect.stringMatching(/nested deeper than 1000/) } },
    });
  });
});
