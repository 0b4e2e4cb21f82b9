import type { VariantName } from './model-record';

/** Variant preference on CPU: int8/int4 first (fast, small), fp16 last (x86 CPUs lack fp16 kernels). */
const CPU_ORDER: readonly VariantName[] = [
  'q4',
  'quantized',
  'int8',
  'uint8',
  'q8',
  'fp32',
  'bnb4',
  'fp16',
  'q4f16',
  'bf16',
];

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
