import { describe, expect, it } from 'vitest';
import { formatRequestLine } from '../../../../src/main/core/api/request-log';

const time = new Date(2026, 11, 2, 0, 50, 1);

describe('formatRequestLine', () => {
  it('shows time, status, duration, method and path, then the model and its tokens', () => {
    expect(
      formatRequestLine({
        time,
        method: 'POST',
        path: '/v1/chat/completions',
        status: 200,
        durationMs: 84.21,
        usage: { model: 'test/tiny-lm', promptTokens: 12, completionTokens: 6 },
      }),
    ).toBe(
      '2026/12/02 - 00:50:01 | 200 |   84.2ms | POST /v1/chat/completions | test/tiny-lm | 12 → 6 tokens',
    );
  });

  it('shows seconds past one second, prompt tokens alone for embeddings, nothing for no model', () => {
    const base = { time, method: 'POST', status: 200 };
    expect(
      formatRequestLine({
        ...base,
        path: '/api/embed',
        durationMs: 1534,
        usage: { model: 'test/embedder', promptTokens: 9 },
      }),
    ).toBe('2026/12/02 - 00:50:01 | 200 |    1.53s | POST /api/embed | test/embedder | 9 tokens');
    expect(formatRequestLine({ ...base, status: 404, path: '/api/show', durationMs: 0.4, usage: null })).toBe(
      '2026/12/02 - 00:50:01 | 404 |    0.4ms | POST /api/show',
    );
  });

  it('says at the end when the client left or the generation was stopped', () => {
    const base = { time, method: 'POST', path: '/v1/chat/completions', durationMs: 12.5 };
    expect(
      formatRequestLine({
        ...base,
        status: 200,
        usage: { model: 'test/tiny-lm', completionTokens: 3 },
        outcome: 'aborted',
      }),
    ).toBe('2026/12/02 - 00:50:01 | 200 |   12.5ms | POST /v1/chat/completions | test/tiny-lm | aborted');
    expect(formatRequestLine({ ...base, status: 401, usage: null, outcome: 'error' })).toBe(
      '2026/12/02 - 00:50:01 | 401 |   12.5ms | POST /v1/chat/completions',
    );
  });
});
