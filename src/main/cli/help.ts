import { LODGE_VERSION } from '../core/version';
import { table } from './format';

/** Every `lodge` verb with its usage and what it does: the help lists exactly these. */
export const VERBS = [
  {
    verb: 'serve',
    usage: 'lodge serve [options]',
    does: 'Run the headless core: the HTTP API and the web UI',
  },
  { verb: 'ls', usage: 'lodge ls [--all]', does: 'List the models in the library (--all: every revision)' },
  { verb: 'ps', usage: 'lodge ps', does: 'List the loaded models' },
  {
    verb: 'pull',
    usage: 'lodge pull OWNER/REPO[:VARIANT]',
    does: 'Download a model from the Hugging Face hub',
  },
  {
    verb: 'import',
    usage: 'lodge import PATH [options]',
    does: 'Add a model folder or .onnx file from this machine',
  },
  { verb: 'rm', usage: 'lodge rm MODEL[@REVISION]', does: 'Delete a model, or one revision of it' },
  {
    verb: 'export',
    usage: 'lodge export MODEL --triton DIR',
    does: 'Write a model as a Triton model repository with a KServe manifest',
  },
  {
    verb: 'run',
    usage: 'lodge run MODEL [PROMPT]',
    does: 'Chat with a model (no prompt: interactive; /? for help)',
  },
  { verb: 'key', usage: 'lodge key [options]', does: 'Show, generate or remove the API key' },
  { verb: '--version', usage: 'lodge --version', does: 'Print the version' },
  { verb: '--help', usage: 'lodge --help', does: 'Print this help' },
] as const;

const OPTIONS = { gap: 3, indent: 2 };

/** `lodge --help`: every verb and option, each list in aligned columns. */
export const HELP = `Lodge ${LODGE_VERSION}: host AI models on this machine.

Usage:
${table(
  null,
  VERBS.map(({ usage, does }) => [usage, does]),
  OPTIONS,
)}

MODEL is an id (owner/name), an alias, or a bare name one owner has, optionally with :VARIANT.
The commands other than serve talk to a running Lodge (LODGE_HOST, LODGE_PORT, LODGE_API_KEY;
without LODGE_API_KEY they use the key stored in the data directory, if any).

Options for serve:
${table(
  null,
  [
    ['--host HOST', 'Address to bind (default 127.0.0.1; others need --api-key)', 'env LODGE_HOST'],
    ['--port PORT', 'Port to listen on (default 11435; 0 picks a free one)', 'env LODGE_PORT'],
    ['--data-dir DIR', 'Where models, the database and logs live (default ~/.lodge)', 'env LODGE_HOME'],
    ['--api-key KEY', 'Require "Authorization: Bearer KEY" on every API call', 'env LODGE_API_KEY'],
    ['--origins LIST', 'Extra browser origins allowed to call the API, comma-separated', 'env LODGE_ORIGINS'],
    ['--log-level LEVEL', 'trace, debug, info, warn, error or fatal (default info)', 'env LODGE_LOG_LEVEL'],
  ],
  OPTIONS,
)}

Options for import:
${table(
  null,
  [
    ['--in-place', 'Use the files where they are instead of copying them into the library'],
    ['--id OWNER/NAME', 'The id to give the model'],
  ],
  OPTIONS,
)}

Options for export:
${table(
  null,
  [
    ['--triton DIR', 'The model repository to write into (DIR/NAME/config.pbtxt, DIR/NAME/1/model.onnx)'],
    ['--name NAME', 'The Triton model name (default: the id with "/" as "_")'],
    ['--gpu', 'Run the instances on GPU (KIND_GPU; default KIND_CPU)'],
    ['--instances N', 'How many instances Triton runs (default 1)'],
    ['--max-batch N', 'The batch bound for a batchable graph (default 8)'],
    ['--force', 'Replace a model of that name already in the repository'],
  ],
  OPTIONS,
)}

Options for key (with none, it says whether a key is set, the key itself hidden):
${table(
  null,
  [
    ['--show', 'Print the key alone, for LODGE_API_KEY=$(lodge key --show)'],
    ['--generate', 'Make a new key and require it from now on (prints it)'],
    ['--remove', 'Remove the key: clients on this machine need none'],
    ['--data-dir DIR', 'The data directory whose key to read (default LODGE_HOME, else ~/.lodge)'],
  ],
  OPTIONS,
)}
`;
