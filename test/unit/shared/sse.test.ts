import { describe, expect, it } from 'vitest';
import { serverSentEvents, type ServerSentEvent } from '../../../src/shared/sse';

/** A body that delivers the given text in the given chunks, as a network would. */
function body(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of serverSentEvents(stream)) events.push(event);
  return events;
}

describe('serverSentEvents', () => {
  it('reads named and unnamed events, skipping keep-alive comments', async () => {
    const events = await collect(body(': keep-alive\n\nevent: download\ndata: {"a":1}\n\ndata: [DONE]\n\n'));
    expect(events).toEqual([
      { event: 'download', data: '{"a":1}' },
      { event: null, data: '[DONE]' },
    ]);
  });

  it('joins events split across chunks, even inside a multi-byte character', async () => {
    const bytes = new TextEncoder().encode('data: héllo\n\n');
    const split = bytes.indexOf(0xc3) + 1; // between the two bytes of "é"
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, split));
        controller.enqueue(bytes.slice(split));
        controller.close();
      },
    });
    expect(await collect(stream)).toEqual([{ event: null, data: 'héllo' }]);
  });

  it('accepts CRLF line ends and joins multi-line data with newlines', async () => {
    const events = await collect(body('event: x\r\ndata: one\r\n', 'data: two\r\n\r\n'));
    expect(events).toEqual([{ event: 'x', data: 'one\ntwo' }]);
  });

  it('drops an unterminated trailing event rather than yielding half of it', async () => {
    expect(await collect(body('data: whole\n\ndata: half'))).toEqual([{ event: null, data: 'whole' }]);
  });
});
