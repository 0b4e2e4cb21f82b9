import { connect, type AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedStream } from '../../../src/main/core/api/app/bounded-stream';
import { clientGone, openStream } from '../../../src/main/core/api/streaming';

const LIMIT = 1024 * 1024;
const EVENT = `event: models\ndata: ${JSON.stringify({ ids: Array.from({ length: 2000 }, (_, i) => `owner/model-${i}`) })}\n\n`;

describe('a live-event stream whose reader stops reading', () => {
  const app = Fastify();
  let overflowAt: number | null = null;
  let sent = 0;

  beforeAll(async () => {
    // What /app/events does, over a real server: emit events as fast as they come.
    app.get('/events', (request, reply) => {
      const stream = boundedStream(
        openStream(request, reply, 'text/event-stream; charset=utf-8', clientGone(request, reply)),
        reply.raw,
        LIMIT,
        (bufferedBytes) => (overflowAt = bufferedBytes),
      );
      const emit = () => {
        if (overflowAt !== null || stream.signal.aborted) return;
        stream.write(EVENT);
        sent += EVENT.length;
        setImmediate(emit);
      };
      emit();
      return reply;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
  });

  it('is closed once a MiB waits unread, instead of growing the server’s memory', async () => {
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    // The socket is never read: the kernel's buffers fill, then the server's.
    await expect.poll(() => overflowAt, { timeout: 30_000 }).not.toBeNull();
    expect(overflowAt).toBeGreaterThan(LIMIT);
    expect(overflowAt).toBeLessThan(LIMIT + 2 * EVENT.length);
    expect(sent).toBeGreaterThan(LIMIT);
    // The server let go: a reader that resumes finds the connection closed.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    await closed;
    const connections = () =>
      new Promise<number>((resolve) => app.server.getConnections((_, count) => resolve(count)));
    await expect.poll(connections).toBe(0);
  });
});
