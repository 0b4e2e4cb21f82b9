// Exact greedy tokens from a screened LM head (onnx/screen-rewrite.ts). A screened run computes
// every logit over int8 weights and int8 activations; for each token j this bounds how far that
// value can be from the exact one, from the run's own hidden state h:
//
//   exact_j − screened_j = ĥ·(w_j − ŵ_j) + (h − ĥ)·w_j            (ĥ, ŵ: the int8 values as floats)
//   |exact_j − screened_j| ≤ ‖ĥ‖₂‖w_j − ŵ_j‖₂ + ‖h − ĥ‖₂‖w_j‖₂ + float slack     (Cauchy–Schwarz)
//
// The weights' error norms are fixed at load; ĥ is what the run's DynamicQuantizeLinear made of h
// (its levels, scale and zero point come out of the graph with the logits), so ‖h − ĥ‖ is computed
// from the values MatMulInteger read. Then: the exact logit of the screened argmax is a lower bound
// on the best exact logit; only tokens whose screened value plus their bound reaches it can beat
// it (1 to a few dozen of 151,936 on the bench models), and those get their exact logits from the
// float weights, summed in the order onnxruntime's float32 head sums them (checked at load), so
// even near-ties resolve as the exact head's logits do. The token chosen is the exact head's argmax
// (ties: the lowest id).
import type { ScreenTables } from '../onnx/screen-rewrite';
import { RunnerError } from '../runner-error';
import { argmax, topIndices } from './top-k';

/** Relative slack on a screened value for the rounding of its last float operations (a few ulps). */
const VALUE_SLACK = 2.5e-7;
/**
 * How onnxruntime's float32 head may sum a logit: in blocks of K this long (MLAS' SGEMM on x86
 * takes 256), each a chain of fused multiply-adds from zero, the blocks added in order; Infinity:
 * one chain. The load check keeps the first that reproduces the exact head bit for bit.
 */
const SUMMATION_BLOCKS = [256, 128, 512, Infinity] as const;
/** Tokens compared per check run: the exact head's best and a spread sample of the rest. */
const ORDER_SAMPLE_TOP = 32;
const ORDER_SAMPLE_STRIDE = 97;
const NONE: ReadonlySet<number> = new Set();

/** One row's logits from a run: exact, or screened (`screen` set). */
export interface RowLogits {
  /** The logits; where `screen` is set, only its argmax (and what it resolves) is exact. */
  readonly values: Float32Array;
  readonly screen: RowScreen | null;
}

/** Exact logits as a {@link RowLogits}. */
export function exactLogits(values: Float32Array): RowLogits {
  return { values, screen: null };
}

/** What a screened run's DynamicQuantizeLinear made of its hidden state. */
export interface HeadQuantization {
  /** [rows, H] uint8 levels. */
  readonly levels: Uint8Array;
  readonly scale: number;
  readonly zero: number;
}

/** A model's screen: the head's float weights and error norms (from ScreenTables). */
export class HeadScreen {
  readonly #tables: ScreenTables;
  readonly #widestError: number;
  readonly #widestWeight: number;
  /** The summation orders that reproduced the exact head in every check so far, best first. */
  #orders: number[] = [...SUMMATION_BLOCKS];
  /** The order rows sum in: the first of #orders (shared with every row made, so a fit moves them all). */
  readonly #order = { block: SUMMATION_BLOCKS[0] as number };

  constructor(tables: ScreenTables) {
    this.#tables = tables;
    let error = 0;
    let weight = 0;
    for (let token = 0; token < tables.vocab; token++) {
      error = Math.max(error, tables.errorNorms[token] as number);
      weight = Math.max(weight, tables.weightNorms[token] as number);
    }
    this.#widestError = error;
    this.#widestWeight = weight;
  }

  /**
   * The screens of one screened run's rows: `hidden` is the head's whole input in that run
   * ([rows, H]: one position per row) and `quantization` what the run made of it.
   */
  rows(hidden: Float32Array, quantization: HeadQuantization, count: number): RowScreen[] {
    const size = this.#tables.hidden;
    const { levels, scale, zero } = quantization;
    if (hidden.length !== count * size || levels.length !== hidden.length)
      throw new RunnerError(
        'internal',
        `The screened head read ${hidden.length} hidden values (${levels.length} levels) for ${count} row(s) of ${size}.`,
      );
    const screens: RowScreen[] = [];
    for (let row = 0; row < count; row++) {
      const at = row * size;
      let squares = 0;
      let errors = 0;
      for (let index = 0; index < size; index++) {
        // Exact in float64: a float32 scale times an integer of 9 bits, then one subtraction.
        const level = scale * ((levels[at + index] as number) - zero);
        const error = (hidden[at + index] as number) - level;
        squares += level * level;
        errors += error * error;
      }
      // ‖h − ĥ‖ (a hair wider for float64's own rounding), and a bound on both ‖ĥ‖ and ‖h‖.
      const rounding = Math.sqrt(errors) * (1 + 1e-9);
      screens.push(
        new RowScreen(this.#tables, hidden.subarray(at, at + size), {
          quantizedNorm: Math.sqrt(squares) * (1 + 1e-9) + rounding,
          roundingNorm: rounding,
          widestError: this.#widestError,
          widestWeight: this.#widestWeight,
          order: this.#order,
        }),
      );
    }
    return screens;
  }

  /**
   * Keeps the summation orders under which `row`'s exact logits (its hidden state through the
   * float weights) equal `exact`, the exact head's own, bit for bit, on a sample of tokens; false
   * when none is left.
   */
  fitOrder(row: RowScreen, exact: Float32Array): boolean {
    const sample = [...topIndices(exact, ORDER_SAMPLE_TOP)];
    for (let token = 0; token < exact.length; token += ORDER_SAMPLE_STRIDE) sample.push(token);
    this.#orders = this.#orders.filter((block) =>
      sample.every((token) => row.exactIn(token, block) === exact[token]),
    );
    this.#order.block = this.#orders[0] ?? SUMMATION_BLOCKS[0];
    return this.#orders.length > 0;
  }
}

