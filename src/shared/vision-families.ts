/** The model types (config.json `model_type`) whose vision-language exports Lodge runs. */
export const VISION_FAMILIES: ReadonlySet<string> = new Set(['idefics3', 'smolvlm']);

/** Vision-language families transformers.js runs and Lodge does not yet, by model type, to name in refusals. */
export const OTHER_VISION_FAMILIES: Readonly<Record<string, string>> = {
  qwen2_vl: 'Qwen2-VL',
  qwen2_5_vl: 'Qwen2.5-VL',
  qwen3_vl: 'Qwen3-VL',
  florence2: 'Florence-2',
  phi3_v: 'Phi-3.5-vision',
  llava: 'LLaVA',
  llava_onevision: 'LLaVA-OneVision',
  paligemma: 'PaliGemma',
  gemma3: 'Gemma 3',
  gemma3n: 'Gemma 3n',
  moondream1: 'Moondream',
  lfm2_vl: 'LFM2-VL',
};

/** Why a vision-language model of `modelType` cannot run in Lodge, or null when it can. */
export function visionFamilyRefusal(modelType: string | null): string | null {
  if (modelType !== null && VISION_FAMILIES.has(modelType)) return null;
  const family = modelType === null ? 'an unknown' : `a ${OTHER_VISION_FAMILIES[modelType] ?? modelType}`;
  return `is ${family} vision-language model (model_type "${modelType ?? 'none'}"); Lodge runs SmolVLM and Idefics3 exports`;
}
