import { describe, expect, it } from 'vitest';
import {
  checkImageCount,
  imageFormat,
  imageFromBase64,
  imageFromUrl,
  MAX_IMAGE_BYTES,
  withImages,
} from '../../../../src/main/core/api/image-input';

const PNG = Buffer.from('\x89PNG\r\n\x1a\n0000', 'latin1');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const GIF = Buffer.from('GIF89a....', 'latin1');
const WEBP = Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1');

describe('images clients send', () => {
  it('knows png, jpeg, gif and webp by their first bytes, and nothing else', () => {
    expect([PNG, JPEG, GIF, WEBP].map((bytes) => imageFormat(bytes))).toEqual(['png', 'jpeg', 'gif', 'webp']);
    expect(imageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
  });

  it('decodes base64 with line breaks, and data URLs of each image type', () => {
    const wrapped = JPEG.toString('base64').replace(/(.{4})/g, '$1\n');
    expect(Buffer.from(imageFromBase64(wrapped, 'images[0]'))).toEqual(JPEG);
    expect(Buffer.from(imageFromUrl(`data:image/jpg;base64,${JPEG.toString('base64')}`, 'x'))).toEqual(JPEG);
    expect(Buffer.from(imageFromUrl(`data:image/webp;base64,${WEBP.toString('base64')}`, 'x'))).toEqual(WEBP);
  });

  it('refuses what is not an image, too large, or not inline, naming the field', () => {
    const svg = Buffer.from('<svg/>').toString('base64');
    expect(() =>
      imageFromUrl(`data:image/svg+xml;base64,${svg}`, 'messages[0].content[1].image_url'),
    ).toThrow(/messages\[0\]\.content\[1\]\.image_url is a data URL of image\/svg\+xml/);
    expect(() => imageFromUrl('data:image/png,rawbytes', 'p')).toThrow(/must be a base64 data URL/);
    expect(() => imageFromUrl('file:///etc/passwd', 'p')).toThrow(/p is not a data URL/);
    expect(() => imageFromBase64(Buffer.alloc(MAX_IMAGE_BYTES + 16).toString('base64'), 'p')).toThrow(
      /larger than 8 MiB/,
    );
  });

  it('puts a message’s images before its text, and bounds how many a request carries', () => {
    const message = withImages({ role: 'user', content: 'What is it?' }, [PNG]);
    expect(message.parts?.map((part) => part.type)).toEqual(['image', 'text']);
    expect(withImages({ role: 'user', content: 'Hi' }, [])).toEqual({ role: 'user', content: 'Hi' });
    const many = Array.from({ length: 17 }, () => message);
    expect(() => checkImageCount(many)).toThrow(/17 images; Lodge takes at most 16/);
    expect(() => checkImageCount(many.slice(0, 16))).not.toThrow();
  });
});
