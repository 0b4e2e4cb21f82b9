// The bench's API client: a process of its own, as an editor or an agent calling Lodge is, that
// streams completions with fetch() and times them. bench/contenders.ts starts it and sends one
// request per line on stdin; it answers each with one JSON line on stdout.
//
// Why not fetch() in the bench's own process: transformers.js and the bare loop run there, and
// after a transformers.js run that process's fetch() took 6-12 ms to put a request on the wire
// instead of 1-2 (undici's diagnostics channel), and its GC threads took the 2 cores from the
// server, still with a collection and 1.5 s of rest before the request: the API's time to first
// token was 30-35 ms where a separate client measured 14-25. That was transformers.js' cost,
// charged to Lodge.
import { createInterface } from 'node:readline';

/** Streams one completion and returns its timings, measured here. */
async function run({ url, body }) {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok || response.body === null) return { error: `the API answered ${response.status}` };
  let first = 0;
  let tokens = 0;
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    if (first === 0) first = performance.now();
    buffered += decoder.decode(chunk, { stream: true });
    const usage = /"completion_tokens":(\d+)/.exec(buffered);
    if (usage?.[1]) tokens = Number(usage[1]);
    buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
  }
  const ended = performance.now();
  return { ttftMs: first - started, totalMs: ended - started, tokens };
}

for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    answer = await run(JSON.parse(line));
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
