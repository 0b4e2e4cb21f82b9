import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The integration and e2e suites run built entries (the runner, the CLI, the UI): rebuild first when src/ is newer than out/. */
export default function setup(): void {
  const result = spawnSync(process.execPath, [join(import.meta.dirname, '../../scripts/ensure-built.mjs')], {
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('Building Lodge for the e2e tests failed; see the output above.');
}
