import { describe, expect, it } from 'vitest';
import {
  estimateBytes,
  fits,
  KEEP_FOREVER,
  keepAliveMsOf,
  MAX_TIMER_MS,
  memoryBudgetBytes,
  resolveSampling,
  parallelOf,
  quantizeOf,
  schedulerPolicy,
  timerKeepAlive,
} from '../../../../src/main/core/model-policy';
import { chooseVariant } from '../../../../src/main/core/library/variant-choice';
import { DEFAULT_SETTINGS } from '../../../../src/main/core/config';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('model policy', () => {
  it('budgets weights with a factor and a floor of runtime overhead', () => {
    expect(estimateBytes(10 * MiB)).toBe(74 * MiB);
    expect(estimateBytes(4 * GiB)).toBe(5 * GiB);
    // Whole bytes: 438,456,739 × 1.25 is 548,070,923.75.
    expect(estimateBytes(438_456_739)).toBe(548_070_924);
  });

  it('fits a model against the budget it is given: the user’s when set, else 80 % of memory', () => {
    expect(memoryBudgetBytes(2048, 64 * GiB)).toBe(2 * GiB);
    expect(memoryBudgetBytes(null, 10 * GiB)).toBe(8 * GiB);
    // 1.8 GiB of weights need 2.25 GiB: too much for a 2 GiB budget on a 64 GiB machine.
    expect(fits(1.8 * GiB, memoryBudgetBytes(2048, 64 * GiB))).toBe(false);
    expect(fits(1.8 * GiB, memoryBudgetBytes(null, 64 * GiB))).toBe(true);
    expect(fits(1.6 * GiB, 2 * GiB)).toBe(true);
  });

  it('converts keep-alive seconds once: negative keeps the model loaded', () => {
    expect(keepAliveMsOf(300)).toBe(300_000);
    expect(keepAliveMsOf(0)).toBe(0);
    expect(keepAliveMsOf(-1)).toBe(KEEP_FOREVER);
  });

  it('treats a keep-alive longer than a timer can wait as forever', () => {
    expect(timerKeepAlive(60_000)).toBe(60_000);
    expect(timerKeepAlive(MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
    expect(timerKeepAlive(MAX_TIMER_MS + 1)).toBe(KEEP_FOREVER);
    expect(timerKeepAlive(99_999_999 * 3600 * 1000)).toBe(KEEP_FOREVER);
    expect(timerKeepAlive(Number.POSITIVE_INFINITY)).toBe(KEEP_FOREVER);
    expect(timerKeepAlive(-5)).toBe(KEEP_FOREVER);
  });

  it('picks a variant without a record: asked for, else the preset’s, else the CPU’s best, else the first', () => {
    const variants = [{ name: 'fp16' as const }, { name: 'fp32' as const }, { name: 'q4' as const }];
    expect(chooseVariant({ variants }, 'fp16').name).toBe('fp16');
    expect(chooseVariant({ variants, preset: { variant: 'fp32' } }, null).name).toBe('fp32');
    expect(chooseVariant({ variants, preset: { variant: 'int8' } }, null).name).toBe('q4');
    expect(chooseVariant({ variants }, null).name).toBe('q4');
    expect(chooseVariant({ variants: [{ name: 'fp16' as const }] }, 'int8').name).toBe('fp16');
    expect(() => chooseVariant({ variants: [] }, null)).toThrow(/at least one variant/);
  });

  it('derives the scheduler’s settings from the user’s and the machine', () => {
    expect(
      schedulerPolicy(
        { ...DEFAULT_SETTINGS, threads: 0, keepAliveSeconds: -1, memoryBudgetMb: null },
        { physicalCores: 6, totalMemoryBytes: 10 * GiB },
      ),
    ).toMatchObject({ threads: 6, keepAliveMs: KEEP_FOREVER, memoryBudgetBytes: 8 * GiB });
    expect(
      schedulerPolicy(
        { ...DEFAULT_SETTINGS, threads: 2, keepAliveSeconds: 30, memoryBudgetMb: 512 },
        { physicalCores: 6, totalMemoryBytes: 10 * GiB },
      ),
    ).toMatchObject({ threads: 2, keepAliveMs: 30_000, memoryBudgetBytes: 512 * MiB });
  });

  it('runs as many generations together as the preset says, else the parallel setting; one for other tasks', () => {
    expect(schedulerPolicy(DEFAULT_SETTINGS, { physicalCores: 2, totalMemoryBytes: GiB })).toMatchObject({
      parallel: 4,
    });
    const lm = { task: 'text-generation', preset: {} } as const;
    expect(parallelOf(lm, 4)).toBe(4);
    expect(parallelOf({ ...lm, preset: { parallel: 1 } }, 4)).toBe(1);
    expect(parallelOf({ ...lm, preset: { parallel: 16 } }, 4)).toBe(16);
    expect(parallelOf({ task: 'embeddings', preset: { parallel: 8 } }, 4)).toBe(1);
  });

  it("quantizes a language model at load as its preset says, else as the setting; never another task's", () => {
    expect(schedulerPolicy(DEFAULT_SETTINGS, { physicalCores: 2, totalMemoryBytes: GiB })).toMatchObject({
      quantize: 'off',
    });
    const lm = { task: 'text-generation', preset: {} } as const;
    expect(quantizeOf(lm, 'q8')).toBe('q8');
    expect(quantizeOf({ ...lm, preset: { quantize: 'off' } }, 'q8')).toBe('off');
    expect(quantizeOf({ ...lm, preset: { quantize: 'q4' } }, 'off')).toBe('q4');
    expect(quantizeOf({ task: 'embeddings', preset: { quantize: 'q4' } }, 'q8')).toBe('off');
  });

  it('resolves sampling as policy: the request, else generation_config.json, else neutral', () => {
    const sampling = resolveSampling({ topK: 5 }, { temperature: 0.6, topK: 20, repetitionPenalty: 1.1 }, 1);
    expect(sampling).toMatchObject({ temperature: 0.6, topK: 5, topP: 1, repetitionPenalty: 1.1 });
    // A penalty from generation_config.json covers the whole sequence, as Hugging Face means it.
    expect(sampling.repeatLastN).toBe(Number.MAX_SAFE_INTEGER);
    // Nothing set anywhere: the API's own temperature and greedy neutrals.
    expect(resolveSampling({}, {}, 0.8)).toMatchObject({ temperature: 0.8, topK: 0, repeatLastN: 64 });
    expect(resolveSampling({ seed: 7 }, {}, 1)).toHaveProperty('seed', 7);
  });
});
