// A runner process: forked by the core, one per loaded model, speaking RunnerToCoreMessage over IPC.
import type { CoreToRunnerMessage, RunnerToCoreMessage } from '../../shared/runner-protocol';
import { describeRuntime } from './onnx/ort';

function send(message: RunnerToCoreMessage): void {
  process.send?.(message);
}

if (!process.send) {
  console.error('The Lodge runner is started by the Lodge core, not by hand.');
  process.exit(2);
}

process.on('message', (message: CoreToRunnerMessage) => {
  if (message.type === 'shutdown') process.exit(0);
});
// The core going away (crash or kill) must not leave an orphan holding a model in memory.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', ...describeRuntime() });
