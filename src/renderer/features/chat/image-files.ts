/** The image types Lodge's vision models read. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
/** The most images one message may carry (the conversation's contract allows no more). */
export const MAX_MESSAGE_IMAGES = 4;
/** The largest image file attached (the API takes 8 MiB, as base64 in a JSON body). */
const MAX_IMAGE_FILE_BYTES = 5 * 1024 * 1024;

/** Reads a file as a data URL. */
function dataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

/**
 * The image files among `files` as data URLs, and a sentence for each that was refused (not a png,
 * jpeg, webp or gif; too large), for the composer to show.
 */
export async function readImageFiles(
  files: Iterable<File>,
): Promise<{ images: string[]; refused: string[] }> {
  const images: string[] = [];
  const refused: string[] = [];
  for (const file of files) {
    const name = file.name || 'The pasted image';
    if (!(IMAGE_TYPES as readonly string[]).includes(file.type))
      refused.push(`${name} is not a png, jpeg, webp or gif image.`);
    else if (file.size > MAX_IMAGE_FILE_BYTES)
      refused.push(`${name} is larger than ${MAX_IMAGE_FILE_BYTES / 1024 / 1024} MiB.`);
    else images.push(await dataUrl(file));
  }
  return { images, refused };
}

/** The image files a paste carries (screenshots, copied images), if any. */
export function pastedImageFiles(event: ClipboardEvent): File[] {
  return [...(event.clipboardData?.items ?? [])]
    .filter((item) => item.kind === 'file' && item.type.startsWith('image/'))
    .map((item) => item.getAsFile())
    .filter((file): file is File => file !== null);
}
