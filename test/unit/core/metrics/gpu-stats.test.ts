import { describe, expect, it } from 'vitest';
import { GpuStats, parseNvidiaSmi } from '../../../../src/main/core/metrics/gpu-stats';

const MIB = 1024 * 1024;

describe('parseNvidiaSmi', () => {
  it('reads one GPU per line, memory from MiB, and null where the driver says [N/A]', () => {
    const text = '0, NVIDIA H100 80GB HBM3, 37, 1530, 81559\n1, NVIDIA GeForce RTX 4090, [N/A], 312, 24564\n';
    expect(parseNvidiaSmi(text)).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        utilizationPercent: 37,
        memoryUsedBytes: 1530 * MIB,
        memoryTotalBytes: 81559 * MIB,
      },
      {
        index: 1,
        name: 'NVIDIA GeForce RTX 4090',
        utilizationPercent: null,
        memoryUsedBytes: 312 * MIB,
        memoryTotalBytes: 24564 * MIB,
      },
    ]);
  });

  it('keeps a name with commas whole and skips lines that are not GPUs', () => {
    const text = 'No devices were found\n\n2, Tesla T4, rev B, 5, 10, 15360\r\n';
    expect(parseNvidiaSmi(text)).toEqual([
      expect.objectContaining({ index: 2, name: 'Tesla T4, rev B', utilizationPercent: 5 }),
    ]);
  });
});

describe('GpuStats', () => {
  it('says plainly when nvidia-smi is not installed', async () => {
    const stats = new GpuStats('lodge-no-such-nvidia-smi');
    expect(await stats.sample()).toEqual({
      gpus: [],
      note: 'No NVIDIA GPU reported: nvidia-smi is not installed.',
    });
  });

  it('reports a failing tool with its message, and output without GPUs as no GPU', async () => {
    expect((await new GpuStats('false').sample()).note).toMatch(/^nvidia-smi failed: /);
    // `echo` prints its arguments back: a real process whose output lists no GPU.
    expect(await new GpuStats('echo').sample()).toEqual({ gpus: [], note: 'nvidia-smi reports no GPU.' });
  });

  it('shares one sample within a second', async () => {
    let now = 0;
    const stats = new GpuStats('echo', () => now);
    const first = stats.sample();
    expect(stats.sample()).toBe(first);
    now = 1500;
    expect(stats.sample()).not.toBe(first);
  });
});
