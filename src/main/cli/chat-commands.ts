import type { ModelSummary } from '../../shared/contract/models';
import type { ChatSession, OptionValue } from './chat-session';
import type { CoreClient } from './client';
import { size, table } from './format';
import type { Output } from './output';

/** What the prompt loop does after a line: quit, or read the next one. */
export type CommandOutcome = 'quit' | 'next';

/** The `/set parameter` names: the Ollama options Lodge's `/api/chat` honours, with what they take. */
const PARAMETERS: Readonly<
  Record<string, { readonly kind: 'int' | 'float' | 'strings'; readonly help: string }>
> = {
  seed: { kind: 'int', help: 'Random number seed' },
  num_predict: { kind: 'int', help: 'Most tokens to generate in an answer' },
  num_ctx: { kind: 'int', help: 'Context size, in tokens' },
  temperature: { kind: 'float', help: 'Creativity: 0 always picks the likeliest token' },
  top_k: { kind: 'int', help: 'Pick from the k likeliest tokens' },
  top_p: { kind: 'float', help: 'Pick from the likeliest tokens whose probabilities add up to p' },
  min_p: { kind: 'float', help: "Leave out tokens under min_p times the likeliest one's probability" },
  repeat_penalty: { kind: 'float', help: 'How strongly to penalize repetitions' },
  repeat_last_n: { kind: 'int', help: 'How far back to look for repetitions' },
  presence_penalty: { kind: 'float', help: 'Penalty for a token that appeared at all' },
  frequency_penalty: { kind: 'float', help: 'Penalty growing with how often a token appeared' },
  stop: { kind: 'strings', help: 'Stop strings: the answer ends where one appears' },
};

const HELP = `Available commands:
${table(
  null,
  [
    [
      '/set parameter <name> <value>',
      'Set a parameter for the answers that follow (/set parameter lists them)',
    ],
    ['/show info', 'Show details of this model'],
    ['/show parameters', 'Show the parameters set in this session'],
    ['/clear', 'Clear the conversation context'],
    ['/bye', 'Exit'],
    ['/?, /help', 'Show this help'],
  ],
  { gap: 3, indent: 2 },
)}

Use Ctrl + d or /bye to exit. Ctrl + c stops an answer.
`;

const PARAMETER_HELP = `Available parameters:
${table(
  null,
  Object.entries(PARAMETERS).map(([name, { kind, help }]) => [
    `/set parameter ${name} ${kind === 'strings' ? '<string> <string> ...' : `<${kind}>`}`,
    help,
  ]),
  { gap: 3, indent: 2 },
)}
`;

/**
 * Runs a line that starts with `/` as an `ollama run` style command; anything else is not a
 * command and returns null, to go to the model.
 */
export async function runChatCommand(
  line: string,
  session: ChatSession,
  model: ModelSummary,
  client: CoreClient,
  output: Output,
): Promise<CommandOutcome | null> {
  const [command, ...args] = line.trim().split(/\s+/);
  if (command === undefined || !command.startsWith('/')) return null;
  switch (command) {
    case '/bye':
    case '/exit':
      return 'quit';
    case '/?':
    case '/help':
      output.out(HELP);
      return 'next';
    case '/clear':
      session.clear();
      output.out('Cleared the conversation context.\n');
      return 'next';
    case '/set':
      setCommand(args, session, output);
      return 'next';
    case '/show':
      await showCommand(args, session, model, client, output);
      return 'next';
  }
  output.out(`Unknown command '${command}'. Type /? for help.\n`);
  return 'next';
}

function setCommand(args: string[], session: ChatSession, output: Output): void {
  const [what, name, ...values] = args;
  if (what !== 'parameter') {
    output.out(`Usage: /set parameter <name> <value>. Type /set parameter to list the names.\n`);
    return;
  }
  if (name === undefined) {
    output.out(PARAMETER_HELP);
    return;
  }
  const spec = PARAMETERS[name];
  if (!spec) {
    output.out(`Unknown parameter '${name}'. The parameters: ${Object.keys(PARAMETERS).join(', ')}.\n`);
    return;
  }
  if (values.length === 0) {
    output.out(`Give /set parameter ${name} a value.\n`);
    return;
  }
  let value: OptionValue;
  if (spec.kind === 'strings') value = values;
  else {
    const number = Number(values[0]);
    if (values.length > 1 || !Number.isFinite(number) || (spec.kind === 'int' && !Number.isInteger(number))) {
      output.out(
        `${name} takes ${spec.kind === 'int' ? 'a whole number' : 'a number'}, not '${values.join(' ')}'.\n`,
      );
      return;
    }
    value = number;
  }
  session.setOption(name, value);
  output.out(`Set parameter '${name}' to '${Array.isArray(value) ? value.join(', ') : value}'.\n`);
}

async function showCommand(
  args: string[],
  session: ChatSession,
  model: ModelSummary,
  client: CoreClient,
  output: Output,
): Promise<void> {
  const [what] = args;
  if (what === 'info') {
    const [owner = '', name = ''] = model.id.split('/', 2);
    const detail = await client.call('model', { params: { owner, name } });
    const rows: [string, string][] = [
      ['model', detail.alias ? `${detail.id} (alias ${detail.alias})` : detail.id],
      ['task', detail.task],
      ['architecture', detail.architecture ?? 'unknown'],
      ['parameters', detail.parameterCount === null ? 'unknown' : detail.parameterCount.toLocaleString('en')],
      ['context length', detail.contextLength === null ? 'unknown' : String(detail.contextLength)],
      ['variants', detail.variants.map((variant) => `${variant.name} (${size(variant.bytes)})`).join(', ')],
      ['chat template', detail.hasChatTemplate ? 'yes' : 'no'],
      ['location', detail.location],
    ];
    output.out(`${table(null, rows, { gap: 3, indent: 2 })}\n`);
    return;
  }
  if (what === 'parameters') {
    const preset = Object.entries(model.preset).filter(([key]) => key !== 'systemPrompt');
    const set = [...session.options].map(([name, value]): [string, string] => [
      name,
      Array.isArray(value) ? value.join(', ') : String(value),
    ]);
    output.out(
      set.length === 0
        ? 'No parameters set in this session: the model uses its preset and the defaults.\n'
        : `Set in this session:\n${table(null, set, { gap: 3, indent: 2 })}\n`,
    );
    if (preset.length > 0)
      output.out(
        `The model's preset:\n${table(
          null,
          preset.map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]),
          { gap: 3, indent: 2 },
        )}\n`,
      );
    return;
  }
  output.out('Usage: /show info, or /show parameters.\n');
}
