// `npm run gpu-check` where no GPU provider loads (this CI machine): it must still run end to end,
// name every provider with the reason it did not load, measure the CPU, and say plainly, with its
// own exit code, that nothing was checked on a GPU.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unavailableReason } from '../../../src/main/runner/onnx/providers';

const ROOT = join(import.meta.dirname, '../../..');
const noGpuHere = unavailableReason('cuda') !== null && unavailableReason('webgpu') !== null;

describe('the GPU check', () => {
  it.runIf(noGpuHere)(
    'says plainly that no GPU provider loaded, with each one’s reason, and exits 2',
    () => {
      const result = spawnSync(process.execPath, [join(ROOT, 'scripts/gpu-check.mjs')], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, LODGE_GPU_CHECK_TOKENS: '8' },
        timeout: 240_000,
      });
      const output = `${result.stdout}${result.stderr}`;
      expect(result.status, output).toBe(2);
      expect(output).toContain(`cuda: not loaded: ${unavailableReason('cuda')}`);
      expect(output).toContain(`webgpu: not loaded: ${unavailableReason('webgpu')}`);
      expect(output).toMatch(
        /cpu: \d+(\.\d+)? tok\/s end to end \(prefill included\), \d+(\.\d+)? tok\/s decoding/,
      );
      expect(output).toContain('No GPU provider loaded on this machine: nothing was checked on a GPU');
      expect(output).not.toMatch(/Every shape matched/);
    },
    300_000,
  );
});
