import type { z } from 'zod';
import {
  GalleryImageSchema,
  ImageProgressSchema,
  type GalleryImage,
  type GenerateImagesSchema,
} from '../../../shared/contract/images';
import { serverSentEvents } from '../../../shared/sse';
import type { ApiClient } from '../../lib/api-client';

/** One step of a generation, as the stream reports it. */
export type ImageProgress = z.infer<typeof ImageProgressSchema>;

/**
 * Generates images through `POST /app/images/generate`, calling `onProgress` at each denoising
 * step; resolves with the kept images, rejects with the server's message.
 */
export async function generateImages(
  api: ApiClient,
  request: z.input<typeof GenerateImagesSchema>,
  signal: AbortSignal,
  onProgress: (progress: ImageProgress) => void,
): Promise<GalleryImage[]> {
  const response = await api.post('/app/images/generate', request, signal);
  if (!response.ok || response.body === null) throw new Error(await errorText(response));
  for await (const event of serverSentEvents(response.body)) {
    const data: unknown = JSON.parse(event.data);
    if (event.event === 'progress') onProgress(ImageProgressSchema.parse(data));
    else if (event.event === 'done')
      return GalleryImageSchema.array().parse((data as { images?: unknown }).images);
    else if (event.event === 'error') throw new Error(messageIn(data) ?? 'The generation failed.');
  }
  throw new Error('The generation ended before its images arrived.');
}

/** A blob URL of a gallery image (fetched with the API key, so it works with one set). */
export async function imageUrl(api: ApiClient, id: string, signal?: AbortSignal): Promise<string> {
  const response = await api.stream(
    `/app/images/${encodeURIComponent(id)}.png`,
    signal ?? new AbortController().signal,
  );
  return URL.createObjectURL(await response.blob());
}

async function errorText(response: Response): Promise<string> {
  try {
    return messageIn(await response.json()) ?? `Lodge answered ${response.status}.`;
  } catch {
    return `Lodge answered ${response.status}.`;
  }
}

function messageIn(body: unknown): string | null {
  const error = (body as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? error.message : null;
}
