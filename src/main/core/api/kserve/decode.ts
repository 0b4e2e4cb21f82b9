import { Transform, type Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { LodgeError } from '../../errors';

/** The decompressed body, with the compressed byte count Fastify checks Content-Length against. */
export class DecodedBody extends Transform {
  /** Compressed bytes read from the request so far. */
  receivedEncodedLength = 0;
  #decoded = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ): void {
    this.#decoded += chunk.length;
    if (this.#decoded > this.limit) {
      callback(
        new LodgeError(
          'payload_too_large',
          `The decompressed request body is larger than this route accepts (${Math.round(this.limit / (1024 * 1024))} MiB).`,
        ),
      );
      return;
    }
    callback(null, chunk);
  }
}

/**
 * Wraps a request body sent with `Content-Encoding: gzip` or `deflate` (tritonclient may send
 * either) in a decompressing stream that refuses, as a 413, to produce more than `limit` bytes.
 * Decompression runs on the zlib thread pool chunk by chunk, so a gzip bomb neither blocks the
 * event loop nor grows memory past the limit. Undecodable input is a 400. Returns null for an
 * identity body; refuses any other encoding.
 */
export function decodeBody(
  payload: Readable,
  encodingHeader: string | undefined,
  limit: number,
): DecodedBody | null {
  const encoding = (encodingHeader ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return null;
  if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
    throw new LodgeError(
      'invalid_request',
      `Content-Encoding "${encoding.slice(0, 40)}" is not supported; send gzip, deflate or an uncompressed body.`,
    );
  }
  const inflate = encoding === 'deflate' ? createInflate() : createGunzip();
  const limited = new DecodedBody(limit);
  const stop = () => {
    payload.unpipe(inflate);
    inflate.destroy();
    // Drain what the client still sends, so the error reply reaches it on an open connection.
    payload.resume();
  };
  payload.on('data', (chunk: Buffer) => {
    limited.receivedEncodedLength += chunk.length;
  });
  inflate.on('error', (error) => {
    stop();
    limited.destroy(
      new LodgeError(
        'invalid_request',
        `The ${encoding} request body could not be decompressed: ${error.message}.`,
      ),
    );
  });
  limited.on('error', stop);
  payload.pipe(inflate).pipe(limited);
  return limited;
}
