import { UpstreamError } from './upstream-request';

/** The longest one SSE event may be; the JSON of one chunk is far smaller. */
export const MAX_EVENT_BYTES = 1024 * 1024;

/** The most a whole stream may carry. */
export const MAX_STREAM_BYTES = 64 * 1024 * 1024;

/**
 * NOTE: not `shared/sse.ts`, which reads Lodge's own streams whole: an upstream is not trusted, so
 * this reader bounds what it buffers.
 *
 * The `data:` payloads of a Server-Sent Events stream, one per event (multi-line data joined by
 * newlines), until the stream ends. An event over {@link MAX_EVENT_BYTES} or a stream over
 * {@link MAX_STREAM_BYTES} is refused: an upstream cannot make Lodge buffer without bound.
 */
export async function* sseData(body: AsyncIterable<unknown>, host: string): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let total = 0;
  let data: string[] = [];
  try {
    for await (const chunk of body) {
      const bytes = chunk as Uint8Array;
      total += bytes.length;
      if (total > MAX_STREAM_BYTES)
        throw new UpstreamError('refused', `${host} sent a stream over ${MAX_STREAM_BYTES / 1048576} MiB.`);
      buffer += decoder.decode(bytes, { stream: true });
      for (let end = lineEnd(buffer); end !== -1; end = lineEnd(buffer)) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1);
        if (line === '') {
          if (data.length > 0) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
      }
      if (buffer.length + data.reduce((sum, piece) => sum + piece.length, 0) > MAX_EVENT_BYTES)
        throw new UpstreamError('refused', `${host} sent one stream event over 1 MiB.`);
    }
  } catch (error) {
    if (error instanceof UpstreamError) throw error;
    const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
    throw new UpstreamError('refused', `${host} broke its stream off${code ? ` (${code})` : ''}`);
  }
  const last = buffer.replace(/\r$/, '');
  if (last.startsWith('data:')) data.push(last.slice(last.startsWith('data: ') ? 6 : 5));
  if (data.length > 0) yield data.join('\n');
}

function lineEnd(text: string): number {
  const newline = text.indexOf('\n');
  const carriage = text.indexOf('\r');
  if (carriage === -1) return newline;
  if (newline === -1) return carriage === text.length - 1 ? -1 : carriage;
  return Math.min(newline, carriage);
}
