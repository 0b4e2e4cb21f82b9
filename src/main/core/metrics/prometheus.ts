import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../engine/engine';
import { familyOf } from '../api/families';
import type { InferenceLog } from './inference-log';

/**
 * Prometheus metrics of one core, in a registry of its own (no global state): requests by API
 * family and status, request latency, tokens, time to first token, decode speed, loaded models and
 * each runner's resident memory (asked of the runners at scrape time).
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'lodge_http_requests_total',
    help: 'HTTP requests served.',
    labelNames: ['family', 'method', 'status'],
    registers: [this.registry],
  });
  readonly #latency = new Histogram({
    name: 'lodge_http_request_duration_seconds',
    help: 'Time to serve an HTTP request, streaming included.',
    labelNames: ['family'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly #tokens = new Counter({
    name: 'lodge_tokens_total',
    help: 'Tokens processed, by model and kind.',
    labelNames: ['model', 'kind'],
    registers: [this.registry],
  });
  readonly #inferences = new Counter({
    name: 'lodge_inferences_total',
    help: 'Inferences run, by model and outcome.',
    labelNames: ['model', 'outcome'],
    registers: [this.registry],
  });
  readonly #ttft = new Histogram({
    name: 'lodge_time_to_first_token_seconds',
    help: 'From the request to its first generated token, waiting for the model included.',
    labelNames: ['model'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #decode = new Histogram({
    name: 'lodge_decode_tokens_per_second',
    help: 'Decode speed of each generation.',
    labelNames: ['model'],
    buckets: [1, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560],
    registers: [this.registry],
  });
  readonly #unsubscribe: () => void;

  constructor(engine: Engine, log: InferenceLog) {
    new Gauge({
      name: 'lodge_loaded_models',
      help: 'Models loaded in runner processes.',
      registers: [this.registry],
      collect() {
        this.set(engine.running().length);
      },
    });
    new Gauge({
      name: 'lodge_runner_resident_memory_bytes',
      help: "Resident memory of each model's runner process.",
      labelNames: ['model', 'provider'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const model of await engine.runningWithMemory()) {
          if (model.rssBytes !== null)
            this.set({ model: model.id, provider: model.provider }, model.rssBytes);
        }
      },
    });
    this.#unsubscribe = log.subscribe((record) => {
      this.#tokens.inc({ model: record.model, kind: 'prompt' }, record.promptTokens);
      this.#tokens.inc({ model: record.model, kind: 'completion' }, record.completionTokens);
      this.#inferences.inc({ model: record.model, outcome: record.outcome });
      if (record.timeToFirstTokenMs !== null)
        this.#ttft.observe({ model: record.model }, record.timeToFirstTokenMs / 1000);
      if (record.decodeTokensPerSecond !== null)
        this.#decode.observe({ model: record.model }, record.decodeTokensPerSecond);
    });
  }

  /** Counts each request when its response has been sent (streamed ones when they end). */
  observe(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const family = familyOf(request.url);
      this.#requests.inc({ family, method: request.method, status: String(reply.statusCode) });
      this.#latency.observe({ family }, reply.elapsedTime / 1000);
    });
  }

  /** `GET /metrics` in the Prometheus text format. */
  route(app: FastifyInstance): void {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(this.registry.contentType).send(await this.registry.metrics()),
    );
  }

  dispose(): void {
    this.#unsubscribe();
    this.registry.clear();
  }
}
