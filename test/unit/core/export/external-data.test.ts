import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { externalDataLocations } from '../../../../src/main/core/export/external-data';
import { DType, GraphBuilder } from '../../../fixtures/onnx-builder';
import { tempDir } from '../../../helpers/temp-dir';

/** A float tensor whose data lives in `location`, as an exporter writes one. */
function external(name: string, location: string): onnx.ITensorProto {
  return {
    name,
    dims: [4],
    dataType: DType.FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'offset', value: '0' },
      { key: 'location', value: location },
      { key: 'length', value: '16' },
    ],
  };
}

describe('the external data an ONNX graph names', () => {
  const dir = tempDir('lodge-external-');
  afterAll(() => dir.remove());

  const write = (name: string, model: onnx.ModelProto) => {
    const file = join(dir.path, name);
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    return file;
  };

  it('lists the locations of initializers, of nested graphs and of constant attributes, once each', () => {
    const branch = new GraphBuilder();
    branch.output('y', DType.FLOAT, [4]);
    const branchGraph = { ...branch.graph('then'), initializer: [external('w_then', 'then.bin')] };
    const g = new GraphBuilder();
    g.input('flag', DType.BOOL, []);
    g.float('inline', [512], new Float32Array(512));
    g.op('If', ['flag'], { then_branch: { graph: branchGraph }, else_branch: { graph: branchGraph } }, 'y');
    g.op('Constant', [], { value: { tensor: external('c', 'constants/c.bin') } }, 'c');
    g.output('y', DType.FLOAT, [4]);
    const model = g.model('outer');
    model.graph?.initializer?.push(external('w1', 'model.onnx_data'), external('w2', 'model.onnx_data_1'));
    model.graph?.initializer?.push(external('w3', 'model.onnx_data'));
    const file = write('nested.onnx', model);
    expect(externalDataLocations(file).sort()).toEqual([
      'constants/c.bin',
      'model.onnx_data',
      'model.onnx_data_1',
      'then.bin',
    ]);
  });

  it('lists none for a graph with its weights inline', () => {
    const g = new GraphBuilder();
    g.input('x', DType.FLOAT, [4]);
    g.op('Add', ['x', g.float('w', [4], Float32Array.of(1, 2, 3, 4))], {}, 'y');
    g.output('y', DType.FLOAT, [4]);
    expect(externalDataLocations(write('inline.onnx', g.model('inline')))).toEqual([]);
  });

  it('throws on a file that is not protobuf', () => {
    const file = join(dir.path, 'junk.onnx');
    writeFileSync(file, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(() => externalDataLocations(file)).toThrow();
  });
});
