import { createInterface } from 'node:readline/promises';
import { runChatCommand } from './chat-commands';
import { ChatSession } from './chat-session';
import { CliError, type CoreClient } from './client';
import { interruptible } from './interrupt';
import type { Output } from './output';
import { resolveModel } from './resolve-model';
import { Spinner } from './spinner';

/** The terminal `lodge run` talks through: where it reads and writes, and whether that is a TTY. */
export interface Terminal {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  readonly isTty: boolean;
}

/** What Ctrl+C at an empty prompt says, as `ollama run` does, instead of quitting. */
export const QUIT_HINT = 'Use Ctrl + d or /bye to exit.';

/**
 * `lodge run MODEL [PROMPT]`: one answer, or an interactive chat as `ollama run` holds it: `/?`
 * lists the commands, Ctrl+C stops an answer (at an empty prompt it says how to quit), Ctrl+D or
 * /bye quits. On a terminal a spinner shows while the model loads and until the first token.
 */
export async function run(
  client: CoreClient,
  output: Output,
  requested: string,
  prompt: string | undefined,
  terminal: Terminal,
): Promise<void> {
  const { model, name } = await resolveModel(client, requested);
  if (model.task !== 'text-generation') {
    throw new CliError(
      `${model.id} is a model for ${model.task}, not text generation: lodge run chats with text-generation models.`,
    );
  }
  const spinner = new Spinner(output, terminal.isTty);
  spinner.start(`loading ${name}`);
  try {
    await interruptible((signal) => client.call('loadModel', { body: { model: name } }, signal));
  } finally {
    spinner.stop();
  }
  const session = new ChatSession(client, output, name, spinner);
  if (prompt !== undefined) {
    await interruptible((signal) => session.ask(prompt, signal));
    return;
  }
  // NOTE: read lines through the async iterator: it buffers piped input that arrives while an
  // answer streams, where question() would drop those lines and then wait forever.
  const lines = createInterface({
    input: terminal.input,
    ...(terminal.isTty ? { output: terminal.output, terminal: true } : { terminal: false }),
  });
  let answering: AbortController | null = null;
  // On a terminal readline reads Ctrl+C as a key (raw mode) and reports it here.
  lines.on('SIGINT', () => {
    if (answering) {
      answering.abort();
      return;
    }
    if (lines.line !== '') {
      // Ctrl+C with something typed drops the line, as a shell does.
      output.out('^C\n');
      lines.write(null, { ctrl: true, name: 'e' });
      lines.write(null, { ctrl: true, name: 'u' });
    } else output.out(`\n${QUIT_HINT}\n`);
    lines.prompt();
  });
  lines.setPrompt('>>> ');
  if (terminal.isTty) {
    output.out('Type /? for help, /bye to quit.\n');
    lines.prompt();
  }
  let quitByCommand = false;
  try {
    for await (const text of lines) {
      try {
        const outcome = await runChatCommand(text, session, model, client, output);
        if (outcome === 'quit') {
          quitByCommand = true;
          break;
        }
        if (outcome === null && text.trim() !== '') {
          answering = new AbortController();
          await session.ask(text, answering.signal);
        }
      } catch (error) {
        // A refused turn (a full queue, a model that failed to load) ends the turn, not the chat.
        if (!(error instanceof CliError)) throw error;
        output.err(`Error: ${error.message}\n`);
      } finally {
        answering = null;
      }
      if (terminal.isTty) lines.prompt();
    }
  } finally {
    lines.close();
  }
  // Ctrl+D leaves the cursor after the prompt: end that line, so the shell's prompt gets its own.
  if (terminal.isTty && !quitByCommand) output.out('\n');
}