/** A row's norms and its screen's widest norms and summation order. */
interface RowBounds {
  /** An upper bound on ‖ĥ‖₂ and on ‖h‖₂. */
  readonly quantizedNorm: number;
  /** An upper bound on ‖h − ĥ‖₂. */
  readonly roundingNorm: number;
  readonly widestError: number;
  readonly widestWeight: number;
  /** The summation block of {@link RowScreen.exact} (see SUMMATION_BLOCKS), as the screen fits it. */
  readonly order: { readonly block: number };
}

/** One row of a screened run: bounds its screened logits and resolves tokens exactly. */
export class RowScreen {
  constructor(
    private readonly tables: ScreenTables,
    private readonly hidden: Float32Array,
    private readonly bounds: RowBounds,
  ) {}

  /** Token `token`'s exact logit: its float weights times the row's hidden state, plus the bias. */
  exact(token: number): number {
    return this.exactIn(token, this.bounds.order.block);
  }

  /** {@link exact}, summed in blocks of `block` (see SUMMATION_BLOCKS). */
  exactIn(token: number, block: number): number {
    const { rows, hidden: size, bias, biasFirst } = this.tables;
    const base = token * size;
    const offset = bias === null ? 0 : (bias[token] as number);
    let out = biasFirst ? offset : 0;
    for (let start = 0; start < size; start += block) {
      const end = Math.min(size, start + block);
      let sum = 0;
      for (let index = start; index < end; index++)
        sum = fusedMultiplyAdd(this.hidden[index] as number, rows[base + index] as number, sum);
      out = start === 0 && !biasFirst ? sum : Math.fround(out + sum);
    }
    return biasFirst || bias === null ? out : Math.fround(out + offset);
  }

  /** How far `token`'s screened logit `value` can be from its exact one. */
  bound(token: number, value: number): number {
    return (
      this.bounds.quantizedNorm * (this.tables.errorNorms[token] as number) +
      this.bounds.roundingNorm * (this.tables.weightNorms[token] as number) +
      VALUE_SLACK * Math.abs(value)
    );
  }

  /**
   * The exact argmax of `values` (this row's screened logits, masked and penalized in place):
   * `resolved` names the tokens whose values are already exact (then penalized), the rest are
   * screened. Tokens that could be the largest are resolved exactly in `values`.
   */
  argmax(values: Float32Array, resolved: ReadonlySet<number> = NONE): number {
    const { quantizedNorm, roundingNorm, widestError, widestWeight } = this.bounds;
    // A widest bound that is not finite (a hidden state with NaN or Infinity) bounds nothing.
    const widest = quantizedNorm * widestError + roundingNorm * widestWeight;
    if (!Number.isFinite(widest)) {
      // Every token but those a grammar forbade (-Infinity): a screened value may be NaN here.
      for (let token = 0; token < values.length; token++)
        if (!resolved.has(token) && values[token] !== -Infinity) values[token] = this.exact(token);
      return argmax(values);
    }
    let best = argmax(values);
    let bestValue = values[best] as number;
    if (!resolved.has(best)) {
      bestValue = this.exact(best);
      values[best] = bestValue;
    }
    for (const token of resolved) {
      const value = values[token] as number;
      if (value > bestValue || (value === bestValue && token < best)) {
        best = token;
        bestValue = value;
      }
    }
    // A screened value below `floor` cannot reach `bestValue` even with the widest bound there is.
    const floorOf = (target: number) => target - widest - 2 * VALUE_SLACK * Math.abs(target - widest);
    let floor = floorOf(bestValue);
    const length = values.length;
    for (let token = 0; token < length; token++) {
      const value = values[token] as number;
      if (!(value >= floor) || token === best) continue;
      if (resolved.size > 0 && resolved.has(token)) continue;
      if (value + this.bound(token, value) < bestValue) continue;
      const exact = this.exact(token);
      values[token] = exact;
      if (exact > bestValue || (exact === bestValue && token < best)) {
        best = token;
        bestValue = exact;
        floor = floorOf(bestValue);
      }
    }
    return best;
  }

  /**
   * Whether every screened logit of `screened` is within its bound of `exact` (the same row from
   * the exact head), allowing for float32 summation error in `exact` itself. For the load check.
   */
  covers(screened: Float32Array, exact: Float32Array): boolean {
    if (screened.length !== exact.length) return false;
    for (let token = 0; token < screened.length; token++) {
      const value = screened[token] as number;
      const allowed = this.bound(token, value) + VALUE_SLACK * Math.abs(exact[token] as number);
      if (!(Math.abs(value - (exact[token] as number)) <= allowed)) return false;
    }
    return true;
  }
}

/**
 * `a · b + c` rounded once to float32, as a float32 FMA rounds it (a, b, c float32). The product is
 * exact in float64; the sum may round there first, and a float64 sum that lands exactly halfway
 * between two float32 values would then round the wrong way: there the exact sum's side decides.
 */
function fusedMultiplyAdd(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const rounded = Math.fround(sum);
  const half = sum - rounded;
  if (half === 0 || Math.fround(rounded + 2 * half) !== rounded + 2 * half) return rounded;
  // `sum` is a float32 midpoint: the float64 rounding error (TwoSum) says which side the exact sum is on.
  const back = sum - product;
  const error = product - (sum - back) + (c - back);
  return error !== 0 && error > 0 === half > 0 ? rounded + 2 * half : rounded;
}
