import { describe, expect, it } from 'vitest';
import type { Settings } from '../../../../src/shared/contract/settings';
import { hostNameOf, SecurityPolicy } from '../../../../src/main/core/api/security';
import { DEFAULT_SETTINGS } from '../../../../src/main/core/config';

function policy(settings: Partial<Settings> = {}, bound = { host: '127.0.0.1', port: 11435 }) {
  const values: Settings = { ...DEFAULT_SETTINGS, host: bound.host, port: bound.port, ...settings };
  return new SecurityPolicy({ settings: () => values, bound: () => bound });
}

describe('hostNameOf', () => {
  it.each([
    ['localhost:11435', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]:11435', '[::1]'],
    ['EVIL.example:80', 'evil.example'],
    [':11435', ''],
    ['', ''],
    ['[::1', ''],
    ['localhost:1@evil', ''],
    ['[::1].evil', ''],
    ['127.0.0.1:80:80', ''],
    ['localhost:99999', ''],
    ['localhost:', ''],
    ['local host', ''],
    ['::1', ''],
    ['[fe80::1%25eth0]', ''],
    ['[not:an:ip]', ''],
    ['evil@localhost', ''],
    ['localhost/evil', ''],
    ['localhost.evil', 'localhost.evil'],
    ['[::FFFF:127.0.0.1]:80', '[::ffff:127.0.0.1]'],
  ])('%j → %j', (header, name) => {
    expect(hostNameOf(header)).toBe(name);
  });
});

describe('SecurityPolicy.rejectHost (DNS rebinding)', () => {
  it('accepts loopback names', () => {
    for (const host of ['localhost:11435', '127.0.0.1:11435', '[::1]:11435'])
      expect(policy().rejectHost(host)).toBeNull();
  });
  it('refuses other names and an empty Host', () => {
    expect(policy().rejectHost('evil.example')?.message).toMatch(/not allowed/);
    expect(policy().rejectHost('localhost.evil')?.code).toBe('forbidden');
    expect(policy().rejectHost('')?.message).toMatch(/no Host/);
    expect(policy().rejectHost(':11435')?.message).toMatch(/no Host/);
    expect(policy().rejectHost(undefined)?.message).toMatch(/no Host/);
  });
  it('refuses a malformed Host as an invalid request', () => {
    for (const host of [':1@evil', 'localhost:1@evil', '[::1].evil', '127.0.0.1:80:80'])
      expect(policy().rejectHost(host)).toMatchObject({ code: 'invalid_request', message: /malformed/ });
  });
  it('accepts configured host names', () => {
    expect(policy({ allowedHosts: ['Lodge.Home.Arpa'] }).rejectHost('lodge.home.arpa:11435')).toBeNull();
  });
  it('accepts the bound address when serving beyond loopback', () => {
    const lan = policy({ apiKey: 'k'.repeat(16) }, { host: '192.0.2.7', port: 11435 });
    expect(lan.rejectHost('192.0.2.7:11435')).toBeNull();
    expect(lan.rejectHost('evil.example')).not.toBeNull();
    const v6 = policy({ apiKey: 'k'.repeat(16) }, { host: 'fd00::7', port: 11435 });
    expect(v6.rejectHost('[fd00::7]:11435')).toBeNull();
  });
});

describe('SecurityPolicy.allowsOrigin', () => {
  it('allows requests without an Origin (curl, SDKs)', () => {
    expect(policy().allowsOrigin(undefined)).toBe(true);
  });
  it("allows the server's own origins and the desktop app", () => {
    for (const origin of ['http://127.0.0.1:11435', 'http://localhost:11435', 'app://lodge']) {
      expect(policy().allowsOrigin(origin)).toBe(true);
    }
  });
  it('refuses other origins, other ports and the opaque null origin', () => {
    for (const origin of ['https://evil.example', 'http://localhost:3000', 'null'])
      expect(policy().allowsOrigin(origin)).toBe(false);
  });
  it('allows configured origins, exactly or by trailing wildcard', () => {
    const configured = policy({ origins: ['http://localhost:3000', 'chrome-extension://*'] });
    expect(configured.allowsOrigin('http://localhost:3000')).toBe(true);
    expect(configured.allowsOrigin('chrome-extension://abcdef')).toBe(true);
    expect(configured.allowsOrigin('http://localhost:3001')).toBe(false);
  });
});

describe('SecurityPolicy.authorizes', () => {
  it('lets everything through without a key', () => {
    expect(policy().authorizes(undefined)).toBe(true);
  });
  it('requires the exact bearer token when a key is set', () => {
    const keyed = policy({ apiKey: 'correct-horse-battery' });
    expect(keyed.authorizes(undefined)).toBe(false);
    expect(keyed.authorizes('Bearer wrong')).toBe(false);
    expect(keyed.authorizes('correct-horse-battery')).toBe(false);
    expect(keyed.authorizes('Bearer correct-horse-battery')).toBe(true);
    expect(keyed.authorizes('bearer correct-horse-battery')).toBe(true);
  });
  it("takes the key from x-api-key too (Anthropic's clients), exact as well", () => {
    const keyed = policy({ apiKey: 'correct-horse-battery' });
    expect(keyed.authorizes(undefined, 'correct-horse-battery')).toBe(true);
    expect(keyed.authorizes(undefined, 'wrong')).toBe(false);
    expect(keyed.authorizes(undefined, ['correct-horse-battery', 'correct-horse-battery'])).toBe(false);
    expect(keyed.authorizes('Bearer wrong', 'correct-horse-battery')).toBe(true);
  });
});
