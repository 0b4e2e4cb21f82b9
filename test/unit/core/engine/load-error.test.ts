import { describe, expect, it } from 'vitest';
import { sanitizeLoadMessage } from '../../../../src/main/core/engine/load-error';

const dir = '/root/.lodge/models/acme/tiny';

describe('sanitizeLoadMessage', () => {
  it('names a file by its path inside the model folder', () => {
    expect(
      sanitizeLoadMessage(
        `acme/tiny could not be loaded: Load model from ${dir}/onnx/model.onnx failed:Protobuf parsing failed.`,
        dir,
      ),
    ).toBe('acme/tiny could not be loaded: Load model from onnx/model.onnx failed: Protobuf parsing failed.');
  });

  it('drops onnxruntime source references and the C++ function they name', () => {
    const message = sanitizeLoadMessage(
      `[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from ${dir}/model.onnx failed:This is an invalid model. In Node:(node_0), type: MatMul, Error: /onnxruntime_src/onnxruntime/core/graph/graph.cc:1422 void onnxruntime::Graph::InitializeStateFromModelFileGraphProto() This is an invalid model.`,
      dir,
    );
    expect(message).not.toMatch(/onnxruntime_src|graph\.cc|::|\/root/);
    expect(message).toMatch(/^INVALID_GRAPH: Load model from model\.onnx failed: This is an invalid model\./);
  });

  it('keeps only the file name of a path outside the model folder', () => {
    const message = sanitizeLoadMessage(
      'Exception during initialization: /onnxruntime_src/onnxruntime/core/optimizer/initializer.cc:43 onnxruntime::Initializer::Initializer(const onnx::TensorProto&, const std::filesystem::path&) [ONNXRuntimeError] : 1 : FAIL : GetFileLength for /var/lib/elsewhere/model.onnx_data failed:No such file or directory',
      dir,
    );
    expect(message).toBe(
      'Exception during initialization: FAIL: GetFileLength for model.onnx_data failed: No such file or directory',
    );
  });

  it('drops what a JSON parser quoted from the file', () => {
    for (const reason of [
      `Unexpected token 'r', "root:x:0:0:root:/root:/bin/bash"... is not valid JSON`,
      'Unexpected end of JSON input',
      `Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
      `Unexpected non-whitespace character after JSON at position 4 (line 1 column 5)`,
    ]) {
      expect(sanitizeLoadMessage(`The model's tokenizer.json is not valid JSON: ${reason}`, dir)).toBe(
        "The model's tokenizer.json is not valid JSON",
      );
    }
  });

  it('keeps a message that has nothing to hide, on one line and bounded', () => {
    expect(sanitizeLoadMessage('config.json does not say how many key/value heads the model has.', dir)).toBe(
      'config.json does not say how many key/value heads the model has.',
    );
    expect(sanitizeLoadMessage('first line\nat Object.<anonymous> (/app/x.js:1:1)', dir)).toBe('first line');
    expect(sanitizeLoadMessage('x'.repeat(1000), dir).length).toBeLessThanOrEqual(300);
  });
});
