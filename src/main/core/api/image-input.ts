// Images that clients send into chat, as every API family carries them: data URLs (OpenAI),
// bare base64 (Ollama, Anthropic). Decoded and bounded here, checked to be an image format the
// runner decodes, and handed on as bytes; the runner decodes and resizes them.
import type { ChatMessage, ContentPart } from '../../../shared/engine';
import { LodgeError } from '../errors';

/** The most images one request may carry. */
export const MAX_IMAGES = 16;
/** The largest one image may be, encoded (the request body's own limit usually comes first). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

const FORMATS = 'png, jpeg, webp or gif';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The image format the bytes start like (png, jpeg, gif, webp), or null. */
export function imageFormat(bytes: Uint8Array): string | null {
  const at = (offset: number, text: string) =>
    [...text].every((char, index) => bytes[offset + index] === char.charCodeAt(0));
  if (bytes[0] === 0x89 && at(1, 'PNG')) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (at(0, 'GIF8')) return 'gif';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  return null;
}

/** The bytes of a base64 image (whitespace allowed), checked for size and format; `param` names it in errors. */
export function imageFromBase64(text: string, param: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 === 1 || !BASE64.test(compact))
    throw new LodgeError('invalid_request', `${param} is not valid base64 image data.`, { param });
  if ((compact.length * 3) / 4 > MAX_IMAGE_BYTES + 3)
    throw new LodgeError(
      'invalid_request',
      `${param} is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MiB; send a smaller image.`,
      { param },
    );
  const bytes = new Uint8Array(Buffer.from(compact, 'base64'));
  if (imageFormat(bytes) === null)
    throw new LodgeError('invalid_request', `${param} is not a ${FORMATS} image.`, { param });
  return bytes;
}

/**
 * The bytes of an image given by URL: a `data:image/…;base64,` URL is decoded; an http(s) URL is
 * refused (Lodge does not fetch images from the network for a client), anything else too.
 */
export function imageFromUrl(url: string, param: string): Uint8Array {
  const data = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (data) {
    const [, type = '', parameters = '', payload = ''] = data;
    if (!/^image\/(png|jpeg|jpg|webp|gif)$/i.test(type))
      throw new LodgeError(
        'invalid_request',
        `${param} is a data URL of ${type || 'no type'}; send a ${FORMATS} image (data:image/png;base64,…).`,
        { param },
      );
    if (!/;base64$/i.test(parameters))
      throw new LodgeError('invalid_request', `${param} must be a base64 data URL (data:${type};base64,…).`, {
        param,
      });
    return imageFromBase64(payload, param);
  }
  if (/^https?:/i.test(url))
    throw new LodgeError(
      'invalid_request',
      `${param} is an http(s) URL, and Lodge downloads images for a request only when allowRemoteImages is on in Settings. Send the image itself as a data URL (data:image/png;base64,…), or turn the setting on.`,
      { param },
    );
  throw new LodgeError('invalid_request', `${param} is not a data URL (data:image/png;base64,…).`, { param });
}

/** Refuses more than {@link MAX_IMAGES} images in one request's messages. */
export function checkImageCount(messages: readonly ChatMessage[]): void {
  const count = messages.reduce(
    (sum, message) => sum + (message.parts?.filter((part) => part.type === 'image').length ?? 0),
    0,
  );
  if (count > MAX_IMAGES)
    throw new LodgeError(
      'invalid_request',
      `The request carries ${count} images; Lodge takes at most ${MAX_IMAGES} in one request.`,
      { param: 'messages' },
    );
}

/** A message with its images before its text (the shape vision prompts take), or the text alone. */
export function withImages(message: ChatMessage, images: readonly Uint8Array[]): ChatMessage {
  if (images.length === 0) return message;
  const parts: ContentPart[] = [
    ...images.map((image) => ({ type: 'image' as const, image })),
    ...(message.content !== '' ? [{ type: 'text' as const, text: message.content }] : []),
  ];
  return { ...message, parts };
}
