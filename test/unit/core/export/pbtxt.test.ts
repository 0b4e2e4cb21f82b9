import { describe, expect, it } from 'vitest';
import { PbtxtError, parsePbtxt } from '../../../../src/main/core/export/pbtxt';
import { tritonConfigType } from '../../../../src/main/core/export/triton-schema';

const type = tritonConfigType();

/** The error a text raises, for its line, column and reason. */
function failure(text: string): PbtxtError {
  try {
    parsePbtxt(text, type);
  } catch (error) {
    if (error instanceof PbtxtError) return error;
    throw error;
  }
  throw new Error('the text parsed, but should not have');
}

describe('protobuf text format against Triton ModelConfig', () => {
  it('reads messages, repeated fields, lists, enums by name, strings, numbers and comments', () => {
    const text = [
      '# a comment line',
      'name: "my_model"  # a trailing comment',
      "platform: 'onnxruntime_onnx'",
      'max_batch_size: 8',
      'version_policy { latest: { num_versions: 2 } }',
      'input [',
      '  { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] },',
      '  { name: "ids", data_type: TYPE_INT64, dims: [ 1 ], reshape: { shape: [ ] } }',
      ']',
      'input < name: "t\\"q\\\\" data_type: TYPE_STRING dims: 3 dims: 0x10 >',
      'output { name: "y" data_type: 11 dims: [ -1 ] }',
      'dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 preserve_ordering: true }',
      'instance_group [ { kind: KIND_GPU count: 2 gpus: [0, 1] } ];',
      'default_model_filename: "model.onnx"',
    ].join('\n');
    expect(parsePbtxt(text, type)).toEqual({
      name: 'my_model',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      version_policy: { latest: { num_versions: 2 } },
      input: [
        { name: 'x', data_type: 'TYPE_FP32', dims: [-1, 4] },
        { name: 'ids', data_type: 'TYPE_INT64', dims: [1], reshape: { shape: [] } },
        { name: 't"q\\', data_type: 'TYPE_STRING', dims: [3, 16] },
      ],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [-1] }],
      dynamic_batching: {
        preferred_batch_size: [4, 8],
        max_queue_delay_microseconds: 100,
        preserve_ordering: true,
      },
      instance_group: [{ kind: 'KIND_GPU', count: 2, gpus: [0, 1] }],
      default_model_filename: 'model.onnx',
    });
  });

  it('reads adjacent strings as one, Unicode and octal escapes, and octal integers as protobuf does', () => {
    expect(parsePbtxt('name: "a" \'b\'\n "c" platform: "\\u00e9\\U0001F600\\101"', type)).toEqual({
      name: 'abc',
      platform: 'é😀A',
    });
    expect(parsePbtxt('max_batch_size: 010', type)).toEqual({ max_batch_size: 8 });
    expect(failure('max_batch_size: 09').message).toMatch(/is not an octal number/);
    expect(failure('name: "\\u12"').message).toMatch(/is not a Unicode escape/);
  });

  it('reads an empty text and an empty message', () => {
    expect(parsePbtxt('', type)).toEqual({});
    expect(parsePbtxt('dynamic_batching { }', type)).toEqual({ dynamic_batching: {} });
  });

  it('refuses an unknown field, with its line and column', () => {
    const error = failure('name: "m"\n  max_batch: 4');
    expect([error.line, error.column]).toEqual([2, 3]);
    expect(error.message).toBe('line 2, column 3: ModelConfig has no field "max_batch"');
  });

  it('refuses an unknown field inside a nested message', () => {
    expect(failure('input { name: "x" shape: [ 1 ] }').message).toBe(
      'line 1, column 19: ModelInput has no field "shape"',
    );
  });

  it('refuses a value of the wrong type', () => {
    expect(failure('max_batch_size: "8"').message).toMatch(
      /^line 1, column 17: "max_batch_size" takes an integer/,
    );
    expect(failure('name: my_model').message).toMatch(/^line 1, column 7: "name" takes a string/);
    expect(failure('input { name: "x" dims: [ 1.5 ] }').message).toMatch(/"dims" takes an integer/);
    expect(failure('dynamic_batching { preserve_ordering: yes }').message).toMatch(/takes true or false/);
    expect(failure('version_policy: 3').message).toMatch(/is a ModelVersionPolicy message: expected "\{"/);
  });

  it('refuses an integer out of its range', () => {
    expect(failure('max_batch_size: 2147483648').message).toMatch(
      /out of range for "max_batch_size" \(int32\)/,
    );
    expect(failure('version_policy { latest { num_versions: -1 } }').message).toMatch(/out of range/);
  });

  it('refuses an enum name the enum does not have', () => {
    expect(failure('input { data_type: TYPE_FLOAT }').message).toBe(
      'line 1, column 20: "TYPE_FLOAT" is not a value of DataType (field "data_type")',
    );
    expect(failure('instance_group { kind: "KIND_CPU" }').message).toMatch(/takes a Kind value by name/);
  });

  it('refuses a singular field set twice, a list for one, and two members of a oneof', () => {
    expect(failure('name: "a"\nname: "b"').message).toBe(
      'line 2, column 1: field "name" is set twice; it is not repeated',
    );
    expect(failure('max_batch_size: [ 1 ]').message).toMatch(/is not repeated, so it takes no \[list\]/);
    expect(failure('version_policy { latest { } all { } }').message).toMatch(
      /"all" and "latest" are both set, but only one of policy_choice may be/,
    );
  });

  it('refuses broken syntax: unclosed messages and strings, missing colons, stray characters', () => {
    expect(failure('input { name: "x"').message).toMatch(/the message is not closed: expected "\}"/);
    expect(failure('name: "x').message).toBe('line 1, column 9: a string is not closed on its line');
    expect(failure('name "x"').message).toMatch(/expected ":" after "name"/);
    expect(failure('input [ { name: "a" } { name: "b" } ]').message).toMatch(
      /expected "," between list elements/,
    );
    expect(failure('name: "a" }').message).toMatch(/expected a field name, found "\}"/);
    expect(failure('name: "a" @').message).toBe('line 1, column 11: unexpected character "@"');
    expect(failure('name: "\\q"').message).toMatch(/is not an escape/);
  });
});
