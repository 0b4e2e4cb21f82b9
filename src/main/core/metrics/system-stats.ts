import { cpus, freemem, loadavg, totalmem } from 'node:os';

/** This machine's load now: CPU use since the previous sample, memory, and the core's own footprint. */
export interface SystemSample {
  readonly time: string;
  readonly cpuPercent: number;
  readonly memoryUsedBytes: number;
  readonly memoryTotalBytes: number;
  readonly coreRssBytes: number;
  readonly loadAverage: readonly number[];
}

/**
 * Samples CPU use as the busy share of all cores between two calls (the first call measures since
 * the machine booted). Real figures from the OS; nothing here is estimated.
 */
export class SystemStats {
  #previous = cpus().map((cpu) => cpu.times);

  sample(): SystemSample {
    const current = cpus().map((cpu) => cpu.times);
    let busy = 0;
    let total = 0;
    current.forEach((times, index) => {
      const before = this.#previous[index] ?? { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 };
      const spent =
        times.user -
        before.user +
        (times.nice - before.nice) +
        (times.sys - before.sys) +
        (times.irq - before.irq);
      busy += spent;
      total += spent + (times.idle - before.idle);
    });
    this.#previous = current;
    return {
      time: new Date().toISOString(),
      cpuPercent: total > 0 ? Math.round((busy / total) * 1000) / 10 : 0,
      memoryUsedBytes: totalmem() - freemem(),
      memoryTotalBytes: totalmem(),
      coreRssBytes: process.memoryUsage.rss(),
      loadAverage: loadavg(),
    };
  }
}
