// `npm run gpu-check`: which GPU execution providers load on this machine, whether each one gives
// the CPU's greedy tokens on every conformance shape (two chat turns, the second on the KV cache),
// and decode tok/s per provider on the wide-vocabulary model. Runs the real runner process on
// generated models, so it needs nothing but this repository (or the packed tarball) and a GPU.
// Exit code: 0 when every GPU provider that loaded matched the CPU, 1 on a mismatch or a failure,
// 2 when no GPU provider loaded at all (said plainly, with each provider's reason).
import { join } from 'node:path';
import { physicalCores } from '../src/main/core/engine/hardware';
import { RunnerProcess } from '../src/main/core/engine/runner-process';
import { GREEDY, type ExecutionProvider } from '../src/shared/engine';
import type { LoadedInfo } from '../src/shared/runner-protocol';
import { fixturePath, lmFileName, WIDE_LM, type LanguageModelSpec } from '../test/fixtures/models';
import { SHAPES } from '../test/integration/conformance/shapes';

const ROOT = process.env.LODGE_REPO_ROOT ?? process.cwd();
const RUNNER = join(ROOT, 'out/main/runner.js');
const GPU_PROVIDERS: readonly ExecutionProvider[] = ['cuda', 'webgpu', 'dml', 'coreml'];
const NEW_TOKENS = 10;
const DECODE_TOKENS = Number(process.env.LODGE_GPU_CHECK_TOKENS ?? 128);
const TURNS = [
  { role: 'user' as const, content: 'Hello there! Tell me about the sea.' },
  { role: 'user' as const, content: 'And what about the mountains?' },
];

/** A runner with `spec`'s model loaded on `provider` (CPU where it falls back), and what it said. */
async function open(spec: LanguageModelSpec, provider: ExecutionProvider) {
  const runner = new RunnerProcess('gpu-check', RUNNER);
  await runner.ready;
  const dir = fixturePath(spec);
  try {
    const info: LoadedInfo = await runner.load({
      modelId: 'gpu-check',
      task: 'text-generation',
      dir,
      modelFile: join(dir, 'onnx', lmFileName(spec)),
      providers: [provider],
      threads: physicalCores(),
      cacheDir: null,
    });
    return { runner, info };
  } catch (error) {
    await runner.stop();
    throw error;
  }
}

/** The greedy text of two chat turns, the second continuing the first. */
async function twoTurns(runner: RunnerProcess): Promise<string[]> {
  const texts: string[] = [];
  const messages: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const turn of TURNS) {
    messages.push(turn);
    let text = '';
    for await (const event of runner.generate({
      prompt: { kind: 'chat', messages: [...messages] },
      maxTokens: NEW_TOKENS,
      stop: [],
      sampling: GREEDY,
    }))
      if (event.type === 'text') text += event.text;
    texts.push(text);
    messages.push({ role: 'assistant', content: text });
  }
  return texts;
}

/** Decode speed on `provider`: new tokens over the request's wall time, and over decode alone. */
async function decodeSpeed(provider: ExecutionProvider): Promise<{ endToEnd: number; decode: number }> {
  const { runner } = await open(WIDE_LM, provider);
  try {
    const once = async () => {
      const started = performance.now();
      for await (const event of runner.generate({
        prompt: { kind: 'text', text: `${Math.random().toString(36).slice(2, 6)} The weather in Tokyo is` },
        maxTokens: DECODE_TOKENS,
        stop: [],
        sampling: GREEDY,
        ignoreEos: true,
      })) {
        if (event.type !== 'done') continue;
        const { completionTokens, decodeMs } = event.stats;
        return {
          endToEnd: (completionTokens / (performance.now() - started)) * 1000,
          decode: (completionTokens / decodeMs) * 1000,
        };
      }
      throw new Error('the generation did not end with done');
    };
    await once(); // warm-up
    const runs = [await once(), await once(), await once()];
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] as number;
    return {
      endToEnd: median(runs.map((run) => run.endToEnd)),
      decode: median(runs.map((run) => run.decode)),
    };
  } finally {
    await runner.stop();
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  console.log(`Lodge GPU check (${process.platform}/${process.arch}, Node ${process.versions.node})\n`);
  console.log('Execution providers:');
  const loaded: ExecutionProvider[] = [];
  const probe = SHAPES[0]?.spec as LanguageModelSpec;
  for (const provider of GPU_PROVIDERS) {
    const { runner, info } = await open(probe, provider);
    await runner.stop();
    if (info.provider === provider) {
      loaded.push(provider);
      console.log(`  ${provider}: loaded`);
    } else {
      const reason = info.skipped.find((skipped) => skipped.provider === provider)?.reason ?? 'not used';
      console.log(`  ${provider}: not loaded: ${reason}`);
    }
  }
  console.log('  cpu: loaded');
  if (!loaded.includes('cuda') && process.platform === 'linux') {
    const dir = join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux', process.arch);
    console.log(
      `  (To check CUDA: put onnxruntime's CUDA provider libraries, libonnxruntime_providers_cuda.so and\n` +
        `  libonnxruntime_providers_shared.so, which npm run setup:cuda fetches, in ${dir},\n` +
        '  with CUDA 12 and cuDNN 9 installed. WebGPU needs libvulkan.so.1 and the NVIDIA Vulkan driver.)',
    );
  }

  let failures = 0;
  for (const provider of loaded) {
    console.log(`\nConformance shapes on ${provider}, greedy, two chat turns, against the CPU:`);
    for (const shape of SHAPES) {
      try {
        const cpu = await open(shape.spec, 'cpu');
        const expected = await twoTurns(cpu.runner).finally(() => cpu.runner.stop());
        const gpu = await open(shape.spec, provider);
        if (gpu.info.provider !== provider) {
          await gpu.runner.stop();
          failures++;
          const reason = gpu.info.skipped.find((skipped) => skipped.provider === provider)?.reason;
          console.log(`  ✗ ${shape.name}: did not load on ${provider} (${reason ?? 'fell back to the CPU'})`);
          continue;
        }
        const actual = await twoTurns(gpu.runner).finally(() => gpu.runner.stop());
        if (actual.every((text, turn) => text === expected[turn])) console.log(`  ✓ ${shape.name}`);
        else {
          failures++;
          console.log(
            `  ✗ ${shape.name}: the CPU wrote ${JSON.stringify(expected)}, ${provider} wrote ${JSON.stringify(actual)}`,
          );
        }
      } catch (error) {
        failures++;
        console.log(`  ✗ ${shape.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  console.log(`\nDecode on the wide-vocabulary model (vocab 151,936), ${DECODE_TOKENS} tokens, median of 3:`);
  for (const provider of [...loaded, 'cpu' as const]) {
    try {
      const speed = await decodeSpeed(provider);
      console.log(
        `  ${provider}: ${speed.endToEnd.toFixed(1)} tok/s end to end (prefill included), ${speed.decode.toFixed(1)} tok/s decoding`,
      );
    } catch (error) {
      failures++;
      console.log(`  ${provider}: failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(`\nTook ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  if (loaded.length === 0) {
    console.log(
      '\nNo GPU provider loaded on this machine: nothing was checked on a GPU (reasons above). Run this on a machine with a GPU.',
    );
    return 2;
  }
  if (failures > 0) {
    console.log(`\n${failures} check(s) failed on ${loaded.join(', ')}.`);
    return 1;
  }
  console.log(`\nEvery shape matched the CPU on ${loaded.join(', ')}.`);
  return 0;
}

process.exitCode = await main();
