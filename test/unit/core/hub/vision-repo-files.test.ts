import { describe, expect, it } from 'vitest';
import { compatibility, filesFor } from '../../../../src/main/core/hub/repo-files';
import type { HubFile } from '../../../../src/main/core/hub/hub-client';

const file = (path: string, size = 10): HubFile => ({ path, size, sha256: null, gitOid: null });

describe('hub downloads of a vision-language repo', () => {
  // What onnx-community/SmolVLM-256M-Instruct lists, trimmed to two dtypes.
  const files = [
    'config.json',
    'generation_config.json',
    'preprocessor_config.json',
    'processor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'onnx/decoder_model_merged.onnx',
    'onnx/decoder_model_merged.onnx_data',
    'onnx/embed_tokens.onnx',
    'onnx/vision_encoder.onnx',
    'onnx/decoder_model_merged_q4.onnx',
    'onnx/embed_tokens_q4.onnx',
    'onnx/vision_encoder_q4.onnx',
  ].map((path) => file(path));

  it('downloads all three graphs of the chosen variant, their data and the image processor configs', () => {
    const offer = compatibility(files);
    const q4 = offer.variants.find((variant) => variant.name === 'q4');
    if (!q4) throw new Error('no q4 variant');
    expect(
      filesFor(files, q4)
        .map((entry) => entry.path)
        .sort(),
    ).toEqual(
      [
        'config.json',
        'generation_config.json',
        'preprocessor_config.json',
        'processor_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'onnx/decoder_model_merged_q4.onnx',
        'onnx/embed_tokens_q4.onnx',
        'onnx/vision_encoder_q4.onnx',
      ].sort(),
    );
    const fp32 = offer.variants.find((variant) => variant.name === 'fp32');
    expect(fp32?.files.map((entry) => entry.path)).toEqual([
      'onnx/decoder_model_merged.onnx',
      'onnx/decoder_model_merged.onnx_data',
      'onnx/embed_tokens.onnx',
      'onnx/vision_encoder.onnx',
    ]);
    expect(fp32?.bytes).toBe(40);
  });
});
