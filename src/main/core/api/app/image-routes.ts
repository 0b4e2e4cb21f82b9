import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { GenerateImagesSchema, ImageParamsSchema } from '../../../../shared/contract/images';
import { contractRoute } from '../contract-route';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import type { Gallery } from '../../gallery/gallery';
import { generateImages } from '../../gallery/image-generation';
import { toLodgeError } from '../error-handler';
import { clientGone, openStream } from '../streaming';

/**
 * The gallery on the app API: `GET /app/images` (newest first), `GET /app/images/<id>.png`,
 * `DELETE /app/images/<id>`, and `POST /app/images/generate`, which streams Server-Sent Events:
 * `progress` ({image, images, step, steps}) per denoising step, then `done` ({model, images}) or
 * `error` ({error: {code, message}}).
 */
export function registerImageRoutes(app: FastifyInstance, engine: Engine, gallery: Gallery): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  contractRoute(app, 'images', () => ({ images: gallery.list() }));
  typed.get('/app/images/:id', { schema: { tags: ['app'], params: ImageParamsSchema } }, (request, reply) => {
    const id = request.params.id.replace(/\.png$/, '');
    const png = gallery.read(id);
    return reply
      .header('content-type', 'image/png')
      .header('cache-control', 'private, max-age=31536000, immutable')
      .send(png);
  });
  typed.delete('/app/images/:id', { schema: { tags: ['app'], params: ImageParamsSchema } }, (request) => {
    gallery.delete(request.params.id.replace(/\.png$/, ''));
    return { deleted: true };
  });
  typed.post(
    '/app/images/generate',
    { schema: { tags: ['app'], body: GenerateImagesSchema } },
    async (request, reply) => {
      const body = request.body;
      // A model that does not exist or cannot draw is a plain error answer, before the stream opens.
      const { record } = engine.resolve(body.model);
      if (record.task !== 'text-to-image')
        throw new LodgeError('invalid_request', `${record.id} is not an image-generation model.`, {
          param: 'model',
        });
      const signal = clientGone(request, reply);
      const stream = openStream(request, reply, 'text/event-stream; charset=utf-8', signal);
      const send = (event: string, data: unknown) =>
        stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      try {
        const generated = await generateImages(engine, gallery, body, {
          signal,
          onProgress: (progress) => send('progress', progress),
        });
        send('done', { model: generated.model, images: generated.images.map((image) => image.entry) });
      } catch (error) {
        const failure = toLodgeError(error, request);
        send('error', { error: { code: failure.code, message: failure.message } });
      } finally {
        stream.end();
      }
    },
  );
}
