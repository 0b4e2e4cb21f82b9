import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { logStreamFailure } from '../../../../src/main/core/api/responder/stream-failure';
import { LodgeError } from '../../../../src/main/core/errors';

/** A real pino logger at debug that keeps what it writes, parsed. */
function capture() {
  const lines: { level: number; msg: string; err?: { stack?: string } }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as (typeof lines)[number]);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('logging a streamed generation that ended in an error', () => {
  it('logs a client that left at debug and a shutdown cut at info, neither with a stack', () => {
    const { log, lines } = capture();
    logStreamFailure(log, new LodgeError('cancelled', 'The request was cancelled.'));
    logStreamFailure(log, new LodgeError('shutting_down', 'Lodge is shutting down.'));
    expect(lines.map((line) => line.level)).toEqual([20, 30]);
    expect(JSON.stringify(lines)).not.toContain('stack');
  });

  it('logs anything else as a warning with the error in full', () => {
    const { log, lines } = capture();
    logStreamFailure(log, new LodgeError('runner_crashed', 'The runner stopped.'));
    logStreamFailure(log, new TypeError('bug'));
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [40, 'generation stream failed'],
      [40, 'generation stream failed'],
    ]);
    expect(lines[1]?.err?.stack).toContain('TypeError: bug');
  });
});
