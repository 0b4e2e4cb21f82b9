import type { ServerResponse } from 'node:http';
import type { ResponseStream } from '../streaming';

/** How far a live-event reader may fall behind before its stream is closed. */
export const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * A stream whose writes stop, and whose connection is destroyed, once more than `limitBytes` wait
 * unsent for a reader that stopped reading: a subscriber that never reads must not grow the core's
 * memory. `onOverflow` is told once, with the bytes that were waiting.
 */
export function boundedStream(
  stream: ResponseStream,
  raw: ServerResponse,
  limitBytes: number,
  onOverflow: (bufferedBytes: number) => void,
): ResponseStream {
  let overflowed = false;
  return {
    write(chunk) {
      if (overflowed) return;
      stream.write(chunk);
      if (raw.writableLength <= limitBytes) return;
      overflowed = true;
      onOverflow(raw.writableLength);
      // end() would wait for the reader to take what is buffered; destroy frees it now.
      raw.destroy();
    },
    end() {
      if (!overflowed) stream.end();
    },
    signal: stream.signal,
  };
}
