import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../../../src/main/core/hub/address-policy';

describe('which addresses a hub may send Lodge to', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '18.244.202.69',
    '100.63.255.255',
    '100.128.0.1',
    '172.15.255.255',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '[2a00:1450:4001:80b::200e]',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('lets %s through', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    // IPv4: this host, private, CGNAT, loopback, link-local, documentation, multicast, broadcast.
    '0.0.0.0',
    '10.1.2.3',
    '100.64.0.1',
    '127.0.0.1',
    '127.255.255.254',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '192.0.0.8',
    '198.18.0.1',
    '203.0.113.7',
    '224.0.0.251',
    '239.255.255.250',
    '255.255.255.255',
    // IPv6: unspecified, loopback, unique-local, link-local, site-local, multicast, documentation.
    '::',
    '::1',
    '[::1]',
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'febf::1',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    // IPv4-mapped and -compatible forms of loopback and private addresses, however written.
    '::ffff:127.0.0.1',
    '[::ffff:127.0.0.1]',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:127.0.0.1',
    '0:0:0:0:0:ffff:7f00:0001',
    '::FFFF:A9FE:A9FE',
    '::ffff:10.0.0.1',
    '::ffff:0:127.0.0.1',
    '::127.0.0.1',
    '::7f00:1',
    '::ffff:0.0.0.0',
    // No real CDN answers on a mapped address: every mapped form is refused, public or not.
    '::ffff:8.8.8.8',
    // NAT64 and 6to4 embeddings of internal addresses; local-use NAT64.
    '64:ff9b::7f00:1',
    '64:ff9b::192.168.0.1',
    '2002:7f00:1::1',
    '2002:c0a8:101::',
    '64:ff9b:1::1',
    // Not IP literals at all.
    'localhost',
    'example.com',
    '',
    '1:2:3:4:5:6:7:8:9',
    '::1::',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
});
