import { VARIANTS, type VariantName } from './model-record';

/**
 * Each variant's place in the preference on CPU: int8/int4 first (fast, small), fp16 last (x86
 * CPUs lack fp16 kernels). Typed by {@link VariantName}, so a new variant without a place does
 * not compile.
 */
const CPU_RANK: Readonly<Record<VariantName, number>> = {
  q4: 0,
  quantized: 1,
  int8: 2,
  uint8: 3,
  q8: 4,
  fp32: 5,
  bnb4: 6,
  fp16: 7,
  q4f16: 8,
  bf16: 9,
};

/** Every variant, best on CPU first (from {@link VARIANTS} and {@link CPU_RANK}). */
export const CPU_ORDER: readonly VariantName[] = [...VARIANTS].sort((a, b) => CPU_RANK[a] - CPU_RANK[b]);

/** What choosing a variant needs: the variants on offer and the variant a preset pins, if any. */
export interface VariantChoice<V extends { readonly name: VariantName }> {
  readonly variants: readonly V[];
  readonly preset?: { readonly variant?: string | undefined };
}

/**
 * The variant to load: the one asked for, else the preset's, else the best for the CPU. Works on a
 * library record as on a hub repo's offer (anything with named variants), and returns the offered
 * entry itself. A choice with no variants is a programming error.
 */
export function chooseVariant<V extends { readonly name: VariantName }>(
  choice: VariantChoice<V>,
  wanted: VariantName | null,
): V {
  const pick = (name: string | undefined) => choice.variants.find((variant) => variant.name === name);
  const chosen = pick(wanted ?? undefined) ?? pick(choice.preset?.variant);
  if (chosen) return chosen;
  for (const name of CPU_ORDER) {
    const variant = pick(name);
    if (variant) return variant;
  }
  const first = choice.variants[0];
  if (first === undefined) throw new Error('chooseVariant needs at least one variant');
  return first;
}
