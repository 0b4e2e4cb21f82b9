import { describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES, sseData } from '../../../../src/main/core/remote/sse-events';
import { UpstreamError } from '../../../../src/main/core/remote/upstream-request';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function all(source: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const data of sseData(source, 'up.example')) out.push(data);
  return out;
}

describe('sseData', () => {
  it('reads events split anywhere across chunks, with CRLF or LF, comments and multi-line data', async () => {
    expect(
      await all(
        chunks(
          'data: {"a"',
          ':1}\r\n\r',
          '\n: a comment\nevent: x\ndata: one\ndata: two\n\n',
          'data: [DONE]\n\n',
        ),
      ),
    ).toEqual(['{"a":1}', 'one\ntwo', '[DONE]']);
  });

  it('keeps a last event that lacks its blank line, and a data field without its space', async () => {
    expect(await all(chunks('data:tight\n\ndata: last'))).toEqual(['tight', 'last']);
  });

  it('refuses an event over the bound instead of buffering it', async () => {
    const huge = `data: ${'x'.repeat(MAX_EVENT_BYTES + 10)}`;
    await expect(all(chunks(huge.slice(0, 1000), huge.slice(1000)))).rejects.toThrow(UpstreamError);
    await expect(all(chunks(huge))).rejects.toThrow('over 1 MiB');
  });

  it('says the stream broke off when its source fails mid-way', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('data: one\n\n');
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const data of sseData(failing(), 'up.example')) seen.push(data);
      })(),
    ).rejects.toThrow('up.example broke its stream off (ECONNRESET)');
    expect(seen).toEqual(['one']);
  });
});
