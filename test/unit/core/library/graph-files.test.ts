import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compatibility, offeredVariants } from '../../../../src/main/core/hub/repo-files';
import { inspectModelFolder } from '../../../../src/main/core/library/model-folder';
import { VARIANTS } from '../../../../src/main/core/library/model-record';
import { CPU_ORDER } from '../../../../src/main/core/library/variant-choice';
import { fixturePath, TINY_LM } from '../../../fixtures/models';
import { tempDir } from '../../../helpers/temp-dir';

const hubFile = (path: string, size = 10) => ({ path, size, sha256: null, gitOid: null });

describe('one rule for graph files, on disk and on the hub', () => {
  it('takes decoder_model*.onnx for a variant on the hub as a model folder does', () => {
    const files = ['config.json', 'onnx/decoder_model.onnx', 'onnx/decoder_model_q4.onnx'].map((path) =>
      hubFile(path),
    );
    expect(compatibility(files)).toMatchObject({ problem: null, format: 'hf-onnx' });
    expect(compatibility(files).variants.map((variant) => variant.name)).toEqual(['fp32', 'q4']);
    expect(offeredVariants(files.map((file) => file.path))).toEqual(['fp32', 'q4']);

    const dir = tempDir();
    try {
      mkdirSync(join(dir.path, 'onnx'));
      writeFileSync(join(dir.path, 'config.json'), '{}');
      const graph = readFileSync(join(fixturePath(TINY_LM), 'onnx', 'model.onnx'));
      for (const name of ['decoder_model.onnx', 'decoder_model_q4.onnx'])
        writeFileSync(join(dir.path, 'onnx', name), graph);
      const found = inspectModelFolder(dir.path, 'acme/decoder');
      expect('record' in found && found.record.variants.map((variant) => variant.name)).toEqual([
        'fp32',
        'q4',
      ]);
    } finally {
      dir.remove();
    }
  });

  it('prefers model over decoder_model_merged over decoder_model for one variant, in both places', () => {
    const paths = ['onnx/decoder_model.onnx', 'onnx/model.onnx', 'onnx/decoder_model_merged.onnx'];
    const offer = compatibility(['config.json', ...paths].map((path) => hubFile(path)));
    expect(offer.variants.map((variant) => variant.files[0]?.path)).toEqual(['onnx/model.onnx']);

    const dir = tempDir();
    try {
      mkdirSync(join(dir.path, 'onnx'));
      writeFileSync(join(dir.path, 'config.json'), '{}');
      const graph = readFileSync(join(fixturePath(TINY_LM), 'onnx', 'model.onnx'));
      for (const name of ['decoder_model.onnx', 'decoder_model_merged.onnx'])
        writeFileSync(join(dir.path, 'onnx', name), graph);
      const found = inspectModelFolder(dir.path, 'acme/merged');
      expect('record' in found && found.record.variants.map((variant) => variant.file)).toEqual([
        join(dir.path, 'onnx', 'decoder_model_merged.onnx'),
      ]);
    } finally {
      dir.remove();
    }
  });

  it('counts only real external data files: not a backup whose name starts like one', () => {
    const offer = compatibility(
      ['config.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model.onnx_data.bak'].map((path) =>
        hubFile(path, 100),
      ),
    );
    expect(offer.variants[0]?.files.map((file) => file.path)).toEqual([
      'onnx/model.onnx',
      'onnx/model.onnx_data',
    ]);

    const dir = tempDir();
    try {
      mkdirSync(join(dir.path, 'onnx'));
      writeFileSync(join(dir.path, 'config.json'), '{}');
      const graph = readFileSync(join(fixturePath(TINY_LM), 'onnx', 'model.onnx'));
      writeFileSync(join(dir.path, 'onnx', 'model.onnx'), graph);
      writeFileSync(join(dir.path, 'onnx', 'model.onnx_data'), Buffer.alloc(1000));
      writeFileSync(join(dir.path, 'onnx', 'model.onnx_data.bak'), Buffer.alloc(5000));
      const found = inspectModelFolder(dir.path, 'acme/data');
      expect('record' in found && found.record.variants[0]?.bytes).toBe(graph.length + 1000);
    } finally {
      dir.remove();
    }
  });

  it('gives every variant a place in the CPU preference, once', () => {
    expect([...CPU_ORDER].sort()).toEqual([...VARIANTS].sort());
    expect(new Set(CPU_ORDER).size).toBe(VARIANTS.length);
    expect(CPU_ORDER.slice(0, 2)).toEqual(['q4', 'quantized']);
  });
});
