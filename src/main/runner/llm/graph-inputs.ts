// What a language model's graph asks to be fed, read from its declared inputs and checked once at
// load, so an input Lodge cannot feed is a clear load error instead of a failed or wrong answer.
import { EXACT_INPUT } from '../onnx/screen-rewrite';
import { tensor, type OrtTensor, type Session } from '../onnx/session';
import { RunnerError } from '../runner-error';

/** An integer element type the graph may declare for ids, masks and positions. */
export type IntType = 'int64' | 'int32';

/** The inputs of a decoder graph and the element type of each. */
export interface GraphFeeds {
  readonly ids: IntType;
  /** Null when the graph takes no attention mask. */
  readonly mask: IntType | null;
  /** Null when the graph computes positions itself (GroupQueryAttention graphs). */
  readonly positions: IntType | null;
  /** `num_logits_to_keep` or `logits_to_keep`, when declared. */
  readonly keep: { readonly name: string; readonly type: IntType } | null;
  /** Whether the graph is a merged decoder with a `use_cache_branch` switch. */
  readonly cacheBranch: boolean;
  /** The element type of the past keys and values (and so of the presents fed back). */
  readonly kv: 'float32' | 'float16';
  /** Whether the graph has a screened LM head beside its exact one, chosen by `lodge.exact_logits`. */
  readonly exactSwitch: boolean;
}

const KEEP_NAMES = ['num_logits_to_keep', 'logits_to_keep'];
const PAST = /^past_key_values\.\d+\.(key|value)$/;

/**
 * Reads and checks every input and the logits output of `session`; throws `model_load_failed`
 * naming `model`, the tensor and its type for anything Lodge does not feed or read.
 */
export function checkGraph(session: Session, model: string): GraphFeeds {
  const refuse = (detail: string) =>
    new RunnerError('model_load_failed', `${model} cannot be loaded as a language model: ${detail}.`);
  const types = new Map(session.inputs.map((input) => [input.name, input.type]));
  const logits = session.outputs.find((output) => output.name === 'logits');
  if (!types.has('input_ids') || logits === undefined)
    throw refuse('its ONNX graph needs an input_ids input and a logits output');

  const int = (name: string): IntType | null => {
    const type = types.get(name);
    if (type === undefined) return null;
    if (type === 'int64' || type === 'int32') return type;
    throw refuse(`its input ${name} is ${type}, and Lodge feeds it as int64 or int32`);
  };
  const readable = (name: string, type: string): 'float32' | 'float16' => {
    if (type === 'float32' || type === 'float16') return type;
    if (type === 'bfloat16' || type === 'unknown')
      throw refuse(
        `${name} is ${type === 'unknown' ? 'of a type onnxruntime-node cannot hand to JavaScript (bfloat16?)' : 'bfloat16'}, which onnxruntime-node cannot exchange with JavaScript; use the model's fp32, fp16 or q4 variant`,
      );
    throw refuse(`${name} is ${type}; Lodge reads float32 or float16`);
  };

  let kv: 'float32' | 'float16' | null = null;
  for (const input of session.inputs) {
    const { name } = input;
    if (PAST.test(name)) {
      const type = readable(name, input.type);
      if (kv !== null && type !== kv) throw refuse('its past keys and values mix float32 and float16');
      kv = type;
    } else if (name === 'use_cache_branch' || name === EXACT_INPUT) {
      if (input.type !== 'bool') throw refuse(`its input ${name} is ${input.type}, not bool`);
    } else if (!['input_ids', 'attention_mask', 'position_ids', ...KEEP_NAMES].includes(name)) {
      throw refuse(`its graph has an input Lodge does not know how to feed (${name}, ${input.type})`);
    }
  }
  readable('its logits output', logits.type);
  const keepName = KEEP_NAMES.find((name) => types.has(name));
  const ids = int('input_ids') as IntType;
  return {
    ids,
    mask: int('attention_mask'),
    positions: int('position_ids'),
    keep: keepName === undefined ? null : { name: keepName, type: int(keepName) as IntType },
    cacheBranch: types.has('use_cache_branch'),
    kv: kv ?? 'float32',
    exactSwitch: types.has(EXACT_INPUT),
  };
}

/** A [rows, columns] tensor of integer ids or positions in the element type the graph declares. */
export function intRows(
  type: IntType,
  rows: number,
  columns: number,
  value: (index: number) => number,
): OrtTensor {
  const length = rows * columns;
  if (type === 'int32') {
    const data = new Int32Array(length);
    for (let index = 0; index < length; index++) data[index] = value(index);
    return tensor('int32', data, [rows, columns]);
  }
  const data = new BigInt64Array(length);
  for (let index = 0; index < length; index++) data[index] = BigInt(value(index));
  return tensor('int64', data, [rows, columns]);
}

/**
 * A [rows, columns] attention mask, 1 on the spans `spans(row)` gives (pairs of start and end
 * columns, flat) and 0 elsewhere: filled span by span, never a BigInt per element (a batched
 * step's mask is every row's whole past, each step).
 */
export function spanMask(
  type: IntType,
  rows: number,
  columns: number,
  spans: (row: number) => readonly number[],
): OrtTensor {
  const data = type === 'int32' ? new Int32Array(rows * columns) : new BigInt64Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    const own = spans(row);
    for (let at = 0; at + 1 < own.length; at += 2) {
      const start = row * columns + Math.max(0, own[at] as number);
      const end = row * columns + Math.min(columns, own[at + 1] as number);
      if (end <= start) continue;
      if (data instanceof Int32Array) data.fill(1, start, end);
      else data.fill(1n, start, end);
    }
  }
  return data instanceof Int32Array
    ? tensor('int32', data, [rows, columns])
    : tensor('int64', data, [rows, columns]);
}

/** A scalar `num_logits_to_keep` / `logits_to_keep` of `count` (0: every position). */
export function keepTensor(type: IntType, count: number): OrtTensor {
  return type === 'int64'
    ? tensor('int64', BigInt64Array.of(BigInt(count)), [])
    : tensor('int32', Int32Array.of(count), []);
}
