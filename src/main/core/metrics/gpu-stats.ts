import { execFile } from 'node:child_process';

/** One GPU's load as its driver reports it; a figure the driver does not give is null. */
export interface GpuSample {
  readonly index: number;
  readonly name: string;
  readonly utilizationPercent: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryTotalBytes: number | null;
}

/** What the GPU sampler found: the GPUs, or why there are none. */
export interface GpuReport {
  readonly gpus: readonly GpuSample[];
  /** Why no GPU figures are shown (no NVIDIA driver tool, or it failed); null when there are GPUs. */
  readonly note: string | null;
}

const MIB = 1024 * 1024;
const QUERY = [
  '--query-gpu=index,name,utilization.gpu,memory.used,memory.total',
  '--format=csv,noheader,nounits',
];

const number = (text: string | undefined): number | null => {
  const value = Number(text?.trim());
  return text === undefined || text.trim() === '' || !Number.isFinite(value) ? null : value;
};

/**
 * Parses `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits`: one line per GPU, memory in MiB, "[N/A]" (or "[Not Supported]")
 * where the driver has no figure.
 */
export function parseNvidiaSmi(text: string): GpuSample[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .flatMap((line) => {
      const fields = line.split(',').map((field) => field.trim());
      if (fields.length < 5) return [];
      // A GPU name may itself hold commas: the last three fields are the figures.
      const index = number(fields[0]);
      const [utilization, used, total] = fields.slice(-3);
      const name = fields.slice(1, -3).join(', ');
      if (index === null || name === '') return [];
      const usedMib = number(used);
      const totalMib = number(total);
      return [
        {
          index,
          name,
          utilizationPercent: number(utilization),
          memoryUsedBytes: usedMib === null ? null : usedMib * MIB,
          memoryTotalBytes: totalMib === null ? null : totalMib * MIB,
        },
      ];
    });
}

/**
 * Samples NVIDIA GPUs through `nvidia-smi`, which ships with the driver on Linux and Windows. Where
 * it is missing the sampler says so once and stops spawning it; samples are shared for a second so
 * that several Monitor windows cost one call.
 */
export class GpuStats {
  #missing = false;
  #last: { at: number; report: Promise<GpuReport> } | null = null;

  constructor(
    private readonly command = 'nvidia-smi',
    private readonly now: () => number = Date.now,
  ) {}

  sample(): Promise<GpuReport> {
    if (this.#missing)
      return Promise.resolve({ gpus: [], note: 'No NVIDIA GPU reported: nvidia-smi is not installed.' });
    if (this.#last && this.now() - this.#last.at < 1000) return this.#last.report;
    const report = new Promise<GpuReport>((resolve) => {
      execFile(this.command, QUERY, { timeout: 2000, windowsHide: true }, (error, stdout) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          this.#missing = true;
          resolve({ gpus: [], note: 'No NVIDIA GPU reported: nvidia-smi is not installed.' });
        } else if (error) {
          resolve({ gpus: [], note: `nvidia-smi failed: ${error.message.split('\n')[0] ?? ''}` });
        } else {
          const gpus = parseNvidiaSmi(stdout);
          resolve({ gpus, note: gpus.length > 0 ? null : 'nvidia-smi reports no GPU.' });
        }
      });
    });
    this.#last = { at: this.now(), report };
    return report;
  }
}
