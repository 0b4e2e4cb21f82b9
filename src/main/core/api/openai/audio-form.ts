import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LodgeError } from '../../errors';

/** The largest audio file an upload may carry: OpenAI's own limit, 25 MiB. */
export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;

/** The largest text field of the form (a prompt, a model name). */
const MAX_FIELD_BYTES = 64 * 1024;

/** How a transcript is answered. */
export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;

const boolean = z
  .enum(['true', 'false'])
  .transform((value) => value === 'true')
  .optional();

/** The text fields of `POST /v1/audio/transcriptions` and `/translations`. */
const AudioFieldsSchema = z.object({
  model: z.string().min(1, 'model is required'),
  language: z
    .string()
    .regex(/^[A-Za-z]{2,3}(?:[-_][A-Za-z]+)?$/, 'language must be a language code such as en or fr')
    .optional(),
  prompt: z.string().optional(),
  response_format: z.enum(RESPONSE_FORMATS).default('json'),
  temperature: z.coerce.number().min(0).max(1).default(0),
  'timestamp_granularities[]': z.array(z.enum(['word', 'segment'])).default([]),
  stream: boolean,
});

/** A parsed audio form: the file and the fields. */
export interface AudioForm {
  readonly file: Uint8Array;
  readonly filename: string;
  readonly model: string;
  readonly language?: string;
  readonly prompt?: string;
  readonly responseFormat: (typeof RESPONSE_FORMATS)[number];
  readonly temperature: number;
  readonly granularities: readonly ('word' | 'segment')[];
  readonly stream: boolean;
}

/**
 * Reads a multipart/form-data audio request: one `file` part (at most {@link MAX_AUDIO_BYTES}) and
 * the text fields, checked. Every way a client gets it wrong is a clear 400 or 413.
 */
export async function readAudioForm(request: FastifyRequest): Promise<AudioForm> {
  if (!request.isMultipart())
    throw new LodgeError(
      'invalid_request',
      'Send the audio as multipart/form-data, with the audio in a field named "file" and the model in "model".',
    );
  const fields: Record<string, string | string[]> = {};
  let file: Buffer | null = null;
  let filename = 'audio';
  try {
    for await (const part of request.parts({
      limits: { fileSize: MAX_AUDIO_BYTES, files: 1, fields: 32, fieldSize: MAX_FIELD_BYTES, parts: 40 },
    })) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') {
          part.file.resume();
          throw new LodgeError(
            'invalid_request',
            `Unknown file field "${part.fieldname.slice(0, 40)}"; send the audio as "file".`,
            {
              param: part.fieldname.slice(0, 40),
            },
          );
        }
        file = await part.toBuffer();
        filename = part.filename || filename;
        continue;
      }
      if (typeof part.value !== 'string') continue;
      const name =
        part.fieldname === 'timestamp_granularities' ? 'timestamp_granularities[]' : part.fieldname;
      if (name === 'timestamp_granularities[]') {
        const list = fields[name];
        fields[name] = [...(Array.isArray(list) ? list : []), part.value];
      } else fields[name] = part.value;
    }
  } catch (error) {
    throw formError(error);
  }
  if (file === null)
    throw new LodgeError('invalid_request', 'The form has no "file" field holding the audio.', {
      param: 'file',
    });
  if (file.length === 0)
    throw new LodgeError('invalid_request', 'The audio file is empty.', { param: 'file' });
  const parsed = AudioFieldsSchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = String(issue?.path[0] ?? 'body');
    throw new LodgeError('invalid_request', `Invalid request: ${param}: ${issue?.message ?? 'invalid'}`, {
      param,
    });
  }
  const body = parsed.data;
  return {
    file: new Uint8Array(file.buffer, file.byteOffset, file.byteLength),
    filename,
    model: body.model,
    ...(body.language !== undefined
      ? { language: body.language.toLowerCase().split(/[-_]/)[0] as string }
      : {}),
    ...(body.prompt !== undefined ? { prompt: body.prompt } : {}),
    responseFormat: body.response_format,
    temperature: body.temperature,
    granularities: body['timestamp_granularities[]'],
    stream: body.stream ?? false,
  };
}

/** A multipart failure in words: too large (413), or a form that breaks a limit or is malformed (400). */
function formError(error: unknown): LodgeError {
  if (error instanceof LodgeError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE')
    return new LodgeError(
      'payload_too_large',
      `The audio file is larger than ${MAX_AUDIO_BYTES / (1024 * 1024)} MiB, the most Lodge takes in one request; send a shorter or more compressed recording.`,
      { param: 'file' },
    );
  if (code === 'FST_FILES_LIMIT')
    return new LodgeError('invalid_request', 'Send one audio file per request.', { param: 'file' });
  if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT')
    return new LodgeError('invalid_request', 'The form has too many fields.');
  if (code === 'FST_PROTO_VIOLATION' || code === 'FST_INVALID_MULTIPART_CONTENT_TYPE')
    return new LodgeError('invalid_request', 'The multipart form is malformed.');
  const message = error instanceof Error ? error.message : String(error);
  if (/field value too long|fieldSize/i.test(message))
    return new LodgeError(
      'payload_too_large',
      `A text field of the form is longer than ${MAX_FIELD_BYTES / 1024} KiB.`,
    );
  return new LodgeError('invalid_request', `The multipart form could not be read: ${message.slice(0, 200)}`);
}
