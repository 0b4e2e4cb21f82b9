// The shapes real Hugging Face exports take, as tiny generated language models: each one is run
// through Lodge's runner and through a reference, and must give the same greedy tokens.
import { SMALL_LM, type LanguageModelSpec } from '../../fixtures/models';

const BASE = SMALL_LM;

/** One conformance case: a name for the test title and the fixture's spec. */
export interface Shape {
  readonly name: string;
  readonly spec: LanguageModelSpec;
  /** Whether transformers.js runs this shape too (beside the bare onnxruntime loop). */
  readonly transformersJs: boolean;
  /**
   * Whether the runner fuses its attention into GroupQueryAttention at load (float32 attention in
   * plain ops, weights in the model file or in data files beside it): then the fused graph is what
   * must match.
   */
  readonly fused: boolean;
}

/** Every shape the suite covers. */
export const SHAPES: readonly Shape[] = [
  { name: 'fp32', spec: BASE, transformersJs: true, fused: true },
  {
    name: 'fp16 (fp16 activations, KV and logits)',
    spec: { ...BASE, dtype: 'fp16' },
    transformersJs: true,
    fused: false,
  },
  {
    name: 'q4 (MatMulNBits, packed zero points)',
    spec: { ...BASE, quant: 'q4', ffn: 96 },
    transformersJs: true,
    fused: true,
  },
  {
    name: 'q4f16',
    spec: { ...BASE, quant: 'q4', dtype: 'fp16', ffn: 96 },
    transformersJs: true,
    fused: false,
  },
  {
    name: 'int8 model_quantized (DynamicQuantizeLinear + MatMulInteger)',
    spec: { ...BASE, quant: 'int8' },
    transformersJs: true,
    fused: true,
  },
  { name: 'GroupQueryAttention, fp32 KV', spec: { ...BASE, gqa: true }, transformersJs: true, fused: false },
  {
    name: 'GroupQueryAttention, fp16 KV',
    spec: { ...BASE, gqa: true, dtype: 'fp16' },
    transformersJs: true,
    fused: false,
  },
  {
    name: 'decoder_model_merged.onnx (use_cache_branch)',
    spec: { ...BASE, merged: true },
    transformersJs: true,
    fused: false,
  },
  {
    name: 'external weights in model.onnx_data',
    spec: { ...BASE, externalData: true },
    transformersJs: true,
    fused: true,
  },
  {
    name: 'external weights split over model.onnx_data and model.onnx_data_1',
    spec: { ...BASE, externalFiles: 2 },
    transformersJs: true,
    fused: true,
  },
  { name: 'position_ids absent', spec: { ...BASE, noPositionIds: true }, transformersJs: true, fused: true },
  { name: 'num_logits_to_keep', spec: { ...BASE, numLogitsToKeep: true }, transformersJs: true, fused: true },
  {
    name: 'logits_to_keep',
    spec: { ...BASE, numLogitsToKeep: true, keepName: 'logits_to_keep' },
    // transformers.js 4.3.1 feeds num_logits_to_keep only: the bare loop is the reference here.
    transformersJs: false,
    fused: true,
  },
  {
    name: 'int32 input_ids, attention_mask and position_ids',
    spec: { ...BASE, int32Ids: true },
    // transformers.js 4.3.1 feeds int64 ids whatever the graph declares: the bare loop is the reference.
    transformersJs: false,
    fused: true,
  },
  {
    name: 'llama: rotary embeddings, RMSNorm, SwiGLU (head_dim 16)',
    spec: { ...BASE, rotary: { theta: 10_000 }, headDim: 16 },
    transformersJs: true,
    fused: true,
  },
  {
    name: 'llama: rotary embeddings on heads of 8',
    spec: { ...BASE, rotary: { theta: 10_000 } },
    transformersJs: true,
    fused: true,
  },
  { name: 'untied LM head', spec: { ...BASE, untied: true }, transformersJs: true, fused: true },
  { name: 'head_dim ≠ hidden / heads', spec: { ...BASE, headDim: 16 }, transformersJs: true, fused: true },
  {
    name: 'BOS written by the chat template',
    spec: { ...BASE, bos: 'template' },
    transformersJs: true,
    fused: true,
  },
  {
    name: 'a sliding window on every layer (the context capped at it)',
    spec: { ...BASE, slidingWindow: 128 },
    transformersJs: true,
    fused: true,
  },
  {
    name: 'BOS added by the tokenizer',
    spec: { ...BASE, bos: 'tokenizer' },
    transformersJs: true,
    fused: true,
  },
];
