import { describe, expect, it } from 'vitest';
import { LodgeError } from '../../../../src/main/core/errors';
import { parseSize } from '../../../../src/main/core/gallery/image-generation';

describe('image sizes', () => {
  it('reads WIDTHxHEIGHT, and auto or nothing as the model’s native square', () => {
    expect(parseSize('512x768', 512)).toEqual({ width: 512, height: 768 });
    expect(parseSize('auto', 64)).toEqual({ width: 64, height: 64 });
    expect(parseSize(undefined, 1024)).toEqual({ width: 1024, height: 1024 });
  });

  it('refuses sides that are not multiples of 8 within 64…2048, naming the size parameter', () => {
    for (const size of [
      '500x500',
      '56x64',
      '2056x64',
      '512',
      '512x',
      'x512',
      '512 x 512',
      '-512x512',
      '1e3x512',
    ]) {
      let caught: unknown = null;
      try {
        parseSize(size, 512);
      } catch (error) {
        caught = error;
      }
      expect(caught, size).toBeInstanceOf(LodgeError);
      expect(caught).toMatchObject({ code: 'invalid_request', details: { param: 'size' } });
    }
  });
});
