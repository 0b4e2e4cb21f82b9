import { describe, expect, it } from 'vitest';
import { LogRing } from '../../../../src/main/core/logging/log-ring';

const line = (level: number, msg: string, extra: object = {}) =>
  JSON.stringify({ level, time: 1_700_000_000_000, msg, pid: 1, ...extra });

describe('LogRing', () => {
  it('keeps entries with their level, message and context', () => {
    const ring = new LogRing();
    ring.write(line(30, 'hello', { model: 'a/b' }));
    expect(ring.query('trace', 10)).toEqual([
      {
        seq: 1,
        time: new Date(1_700_000_000_000).toISOString(),
        level: 'info',
        msg: 'hello',
        context: { model: 'a/b' },
      },
    ]);
  });

  it('filters by minimum level and by sequence', () => {
    const ring = new LogRing();
    ring.write(line(20, 'debug'));
    ring.write(line(40, 'warn'));
    ring.write(line(50, 'error'));
    expect(ring.query('warn', 10).map((entry) => entry.msg)).toEqual(['warn', 'error']);
    expect(ring.query('trace', 10, 2).map((entry) => entry.msg)).toEqual(['error']);
    expect(ring.query('trace', 1).map((entry) => entry.msg)).toEqual(['error']);
  });

  it('drops the oldest entries beyond its capacity', () => {
    const ring = new LogRing(3);
    for (let index = 0; index < 5; index++) ring.write(line(30, `m${index}`));
    expect(ring.query('trace', 10).map((entry) => entry.msg)).toEqual(['m2', 'm3', 'm4']);
  });

  it('keeps a line that is not JSON as plain text', () => {
    const ring = new LogRing();
    ring.write('plain text\n');
    expect(ring.query('info', 10)[0]?.msg).toBe('plain text');
  });
});
