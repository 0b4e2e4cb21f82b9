import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM } from '../../fixtures/models';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

describe('what a stream cut by shutdown logs', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM }, flags: { logLevel: 'debug' } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const logLines = (): LogLine[] =>
    readFileSync(join(core.dataDir, 'logs/lodge.log'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);

  it('logs the cut at info, without a stack, and not as a failed stream', async () => {
    const response = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        max_tokens: 100_000,
      }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    // No grace: the running stream is cut at once.
    await core.lodge.engine.drain(0);
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += new TextDecoder().decode(chunk.value);
    expect(text).toContain('"code":"shutting_down"');
    await expect
      .poll(() => logLines().find((line) => line.msg.startsWith('generation stream cut by shutdown')))
      .toMatchObject({ level: 30, code: 'shutting_down' });
    const cut = logLines().filter((line) => line.msg.startsWith('generation stream cut by shutdown'));
    expect(JSON.stringify(cut)).not.toContain('stack');
    expect(logLines().filter((line) => line.msg === 'generation stream failed')).toEqual([]);
  });
});
