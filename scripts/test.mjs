// `npm test`: typecheck, lint, then the unit, integration and e2e suites. Every stage runs even
// when an earlier one fails, so one run shows everything; the last line is the summary.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const bin = (pkg, path) => join(require.resolve(`${pkg}/package.json`), '..', path);
const reports = join(root, 'test-results', 'reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

function run(label, args) {
  console.log(`\n▶ ${label}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  const ok = result.status === 0;
  console.log(`${ok ? '✔' : '✘'} ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return ok;
}

const failedStages = [];
const check = (label, args) => run(label, args) || failedStages.push(label);

check('typecheck (node)', [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.node.json', '--noEmit']);
check('typecheck (web)', [
  bin('svelte-check', 'bin/svelte-check'),
  '--tsconfig',
  'tsconfig.web.json',
  '--threshold',
  'error',
  '--output',
  'human',
]);
check('lint', [bin('eslint', 'bin/eslint.js'), '--max-warnings', '0', '.']);
check('format', [bin('prettier', 'bin/prettier.cjs'), '--check', '--log-level', 'warn', '.']);

const counts = { passed: 0, failed: 0, skipped: 0 };
for (const project of ['unit', 'integration', 'e2e']) {
  const report = join(reports, `${project}.json`);
  const ok = run(`${project} tests`, [
    bin('vitest', 'vitest.mjs'),
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ]);
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    counts.passed += json.numPassedTests;
    counts.failed += json.numFailedTests;
    counts.skipped += json.numPendingTests + json.numTodoTests;
    if (!ok) failedStages.push(`${project} tests`);
  } catch {
    failedStages.push(`${project} tests (no report)`);
  }
}

if (failedStages.length > 0) console.log(`\nFailed stages: ${failedStages.join(', ')}`);
console.log(`\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(failedStages.length === 0 && counts.failed === 0 ? 0 : 1);
