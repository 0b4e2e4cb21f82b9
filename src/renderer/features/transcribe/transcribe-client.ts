import type { ApiClient } from '../../lib/api-client';

/** Where the Library leaves the model to open the Transcribe view with. */
export const TRANSCRIBE_WITH = 'lodge.transcribe-with';

/** One timed stretch of a transcript, as verbose_json gives it. */
export interface Segment {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A transcript with its segments. */
export interface Transcript {
  readonly text: string;
  readonly language: string;
  readonly duration: number;
  readonly segments: readonly Segment[];
}

/** The ids of the library's ready speech-to-text models. */
export async function speechModels(api: ApiClient, signal?: AbortSignal): Promise<string[]> {
  const { models } = await api.call('models', undefined, signal);
  return models
    .filter((model) => model.task === 'speech-to-text' && model.status === 'ready')
    .map((model) => model.id);
}

/**
 * Transcribes (or translates into English) `audio` with `model` through Lodge's OpenAI
 * `/v1/audio/*` endpoint, as any client would; rejects with the server's message.
 */
export async function transcribe(
  api: ApiClient,
  audio: Blob,
  filename: string,
  options: { model: string; language?: string; translate?: boolean },
  signal?: AbortSignal,
): Promise<Transcript> {
  const form = new FormData();
  form.set('file', audio, filename);
  form.set('model', options.model);
  form.set('response_format', 'verbose_json');
  if (options.language && !options.translate) form.set('language', options.language);
  const path = options.translate ? '/v1/audio/translations' : '/v1/audio/transcriptions';
  const response = await api.postForm(path, form, signal);
  const body = (await response.json().catch(() => null)) as
    (Transcript & { error?: undefined }) | { error?: { message?: string } } | null;
  if (!response.ok || body === null || body.error !== undefined || !('text' in body))
    throw new Error(body?.error?.message ?? `Lodge answered ${response.status}.`);
  return body;
}

/** `m:ss.cc` for a time in seconds (hours when it has them). */
export function formatTime(seconds: number): string {
  const whole = Math.floor(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor(whole / 60) % 60;
  const rest = (seconds - whole + (whole % 60)).toFixed(2).padStart(5, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}
