import { fork } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { diskFullError } from '../../disk-full';
import { LodgeError } from '../../errors';
import type { ModelCatalog } from '../../library/model-catalog';
import { contractRoute } from '../contract-route';

/** How long writing the demo models may take (they are a few MB; a loaded machine is slow). */
const DEMO_TIMEOUT_MS = 120_000;

/**
 * `POST /app/models/demo`: writes the demo models (small generated models of every kind, random
 * weights) into the models folder and rescans the library. The generator runs as its own process
 * (`demo-models.js` beside the runner), so the core's event loop stays free while it works; one
 * run at a time, and a model folder already there is left as it is.
 */
export function registerDemoRoutes(
  app: FastifyInstance,
  catalog: ModelCatalog,
  modelsDir: string,
  script: string | null,
): void {
  let running: Promise<string[]> | null = null;
  contractRoute(app, 'addDemoModels', async () => {
    if (script === null)
      throw new LodgeError('not_implemented', 'This build of Lodge carries no demo models.');
    running ??= writeDemoModels(script, modelsDir).finally(() => (running = null));
    const written = await running;
    const changes = catalog.rescan();
    return { written, added: changes.added };
  });
}

function writeDemoModels(script: string, modelsDir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [modelsDir], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        // NOTE: inside Electron, process.execPath is the Electron binary; this makes it act as Node.
        ...(process.versions.electron !== undefined ? { ELECTRON_RUN_AS_NODE: '1' } : {}),
      },
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString().slice(0, 10_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new LodgeError('internal', 'The demo-model writer could not be started.', {}, { cause: error }));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.split('\n').filter((line) => /^demo\/[\w.-]+$/.test(line)));
      else if (/ENOSPC|EDQUOT/.test(err)) reject(diskFullError(new Error(err)));
      else
        reject(
          new LodgeError(
            'internal',
            'Writing the demo models failed; the log has the details.',
            {},
            { cause: new Error(err) },
          ),
        );
    });
  });
}
