// Exact greedy tokens from a screened LM head (onnx/screen-rewrite.ts). A screened run computes
// every logit over int8 weights and int8 activations; for each token j this bounds how far that
// value can be from the exact one, from the run's own hidden state h:
//
//   exact_j − screened_j = ĥ·(w_j − ŵ_j) + (h − ĥ)·w_j            (ĥ, ŵ: the int8 values as floats)
//   |exact_j − screened_j| ≤ ‖ĥ‖₂‖w_j − ŵ_j‖₂ + ‖h − ĥ‖₂‖w_j‖₂ + float slack     (Cauchy–Schwarz)
//
// The weights' error norms are fixed at load; ‖h − ĥ‖ follows from DynamicQuantizeLinear's
// rounding, which is specified (one scale over the whole run: the range of h and 0, over 255
// steps), so it is recomputed here, widened where onnxruntime's float arithmetic or its saturation
// at the range's ends could round a value the other way. Then: the exact logit of the screened
// argmax is a lower bound on the best exact logit; only tokens whose screened value plus their
// bound reaches it can beat it (usually a few dozen of 151,936), and those get their exact logits
// from the float weights. The token chosen is the exact head's argmax (ties: the lowest id).
import type { ScreenTables } from '../onnx/screen-rewrite';
import { RunnerError } from '../runner-error';
import { argmax } from './top-k';

/** DynamicQuantizeLinear's steps over the range of its input (uint8). */
const ACTIVATION_STEPS = 255;
/** Widening of each value's rounding error, in steps: onnxruntime's float division may round apart from ours. */
const ROUNDING_MARGIN = 1e-3;
/** Values this close to the range's ends (in steps) may saturate a step away (the zero point rounds). */
const SATURATION_REACH = 1.5;
/** Relative slack on a screened value for the rounding of its last float operations (a few ulps). */
const VALUE_SLACK = 2.5e-7;
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

/** A model's screen: the head's float weights and error norms (from ScreenTables). */
export class HeadScreen {
  readonly #tables: ScreenTables;
  readonly #widestError: number;
  readonly #widestWeight: number;

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
   * ([rows, H]: one position per row), which its activations were quantized over.
   */
  rows(hidden: Float32Array, count: number): RowScreen[] {
    const size = this.#tables.hidden;
    if (hidden.length !== count * size)
      throw new RunnerError(
        'internal',
        `The screened head read ${hidden.length} hidden values for ${count} row(s) of ${size}.`,
      );
    let low = 0;
    let high = 0;
    for (let index = 0; index < hidden.length; index++) {
      const value = hidden[index] as number;
      if (value < low) low = value;
      if (value > high) high = value;
    }
    const step = Math.fround(Math.fround(high - low) / ACTIVATION_STEPS);
    const screens: RowScreen[] = [];
    for (let row = 0; row < count; row++) {
      const own = hidden.subarray(row * size, (row + 1) * size);
      let squares = 0;
      let errors = 0;
      for (let index = 0; index < size; index++) {
        const value = own[index] as number;
        squares += value * value;
        if (step > 0) {
          let error = Math.abs(value - step * Math.round(value / step)) + ROUNDING_MARGIN * step;
          if (value >= high - SATURATION_REACH * step || value <= low + SATURATION_REACH * step)
            error += step;
          errors += error * error;
        }
      }
      const rounding = Math.sqrt(errors);
      screens.push(
        new RowScreen(
          this.#tables,
          own,
          Math.sqrt(squares) + rounding,
          rounding,
          this.#widestError,
          this.#widestWeight,
        ),
      );
    }
    return screens;
  }
}

/** One row of a screened run: bounds its screened logits and resolves tokens exactly. */
export class RowScreen {
  constructor(
    private readonly tables: ScreenTables,
    private readonly hidden: Float32Array,
    /** An upper bound on ‖ĥ‖₂: ‖h‖₂ plus the rounding's norm. */
    private readonly quantizedNorm: number,
    /** An upper bound on ‖h − ĥ‖₂. */
    private readonly roundingNorm: number,
    private readonly widestError: number,
    private readonly widestWeight: number,
  ) {}

  /** Token `token`'s exact logit (its float weights times the row's hidden state, plus the bias). */
  exact(token: number): number {
    const { rows, hidden: size, bias } = this.tables;
    const base = token * size;
    let sum = 0;
    for (let index = 0; index < size; index++)
      sum += (this.hidden[index] as number) * (rows[base + index] as number);
    return Math.fround(sum + (bias === null ? 0 : (bias[token] as number)));
  }

  /** How far `token`'s screened logit `value` can be from its exact one. */
  bound(token: number, value: number): number {
    return (
      this.quantizedNorm * (this.tables.errorNorms[token] as number) +
      this.roundingNorm * (this.tables.weightNorms[token] as number) +
      VALUE_SLACK * Math.abs(value)
    );
  }

  /**
   * The exact argmax of `values` (this row's screened logits, masked and penalized in place):
   * `resolved` names the tokens whose values are already exact (then penalized), the rest are
   * screened. Tokens that could be the largest are resolved exactly in `values`.
   */
  argmax(values: Float32Array, resolved: ReadonlySet<number> = NONE): number {
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
    const widest = this.quantizedNorm * this.widestError + this.roundingNorm * this.widestWeight;
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
    const summation = this.tables.hidden * 1.2e-7 * this.quantizedNorm;
    for (let token = 0; token < screened.length; token++) {
      const value = screened[token] as number;
      const allowed =
        this.bound(token, value) +
        summation * (this.tables.weightNorms[token] as number) +
        VALUE_SLACK * Math.abs(exact[token] as number);
      if (!(Math.abs(value - (exact[token] as number)) <= allowed)) return false;
    }
    return true;
  }
}
