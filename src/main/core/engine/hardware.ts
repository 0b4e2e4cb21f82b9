import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, totalmem } from 'node:os';

/**
 * Physical CPU cores: ONNX Runtime runs best with one thread per physical core (hyper-threads
 * share execution units). Read from /proc/cpuinfo on Linux; elsewhere the logical count.
 */
export function physicalCores(): number {
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let physical = '0';
    for (const line of cpuinfo.split('\n')) {
      const [key, value] = line.split(':').map((part) => part.trim());
      if (key === 'physical id') physical = value ?? '0';
      if (key === 'core id') cores.add(`${physical}:${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // Not Linux: fall through.
  }
  return availableParallelism();
}

/** Memory figures the scheduler budgets against. */
export interface MemoryInfo {
  readonly totalBytes: number;
  readonly freeBytes: number;
}

/** This machine's memory. */
export function systemMemory(): MemoryInfo {
  return { totalBytes: totalmem(), freeBytes: freemem() };
}
