import { describe, expect, it } from 'vitest';
import type { LogEntry, RequestRecord } from '../../../src/shared/contract/system';
import { recentErrors } from '../../../src/renderer/features/monitor/recent-errors';

const request = (id: number, status: number, second: number): RequestRecord => ({
  id,
  time: new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString(),
  method: 'POST',
  path: '/v1/chat/completions',
  status,
  durationMs: 3,
  family: 'openai',
  requestId: `req-${id}`,
});

describe('recentErrors', () => {
  it('lists the failed requests and the logged errors, newest first, and leaves out the answered ones', () => {
    const logged: LogEntry = {
      seq: 7,
      time: new Date(Date.UTC(2026, 0, 1, 12, 0, 2)).toISOString(),
      level: 'error',
      msg: 'the runner exited',
      context: {},
    };
    const errors = recentErrors([request(3, 503, 3), request(2, 200, 2), request(1, 401, 1)], [logged], 10);
    expect(errors.map((entry) => [entry.status, entry.text])).toEqual([
      [503, 'POST /v1/chat/completions'],
      [null, 'the runner exited'],
      [401, 'POST /v1/chat/completions'],
    ]);
  });

  it('keeps at most the limit', () => {
    const many = Array.from({ length: 30 }, (_, index) => request(index + 1, 404, index));
    const errors = recentErrors(many, [], 20);
    expect(errors).toHaveLength(20);
    expect(errors[0]?.key).toBe('request:30');
  });
});
