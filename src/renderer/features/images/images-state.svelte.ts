import type { GalleryImage } from '../../../shared/contract/images';
import type { ModelSummary } from '../../../shared/contract/models';
import type { ApiClient } from '../../lib/api-client';
import { messageOf } from '../../lib/format';
import { generateImages, imageUrl, type ImageProgress } from './generate-images';

/** The sizes the view offers; `auto` is the model's own. */
export const SIZES = ['auto', '256x256', '512x512', '512x768', '768x512', '768x768', '1024x1024'] as const;

/** A number field's value (a bound number input holds a number, or null or '' when empty). */
type NumberField = number | string | null | undefined;

/** A number field: empty means "the model's default" (or a random seed). */
function optionalNumber(field: NumberField): number | undefined {
  if (field === null || field === undefined || (typeof field === 'string' && field.trim() === ''))
    return undefined;
  const value = Number(field);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The Images view's state: the image models, the form, the generation in flight with its progress,
 * and the gallery with a blob URL per image (revoked when the image leaves or the view closes).
 */
export class ImagesState {
  models = $state.raw<ModelSummary[]>([]);
  gallery = $state.raw<GalleryImage[]>([]);
  urls = $state.raw<Readonly<Record<string, string>>>({});
  loading = $state(true);
  model = $state('');
  prompt = $state('');
  negativePrompt = $state('');
  size = $state<(typeof SIZES)[number]>('auto');
  steps = $state<NumberField>(null);
  seed = $state<NumberField>(null);
  guidance = $state<NumberField>(null);
  count = $state<NumberField>(1);
  progress = $state.raw<ImageProgress | null>(null);
  generating = $state(false);
  error = $state<string | null>(null);
  #controller: AbortController | null = null;

  constructor(private readonly api: ApiClient) {}

  /** Reads the models and the gallery. */
  async load(signal?: AbortSignal): Promise<void> {
    try {
      const [models, gallery] = await Promise.all([
        this.api.call('models', undefined, signal),
        this.api.call('images', undefined, signal),
      ]);
      this.models = models.models.filter(
        (model) => model.task === 'text-to-image' && model.status === 'ready',
      );
      if (!this.models.some((model) => model.id === this.model)) this.model = this.models[0]?.id ?? '';
      await this.#showGallery(gallery.images, signal);
    } catch (caught) {
      if (!signal?.aborted) this.error = messageOf(caught);
    } finally {
      if (!signal?.aborted) this.loading = false;
    }
  }

  /** Generates with the form's settings; the new images join the gallery's front. */
  async generate(): Promise<void> {
    if (this.generating || this.model === '' || this.prompt.trim() === '') return;
    this.generating = true;
    this.error = null;
    this.progress = null;
    const controller = new AbortController();
    this.#controller = controller;
    try {
      const steps = optionalNumber(this.steps);
      const seed = optionalNumber(this.seed);
      const guidance = optionalNumber(this.guidance);
      const made = await generateImages(
        this.api,
        {
          model: this.model,
          prompt: this.prompt.trim(),
          ...(this.negativePrompt.trim() === '' ? {} : { negativePrompt: this.negativePrompt.trim() }),
          size: this.size,
          count: optionalNumber(this.count) ?? 1,
          ...(steps === undefined ? {} : { steps }),
          ...(seed === undefined ? {} : { seed }),
          ...(guidance === undefined ? {} : { guidanceScale: guidance }),
        },
        controller.signal,
        (progress) => (this.progress = progress),
      );
      await this.#showGallery([
        ...made,
        ...this.gallery.filter((image) => !made.some((each) => each.id === image.id)),
      ]);
    } catch (caught) {
      if (!controller.signal.aborted) this.error = messageOf(caught);
    } finally {
      this.generating = false;
      this.progress = null;
      this.#controller = null;
    }
  }

  /** Stops the generation in flight (the runner stops after its current step). */
  cancel(): void {
    this.#controller?.abort();
  }

  /** Deletes an image from the gallery. */
  async remove(id: string): Promise<void> {
    try {
      await this.api.call('deleteImage', { params: { id } });
      await this.#showGallery(this.gallery.filter((image) => image.id !== id));
    } catch (caught) {
      this.error = messageOf(caught);
    }
  }

  /** Puts an image's settings back in the form (its seed included), to make it again or vary it. */
  reuse(image: GalleryImage): void {
    this.prompt = image.prompt;
    this.negativePrompt = image.negativePrompt;
    this.seed = image.seed;
    this.steps = image.steps;
    this.guidance = image.guidanceScale;
    const size = `${image.width}x${image.height}`;
    this.size = SIZES.find((each) => each === size) ?? 'auto';
    if (this.models.some((model) => model.id === image.model)) this.model = image.model;
  }

  /** Frees the blob URLs and stops a generation in flight (the view is closing). */
  dispose(): void {
    this.cancel();
    for (const url of Object.values(this.urls)) URL.revokeObjectURL(url);
    this.urls = {};
  }

  async #showGallery(images: GalleryImage[], signal?: AbortSignal): Promise<void> {
    const entries = await Promise.all(
      images.map(
        async (image) =>
          [image.id, this.urls[image.id] ?? (await imageUrl(this.api, image.id, signal))] as const,
      ),
    );
    const urls: Record<string, string> = Object.fromEntries(entries);
    for (const [id, url] of Object.entries(this.urls)) if (!(id in urls)) URL.revokeObjectURL(url);
    this.urls = urls;
    this.gallery = images;
  }
}
