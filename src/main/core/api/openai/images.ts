import { z } from 'zod';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import type { Gallery } from '../../gallery/gallery';
import { generateImages, MAX_IMAGES, MAX_STEPS } from '../../gallery/image-generation';
import type { Exchange } from '../responder/generation';
import { clientGone } from '../streaming';

/**
 * `POST /v1/images/generations`: OpenAI's fields, plus the local extensions `negative_prompt`,
 * `seed`, `steps` and `guidance_scale`. `quality`, `style`, `user` and `moderation` are accepted
 * and have no effect on a local diffusion model.
 */
export const ImageGenerationRequestSchema = z.looseObject({
  model: z.string().min(1).max(512).nullable().optional(),
  prompt: z.string().min(1, 'prompt must not be empty').max(32_000),
  n: z.number().int().min(1).max(MAX_IMAGES).nullable().optional(),
  size: z.string().max(16).nullable().optional(),
  response_format: z.enum(['b64_json', 'url']).nullable().optional(),
  output_format: z.string().max(16).nullable().optional(),
  quality: z.string().max(32).nullable().optional(),
  style: z.string().max(32).nullable().optional(),
  user: z.string().max(512).nullable().optional(),
  negative_prompt: z.string().max(32_000).nullable().optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .nullable()
    .optional(),
  steps: z.number().int().min(1).max(MAX_STEPS).nullable().optional(),
  guidance_scale: z.number().min(0).max(30).nullable().optional(),
});

/** Parsed form of {@link ImageGenerationRequestSchema}. */
export type ImageGenerationRequest = z.infer<typeof ImageGenerationRequestSchema>;

/**
 * Generates images and keeps them in the gallery. `b64_json` (the default) returns the PNGs;
 * `url` returns each image's gallery address on this server (`/app/images/<id>.png`, which needs
 * the API key like every route when one is set).
 */
export async function imageGenerations(
  engine: Engine,
  gallery: Gallery,
  body: ImageGenerationRequest,
  { request, reply }: Exchange,
): Promise<unknown> {
  if (body.output_format != null && body.output_format !== 'png')
    throw new LodgeError('invalid_request', 'output_format must be "png"; Lodge writes PNG images.', {
      param: 'output_format',
    });
  const generated = await generateImages(
    engine,
    gallery,
    {
      model: body.model ?? undefined,
      prompt: body.prompt,
      negativePrompt: body.negative_prompt ?? undefined,
      size: body.size ?? undefined,
      count: body.n ?? undefined,
      seed: body.seed ?? undefined,
      steps: body.steps ?? undefined,
      guidanceScale: body.guidance_scale ?? undefined,
    },
    { signal: clientGone(request, reply) },
  );
  const origin = `${request.protocol}://${request.host}`;
  return reply.send({
    created: Math.floor(Date.now() / 1000),
    data: generated.images.map(({ entry, png }) =>
      body.response_format === 'url'
        ? { url: `${origin}/app/images/${entry.id}.png`, revised_prompt: entry.prompt, seed: entry.seed }
        : { b64_json: Buffer.from(png).toString('base64'), revised_prompt: entry.prompt, seed: entry.seed },
    ),
    output_format: 'png',
    size: `${generated.images[0]?.entry.width ?? 0}x${generated.images[0]?.entry.height ?? 0}`,
  });
}
