import { describe, expect, it } from 'vitest';
import type { RunningModel } from '../../../../src/main/core/engine/scheduler';
import { parameterSize, runningFields } from '../../../../src/main/core/api/ollama/model-views';

describe('Ollama model views', () => {
  it('writes parameter counts as model names do', () => {
    expect(parameterSize(238_312)).toBe('238K');
    expect(parameterSize(22_713_216)).toBe('23M');
    expect(parameterSize(494_032_768)).toBe('0.5B');
    expect(parameterSize(1_000_000_000)).toBe('1B');
    expect(parameterSize(7_615_616_512)).toBe('7.6B');
    expect(parameterSize(512)).toBe('512');
    expect(parameterSize(null)).toBe('');
  });

  it("reports a loaded model's size in whole bytes (the Go client refuses a fraction)", () => {
    const running: RunningModel = {
      id: 'org/model',
      task: 'text-generation',
      variant: 'q4',
      quantized: null,
      quantizeNote: null,
      provider: 'cuda',
      skippedProviders: [],
      pid: 1234,
      // 438456739 bytes of weights times the runtime factor 1.25.
      estimatedBytes: 548_070_923.75,
      loadedAt: 0,
      loadMs: 10,
      lastUsedAt: 0,
      state: 'ready',
      busy: false,
      queueLength: 0,
      active: 0,
      parallel: 1,
      batchingNote: null,
      expiresAt: null,
      contextLength: 32_768,
    };
    expect(runningFields(running)).toMatchObject({
      size: 548_070_924,
      size_vram: 548_070_924,
      context_length: 32_768,
    });
    expect(runningFields({ ...running, provider: 'cpu' }).size_vram).toBe(0);
  });
});
