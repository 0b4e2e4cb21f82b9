import { describe, expect, it } from 'vitest';
import { ortErrorText } from '../../../src/main/runner/onnx/ort-errors';

describe('onnxruntime errors for users', () => {
  it('drops the source path and C++ signature of a failed node, keeping what went wrong', () => {
    const text = ortErrorText(
      new Error(
        "Non-zero status code returned while running Concat node. Name:'Concat_12' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/concat.cc:121 onnxruntime::common::Status onnxruntime::ConcatBase::PrepareForCompute(onnxruntime::OpKernelContext*, const InlinedTensorsVector&, onnxruntime::Prepare&) const inputs_n_rank == inputs_0_rank was false. Ranks of input data are different, cannot concatenate them. expected rank: 4 got: 3\n",
      ),
    );
    expect(text).toBe(
      "Non-zero status code returned while running Concat node. Name:'Concat_12' Status Message: inputs_n_rank == inputs_0_rank was false. Ranks of input data are different, cannot concatenate them. expected rank: 4 got: 3",
    );
  });

  it('keeps a message without paths as it is, first line only', () => {
    expect(ortErrorText(new Error('Unsupported data type: 16\n    at fillNamesAndMetadata'))).toBe(
      'Unsupported data type: 16',
    );
  });
});
