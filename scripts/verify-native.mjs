// postinstall: proves the native modules load under the Node that runs Lodge (the project's pinned
// Node), and says plainly what to do when they do not. Nothing is downloaded or compiled here:
// better-sqlite3 13 and onnxruntime-node ship N-API binaries for every supported platform.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `Lodge: npm ran this with Node ${process.versions.node}; Lodge needs 22.12 or newer. ` +
      'The "node" devDependency should provide it: run "npm install" again, or check that npm is not set to ignore scripts.',
  );
  process.exit(1);
}

const problems = [];
try {
  const Database = require('better-sqlite3');
  new Database(':memory:').prepare('select 1').get();
} catch (error) {
  problems.push(`better-sqlite3 does not load: ${error.message}`);
}
try {
  const ort = require('onnxruntime-node');
  if (!ort.listSupportedBackends().some((backend) => backend.name === 'cpu')) {
    problems.push('onnxruntime-node loaded but lists no CPU backend.');
  }
} catch (error) {
  problems.push(`onnxruntime-node does not load: ${error.message}`);
}
if (problems.length > 0) {
  console.error(
    `Lodge: native modules are not usable under Node ${process.versions.node}:\n- ${problems.join('\n- ')}`,
  );
  process.exit(1);
}
console.log(`Lodge: native modules load under Node ${process.versions.node}.`);
