import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TranscribeResult, TranscriptSegment } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import { noteUsage } from '../request-log';
import { clientGone, openStream, type ResponseStream } from '../streaming';
import { MAX_AUDIO_BYTES, readAudioForm, type AudioForm } from './audio-form';

/**
 * `POST /v1/audio/transcriptions` and `/v1/audio/translations` (OpenAI's Audio API): a
 * multipart upload transcribed by a speech-to-text model, answered as json, text, srt, vtt or
 * verbose_json (with segments), or streamed as `transcript.text.delta` events.
 */
export function registerAudioRoutes(app: FastifyInstance, engine: Engine): void {
  void app.register(async (scope) => {
    // Only these routes read multipart bodies; the limits are the form's, checked as it streams in.
    await scope.register(multipart, { limits: { fileSize: MAX_AUDIO_BYTES, files: 1 } });
    for (const task of ['transcribe', 'translate'] as const) {
      const path = task === 'transcribe' ? '/v1/audio/transcriptions' : '/v1/audio/translations';
      scope.post(path, { schema: { tags: ['openai'] } }, (request, reply) =>
        transcribe(engine, task, request, reply),
      );
    }
  });
}

async function transcribe(
  engine: Engine,
  task: 'transcribe' | 'translate',
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const form = await readAudioForm(request);
  if (form.granularities.includes('word'))
    throw new LodgeError(
      'invalid_request',
      'Word timestamps are not available in Lodge; ask for timestamp_granularities[]=segment.',
      { param: 'timestamp_granularities[]' },
    );
  if (form.granularities.length > 0 && form.responseFormat !== 'verbose_json')
    throw new LodgeError('invalid_request', 'timestamp_granularities[] needs response_format verbose_json.', {
      param: 'timestamp_granularities[]',
    });
  if (task === 'translate' && form.language !== undefined)
    throw new LodgeError('invalid_request', 'A translation takes no language: it always writes English.', {
      param: 'language',
    });
  const signal = clientGone(request, reply);
  const call = {
    audio: form.file,
    task,
    temperature: form.temperature,
    ...(form.language !== undefined ? { language: form.language } : {}),
    ...(form.prompt !== undefined ? { prompt: form.prompt } : {}),
  };
  noteUsage(request, { model: form.model });
  if (form.stream) return streamTranscript(engine, form, call, request, reply, signal);
  const result = await engine.transcribe(form.model, call, { signal });
  return sendTranscript(reply, form, task, result);
}

/** Streams each segment's text as it is decoded, then the whole text, as OpenAI streams them. */
async function streamTranscript(
  engine: Engine,
  form: AudioForm,
  call: Parameters<Engine['transcribe']>[1],
  request: FastifyRequest,
  reply: FastifyReply,
  signal: AbortSignal,
): Promise<void> {
  // The stream opens with the first segment: a failure before it (bad audio, a wrong model, a
  // load that fails) is still a plain error answer with its own status.
  const opened: { stream: ResponseStream | null } = { stream: null };
  const event = (data: unknown) => {
    opened.stream ??= openStream(request, reply, 'text/event-stream', signal);
    opened.stream.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  let first = true;
  try {
    const result = await engine.transcribe(form.model, call, { signal }, (text) => {
      event({ type: 'transcript.text.delta', delta: first ? text.trimStart() : text });
      first = false;
    });
    event({ type: 'transcript.text.done', text: result.text, usage: usage(result) });
  } catch (error) {
    if (opened.stream === null) throw error;
    const failure =
      error instanceof LodgeError ? error : new LodgeError('internal', 'The transcription failed.');
    event({
      type: 'error',
      error: { message: failure.message, type: 'invalid_request_error', code: failure.code },
    });
  } finally {
    opened.stream?.end();
  }
}

function usage(result: TranscribeResult) {
  return { type: 'duration', seconds: Math.ceil(result.duration) };
}

/** The answer in the asked format. */
function sendTranscript(
  reply: FastifyReply,
  form: AudioForm,
  task: 'transcribe' | 'translate',
  result: TranscribeResult,
): FastifyReply {
  switch (form.responseFormat) {
    case 'text':
      return reply.type('text/plain; charset=utf-8').send(`${result.text}\n`);
    case 'srt':
      return reply.type('text/plain; charset=utf-8').send(subtitles(result.segments, 'srt'));
    case 'vtt':
      return reply.type('text/vtt; charset=utf-8').send(subtitles(result.segments, 'vtt'));
    case 'verbose_json':
      return reply.send({
        task: task === 'transcribe' ? 'transcribe' : 'translate',
        language: task === 'translate' ? 'english' : languageName(result.language),
        duration: round(result.duration),
        text: result.text,
        segments: result.segments.map((segment) => segmentObject(segment, form.temperature)),
        usage: usage(result),
      });
    default:
      return reply.send({ text: result.text, usage: usage(result) });
  }
}

function segmentObject(segment: TranscriptSegment, temperature: number) {
  return {
    id: segment.id,
    seek: segment.seek,
    start: segment.start,
    end: segment.end,
    text: segment.text,
    tokens: segment.tokens,
    temperature,
    avg_logprob: segment.avgLogprob,
    compression_ratio: segment.compressionRatio,
    no_speech_prob: segment.noSpeechProb,
  };
}

/** SubRip or WebVTT cues, one per segment. */
export function subtitles(segments: readonly TranscriptSegment[], kind: 'srt' | 'vtt'): string {
  const cues = segments.map((segment, index) => {
    const time = `${clock(segment.start, kind)} --> ${clock(segment.end, kind)}`;
    const text = segment.text.trim();
    return kind === 'srt' ? `${index + 1}\n${time}\n${text}\n` : `${time}\n${text}\n`;
  });
  return kind === 'srt' ? `${cues.join('\n')}\n` : `WEBVTT\n\n${cues.join('\n')}\n`;
}

/** `HH:MM:SS,mmm` (SubRip) or `HH:MM:SS.mmm` (WebVTT). */
function clock(seconds: number, kind: 'srt' | 'vtt'): string {
  const millis = Math.round(seconds * 1000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const hours = Math.floor(millis / 3_600_000);
  const minutes = Math.floor(millis / 60_000) % 60;
  const secs = Math.floor(millis / 1000) % 60;
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}${kind === 'srt' ? ',' : '.'}${pad(millis % 1000, 3)}`;
}

/** `english` for `en`, as OpenAI names languages; the code itself when it has no English name. */
function languageName(code: string | null): string {
  if (code === null) return 'english';
  try {
    return (new Intl.DisplayNames(['en'], { type: 'language' }).of(code) ?? code).toLowerCase();
  } catch {
    return code;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
