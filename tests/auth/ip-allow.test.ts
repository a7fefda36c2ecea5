/** IP allow-lists: IPv4, IPv6, IPv4-mapped IPv6, bad input. */
import t from 'tap';
import { IpAllowList, clientAddress, ipAllowed, normaliseCidrs } from '../../src/auth/ip-allow.js';

t.test('client addresses are normalised', async (t) => {
  t.same(clientAddress('10.1.2.3'), { address: '10.1.2.3', family: 'ipv4' });
  t.same(clientAddress('::ffff:127.0.0.1'), { address: '127.0.0.1', family: 'ipv4' });
  t.same(clientAddress('::FFFF:7f00:1'), { address: '127.0.0.1', family: 'ipv4' }, 'hex form of a mapped address');
  t.same(clientAddress('0:0:0:0:0:ffff:c0a8:0102'), { address: '192.168.1.2', family: 'ipv4' });
  t.same(clientAddress('[fe80::1%eth0]'), { address: 'fe80::1', family: 'ipv6' });
  t.same(clientAddress('::1'), { address: '::1', family: 'ipv6' });
  t.same(clientAddress('::127.0.0.1'), { address: '::127.0.0.1', family: 'ipv6' }, 'IPv4-compatible is not mapped');
  t.equal(clientAddress('localhost'), null);
  t.equal(clientAddress(''), null);
});

t.test('IPv4 CIDRs', async (t) => {
  const l = new IpAllowList(['10.0.0.0/8', '192.168.1.7']);
  t.ok(l.allows('10.200.3.4'));
  t.ok(l.allows('192.168.1.7'));
  t.notOk(l.allows('192.168.1.8'), 'a bare address is /32');
  t.notOk(l.allows('11.0.0.1'));
  t.notOk(l.allows('garbage'));
  t.notOk(l.allows('fd00::1'));
});

t.test('IPv6 CIDRs', async (t) => {
  const l = new IpAllowList(['fd00:1234::/32', '::1']);
  t.ok(l.allows('fd00:1234:ffff::9'));
  t.ok(l.allows('::1'));
  t.ok(l.allows('[::1]'));
  t.notOk(l.allows('fd00:1235::1'));
  t.notOk(l.allows('10.0.0.1'));
});

t.test('IPv4-mapped IPv6 clients match IPv4 rules, and mapped rules match IPv4 clients', async (t) => {
  const l = new IpAllowList(['127.0.0.0/8']);
  t.ok(l.allows('::ffff:127.0.0.1'));
  t.ok(l.allows('::ffff:7f00:1'));
  t.ok(l.allows('127.9.9.9'));
  t.notOk(l.allows('::ffff:128.0.0.1'));
  const m = new IpAllowList(['::ffff:10.0.0.0/104']);
  t.ok(m.allows('10.3.2.1'));
  t.ok(m.allows('::ffff:10.3.2.1'));
  t.notOk(m.allows('11.3.2.1'));
});

t.test('empty list allows any address', async (t) => {
  t.ok(new IpAllowList([]).allows('203.0.113.9'));
  t.ok(ipAllowed([], '2001:db8::1'));
  t.notOk(ipAllowed(['10.0.0.0/8'], '203.0.113.9'));
  t.ok(ipAllowed(['10.0.0.0/8'], '10.0.0.9'));
});

t.test('bad CIDRs are refused, naming them', async (t) => {
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', 'example.com', '10.0.0.0/', '10.0.0.0/-1', 'fe80::1%eth0/64', '']) {
    t.throws(() => normaliseCidrs([bad], 'allowedIps'), { code: 'BAD_INPUT', message: new RegExp(`allowedIps: "${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is not an IPv4 or IPv6`) }, bad);
  }
  t.same(normaliseCidrs(['10.0.0.0/8', ' 10.0.0.0/8', '::1', 'FD00::/8', '192.168.0.1']), ['10.0.0.0/8', '::1/128', 'fd00::/8', '192.168.0.1/32']);
});
