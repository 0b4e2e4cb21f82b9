import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { GalleryImageSchema, type GalleryImage } from '../../../shared/contract/images';
import { diskFullError, isDiskFull } from '../disk-full';
import { LodgeError } from '../errors';

const IndexSchema = z.object({ version: z.literal(1), images: z.array(GalleryImageSchema) });

/** An image id: what {@link Gallery.add} makes (time, then random), and nothing a path could hide in. */
const ID = /^[0-9a-z]{8,40}$/;

/**
 * Every generated image, kept in the data directory: `images/<id>.png` and `images/index.json`
 * (newest first), each written to a temporary name and renamed, so a crash leaves either the old
 * index or the new one. One core writes it; its methods are synchronous, so writes never interleave.
 */
export class Gallery {
  readonly #indexFile: string;

  constructor(readonly dir: string) {
    this.#indexFile = join(dir, 'index.json');
  }

  /** The kept images, newest first. */
  list(): GalleryImage[] {
    try {
      const parsed = IndexSchema.safeParse(JSON.parse(readFileSync(this.#indexFile, 'utf8')));
      return parsed.success ? parsed.data.images.filter((image) => existsSync(this.#file(image.id))) : [];
    } catch {
      return [];
    }
  }

  /** The image with `id`, or a `not_found` error. */
  get(id: string): GalleryImage {
    const image = ID.test(id) ? this.list().find((entry) => entry.id === id) : undefined;
    if (!image)
      throw new LodgeError(
        'not_found',
        `There is no image ${JSON.stringify(id.slice(0, 64))} in the gallery.`,
      );
    return image;
  }

  /** The PNG bytes of the image with `id`. */
  read(id: string): Buffer {
    this.get(id);
    return readFileSync(this.#file(id));
  }

  /** Keeps `png` with what made it; returns its entry. */
  add(png: Uint8Array, about: Omit<GalleryImage, 'id' | 'bytes' | 'createdAt'>): GalleryImage {
    const now = new Date();
    const id = `${now.getTime().toString(36)}${randomBytes(5).toString('hex')}`;
    const image: GalleryImage = { ...about, id, bytes: png.byteLength, createdAt: now.toISOString() };
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      atomicWrite(this.#file(id), png);
      this.#writeIndex([image, ...this.list()]);
    } catch (error) {
      rmSync(this.#file(id), { force: true });
      if (isDiskFull(error)) throw diskFullError(error);
      throw error;
    }
    return image;
  }

  /** Deletes the image with `id` (its file and its entry). */
  delete(id: string): void {
    this.get(id);
    this.#writeIndex(this.list().filter((image) => image.id !== id));
    rmSync(this.#file(id), { force: true });
  }

  #file(id: string): string {
    return join(this.dir, `${id}.png`);
  }

  #writeIndex(images: readonly GalleryImage[]): void {
    atomicWrite(this.#indexFile, `${JSON.stringify({ version: 1, images }, null, 1)}\n`);
  }
}

function atomicWrite(file: string, data: Uint8Array | string): void {
  const partial = `${file}.${process.pid}.part`;
  try {
    writeFileSync(partial, data, { mode: 0o600 });
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}
