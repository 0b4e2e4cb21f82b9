import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import { noteUsage } from '../request-log';
import type { Exchange } from '../responder/generation';
import { clientGone } from '../streaming';
import type { EmbeddingRequest } from './schemas';

/** Cuts a unit vector to `dimensions` and scales it back to unit length (what Ollama does). */
export function shorten(vector: Float32Array, dimensions: number | null | undefined): Float32Array {
  if (dimensions === null || dimensions === undefined || dimensions >= vector.length) return vector;
  const cut = vector.slice(0, dimensions);
  const norm = Math.hypot(...cut);
  if (norm > 0) for (let index = 0; index < cut.length; index++) cut[index] = (cut[index] as number) / norm;
  return cut;
}

/** `POST /v1/embeddings`: floats, or base64 of little-endian float32 (the SDKs' default). */
export async function embeddings(
  engine: Engine,
  body: EmbeddingRequest,
  { request, reply }: Exchange,
): Promise<unknown> {
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  if (!inputs.every((input): input is string => typeof input === 'string')) {
    throw new LodgeError('invalid_request', 'Token arrays are not supported as input; send the text.', {
      param: 'input',
    });
  }
  if (inputs.some((input) => input === ''))
    throw new LodgeError('invalid_request', 'An input is empty.', { param: 'input' });
  const result = await engine.embed(
    body.model,
    { inputs, truncate: false },
    { signal: clientGone(request, reply) },
  );
  noteUsage(request, { model: body.model, promptTokens: result.promptTokens });
  const width = result.embeddings[0]?.length ?? 0;
  if (body.dimensions != null && body.dimensions > width) {
    throw new LodgeError('invalid_request', `dimensions must be at most ${width} for ${result.model}.`, {
      param: 'dimensions',
    });
  }
  const base64 = body.encoding_format === 'base64';
  return reply.send({
    object: 'list',
    model: result.model,
    data: result.embeddings.map((vector, index) => {
      const shortened = shorten(vector, body.dimensions);
      return {
        object: 'embedding',
        index,
        embedding: base64
          ? Buffer.from(shortened.buffer, shortened.byteOffset, shortened.byteLength).toString('base64')
          : [...shortened],
      };
    }),
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  });
}
