import type { InferRequest, InferResult, NamedTensor, TensorInfo } from '../../../shared/engine';
import {
  openSession,
  tensor,
  type OpenedSession,
  type OpenOptions,
  type OrtTensor,
  type Session,
} from '../onnx/session';
import { ortErrorText } from '../onnx/ort-errors';
import { RunnerError } from '../runner-error';

/**
 * Any ONNX graph, served as tensors in and tensors out (KServe v2): named inputs of any ONNX
 * Runtime type are checked against the graph's metadata before the run.
 */
export class TensorModel {
  private constructor(private readonly session: Session) {}

  static async open(
    modelFile: string,
    options: OpenOptions,
  ): Promise<{ model: TensorModel; opened: OpenedSession }> {
    const opened = await openSession(modelFile, options);
    return { model: new TensorModel(opened.session), opened };
  }

  get inputs(): readonly TensorInfo[] {
    return this.session.inputs;
  }

  get outputs(): readonly TensorInfo[] {
    return this.session.outputs;
  }

  /** Runs the graph on `request.inputs` and returns the requested outputs (all by default). */
  async infer(request: InferRequest): Promise<InferResult> {
    const feeds: Record<string, OrtTensor> = {};
    const given = new Set(request.inputs.map((input) => input.name));
    for (const input of request.inputs) {
      const info = this.inputs.find((candidate) => candidate.name === input.name);
      if (!info)
        throw new RunnerError(
          'invalid_request',
          `The model has no input "${input.name}". Its inputs: ${names(this.inputs)}.`,
        );
      checkInput(input, info);
      feeds[input.name] = tensor(input.type, input.data, input.dims);
    }
    const missing = this.inputs.filter((info) => !given.has(info.name));
    if (missing.length > 0) throw new RunnerError('invalid_request', `Missing input(s): ${names(missing)}.`);
    const wanted = request.outputs ?? this.outputs.map((output) => output.name);
    for (const name of wanted) {
      if (!this.outputs.some((output) => output.name === name)) {
        throw new RunnerError(
          'invalid_request',
          `The model has no output "${name}". Its outputs: ${names(this.outputs)}.`,
        );
      }
    }
    let results: Record<string, OrtTensor>;
    try {
      results = await this.session.run(feeds, wanted);
    } catch (error) {
      throw new RunnerError('invalid_request', `Inference failed: ${ortErrorText(error)}`);
    }
    return {
      outputs: wanted.map((name) => {
        const result = results[name] as OrtTensor;
        return {
          name,
          type: result.type as NamedTensor['type'],
          dims: [...result.dims],
          data: result.data as NamedTensor['data'],
        };
      }),
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function checkInput(input: NamedTensor, info: TensorInfo): void {
  if (info.type !== 'unknown' && info.type !== input.type) {
    throw new RunnerError(
      'invalid_request',
      `Input "${input.name}" must be ${info.type}, not ${input.type}.`,
    );
  }
  if (info.shape.length > 0 && info.shape.length !== input.dims.length) {
    throw new RunnerError(
      'invalid_request',
      `Input "${input.name}" must have ${info.shape.length} dimensions [${info.shape.join(', ')}], not ${input.dims.length}.`,
    );
  }
  info.shape.forEach((dim, axis) => {
    if (typeof dim === 'number' && dim >= 0 && input.dims[axis] !== dim) {
      throw new RunnerError(
        'invalid_request',
        `Input "${input.name}" dimension ${axis} must be ${dim}, not ${input.dims[axis]}.`,
      );
    }
  });
  const elements = input.dims.reduce((product, dim) => product * dim, 1);
  if (input.data.length !== elements) {
    throw new RunnerError(
      'invalid_request',
      `Input "${input.name}" has shape [${input.dims.join(', ')}] (${elements} elements) but ${input.data.length} values.`,
    );
  }
}

function names(infos: readonly TensorInfo[]): string {
  return infos.map((info) => info.name).join(', ');
}
