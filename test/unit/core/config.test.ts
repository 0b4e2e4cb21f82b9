import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, resolveConfig, resolveDataDir } from '../../../src/main/core/config';

const none = new Map<string, unknown>();

describe('resolveConfig', () => {
  it('uses the defaults when nothing is set: loopback, port 11435, no key', () => {
    const config = resolveConfig(none, {}, {});
    expect(config.values).toEqual({
      host: '127.0.0.1',
      port: 11435,
      apiKey: null,
      origins: [],
      allowedHosts: [],
      logLevel: 'info',
      providers: ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'],
      threads: 0,
      keepAliveSeconds: 300,
      maxLoadedModels: 3,
      memoryBudgetMb: null,
      maxQueue: 64,
      parallel: 4,
      quantize: 'off',
      hubEndpoint: 'https://huggingface.co',
      hubToken: null,
      allowRemoteImages: false,
    });
    expect(Object.values(config.sources).every((source) => source === 'default')).toBe(true);
  });

  it('layers defaults < settings table < environment < flags, and reports each source', () => {
    const stored = new Map<string, unknown>([
      ['port', 1111],
      ['logLevel', 'debug'],
      ['origins', ['http://a.example']],
    ]);
    const env = { LODGE_PORT: '2222', LODGE_LOG_LEVEL: 'warn' };
    const config = resolveConfig(stored, env, { port: 3333 });
    expect(config.values.port).toBe(3333);
    expect(config.sources.port).toBe('flag');
    expect(config.values.logLevel).toBe('warn');
    expect(config.sources.logLevel).toBe('env');
    expect(config.values.origins).toEqual(['http://a.example']);
    expect(config.sources.origins).toBe('settings');
    expect(config.sources.host).toBe('default');
  });

  it('splits comma-separated lists from the environment', () => {
    const config = resolveConfig(
      none,
      { LODGE_ORIGINS: 'http://a.example, chrome-extension://* ,', LODGE_ALLOWED_HOSTS: 'box.lan' },
      {},
    );
    expect(config.values.origins).toEqual(['http://a.example', 'chrome-extension://*']);
    expect(config.values.allowedHosts).toEqual(['box.lan']);
  });

  it('reads engine settings from the environment', () => {
    const config = resolveConfig(
      none,
      { LODGE_PROVIDERS: 'webgpu,cpu', LODGE_KEEP_ALIVE: '-1', LODGE_THREADS: '4' },
      {},
    );
    expect(config.values).toMatchObject({ providers: ['webgpu', 'cpu'], keepAliveSeconds: -1, threads: 4 });
    expect(() => resolveConfig(none, { LODGE_PROVIDERS: 'tpu' }, {})).toThrow(/LODGE_PROVIDERS/);
  });

  it('reads the quantization at load from LODGE_QUANTIZE, and names the modes when it is wrong', () => {
    expect(resolveConfig(none, { LODGE_QUANTIZE: 'q4' }, {}).values.quantize).toBe('q4');
    expect(() => resolveConfig(none, { LODGE_QUANTIZE: 'q5_k_m' }, {})).toThrow(
      /LODGE_QUANTIZE \(one of off, q8, q4\)/,
    );
  });

  it('stops on an invalid environment value, naming the variable', () => {
    expect(() => resolveConfig(none, { LODGE_PORT: 'eleven' }, {})).toThrow(/LODGE_PORT/);
    expect(() => resolveConfig(none, { LODGE_LOG_LEVEL: 'loud' }, {})).toThrow(ConfigError);
    expect(() => resolveConfig(none, {}, { origins: ['*'] })).toThrow(/--origins/);
  });

  it('ignores an invalid stored value with a warning instead of failing to start', () => {
    const config = resolveConfig(new Map<string, unknown>([['port', 'not a port']]), {}, {});
    expect(config.values.port).toBe(11435);
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toMatch(/port/);
  });

  it('refuses a non-loopback bind without an API key, and allows it with one', () => {
    expect(() => resolveConfig(none, { LODGE_HOST: '0.0.0.0' }, {})).toThrow(/without an API key/);
    const config = resolveConfig(none, { LODGE_HOST: '0.0.0.0' }, { apiKey: 'a-long-enough-key' });
    expect(config.values.host).toBe('0.0.0.0');
  });
});

describe('resolveDataDir', () => {
  it('prefers --data-dir, then LODGE_HOME, then ~/.lodge', () => {
    expect(resolveDataDir({ dataDir: '/flag' }, { LODGE_HOME: '/env' })).toBe('/flag');
    expect(resolveDataDir({}, { LODGE_HOME: '/env' })).toBe('/env');
    expect(resolveDataDir({}, {})).toMatch(/\.lodge$/);
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', 'app.localhost', '::1', '[::1]'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );
  it.each(['0.0.0.0', '::', '192.168.1.4', 'example.com', 'localhost.example.com', '128.0.0.1'])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('allowRemoteImages', () => {
  it('reads LODGE_ALLOW_REMOTE_IMAGES as a yes or no, and refuses anything else by name', () => {
    expect(resolveConfig(none, { LODGE_ALLOW_REMOTE_IMAGES: 'true' }, {}).values.allowRemoteImages).toBe(
      true,
    );
    expect(resolveConfig(none, { LODGE_ALLOW_REMOTE_IMAGES: '0' }, {}).values.allowRemoteImages).toBe(false);
    expect(() => resolveConfig(none, { LODGE_ALLOW_REMOTE_IMAGES: 'sometimes' }, {})).toThrow(
      /LODGE_ALLOW_REMOTE_IMAGES/,
    );
  });
});
