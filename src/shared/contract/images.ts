import { z } from 'zod';

/** One image kept in the gallery: what made it, and its PNG's size. */
export const GalleryImageSchema = z.object({
  id: z.string(),
  model: z.string(),
  prompt: z.string(),
  negativePrompt: z.string(),
  width: z.number(),
  height: z.number(),
  steps: z.number(),
  guidanceScale: z.number(),
  seed: z.number(),
  scheduler: z.string(),
  bytes: z.number(),
  createdAt: z.string(),
});

/** Parsed form of {@link GalleryImageSchema}. */
export type GalleryImage = z.infer<typeof GalleryImageSchema>;

/** The gallery, newest first. */
export const GalleryListSchema = z.object({ images: z.array(GalleryImageSchema) });

/** The path parameter naming one image (`<id>` or `<id>.png`). */
export const ImageParamsSchema = z.object({ id: z.string().max(80) });

/** The answer to deleting an image. */
export const DeleteImageResultSchema = z.object({ deleted: z.boolean() });

/** What `POST /app/models/demo` wrote (ids; folders already there are kept) and what the library added. */
export const DemoModelsResultSchema = z.object({ written: z.array(z.string()), added: z.array(z.string()) });

/** One image-generation request from the Images view (sizes as `WxH`). */
export const GenerateImagesSchema = z.object({
  model: z.string().min(1).max(512),
  prompt: z.string().min(1, 'prompt must not be empty').max(32_000),
  negativePrompt: z.string().max(32_000).optional(),
  size: z.string().max(16).optional(),
  count: z.number().int().min(1).max(10).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  steps: z.number().int().min(1).max(150).optional(),
  guidanceScale: z.number().min(0).max(30).optional(),
});

/** A progress event of `POST /app/images/generate`: step `step` of `steps` of image `image` (from 0). */
export const ImageProgressSchema = z.object({
  image: z.number(),
  images: z.number(),
  step: z.number(),
  steps: z.number(),
});
