import { describe, expect, it } from 'vitest';
import { LodgeError } from '../../../../src/main/core/errors';
import { formatAppError } from '../../../../src/main/core/api/app/errors';
import { formatKserveError } from '../../../../src/main/core/api/kserve/errors';
import { formatOllamaError } from '../../../../src/main/core/api/ollama/errors';
import { formatOpenAiError } from '../../../../src/main/core/api/openai/errors';

describe('error shapes per family', () => {
  it('OpenAI: all four keys, type by status, param when known', () => {
    const reply = formatOpenAiError(
      new LodgeError('model_not_found', "The model 'x' does not exist", { param: 'model' }),
    );
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({
      error: {
        message: "The model 'x' does not exist",
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  it('OpenAI: deterministic failures tell the SDK not to retry', () => {
    expect(formatOpenAiError(new LodgeError('model_load_failed', 'bad file')).headers).toMatchObject({
      'x-should-retry': 'false',
    });
    expect(formatOpenAiError(new LodgeError('queue_full', 'busy', { retryAfterSeconds: 2 })).headers).toEqual(
      { 'retry-after': '2' },
    );
  });

  it('OpenAI: 401 is an authentication_error with WWW-Authenticate', () => {
    const reply = formatOpenAiError(new LodgeError('unauthorized', 'key'));
    expect(reply.status).toBe(401);
    expect(reply.headers).toMatchObject({ 'www-authenticate': 'Bearer' });
    expect((reply.body as { error: { type: string } }).error.type).toBe('authentication_error');
  });

  it('Ollama and KServe: {"error": message}', () => {
    expect(formatOllamaError(new LodgeError('not_found', 'nope'))).toMatchObject({
      status: 404,
      body: { error: 'nope' },
    });
    expect(formatKserveError(new LodgeError('queue_full', 'busy'))).toMatchObject({
      status: 503,
      body: { error: 'busy' },
    });
  });

  it('App: {error: {code, message}}', () => {
    expect(formatAppError(new LodgeError('payload_too_large', 'big'))).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large', message: 'big' } },
    });
  });
});
