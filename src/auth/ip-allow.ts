/**
 * IP allow-lists (접속 권한을 IP주소 등으로 제한): CIDRs for IPv4 and IPv6, matched with
 * node:net BlockList. A client address arriving as IPv4-mapped IPv6 (::ffff:10.0.0.5,
 * how a dual-stack socket reports IPv4 peers) is matched as the IPv4 address it is, and
 * an IPv4 rule written in mapped form (::ffff:10.0.0.0/104) matches plain IPv4 clients.
 * An empty list allows any address.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';
import { VeilportError } from '../util/errors.js';

export interface ClientAddress {
  address: string;
  family: 'ipv4' | 'ipv6';
}

/** Expands an IPv6 address (no zone) into 8 hextets; null when it is not one. */
function hextets(addr: string): number[] | null {
  let a = addr;
  let tail: number[] = [];
  const lastColon = a.lastIndexOf(':');
  const last = a.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 in the last 32 bits (::ffff:1.2.3.4, ::1.2.3.4).
    if (!isIPv4(last)) return null;
    const o = last.split('.').map(Number) as [number, number, number, number];
    tail = [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
    a = a.slice(0, lastColon + 1);
    if (!a.endsWith('::')) a = a.slice(0, -1);
  }
  const [head, rest] = a.includes('::') ? (a.split('::') as [string, string]) : [a, null];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? parseInt(h, 16) : NaN)));
  const h = parse(head);
  const r = rest === null ? [] : parse(rest);
  const want = 8 - tail.length;
  let all: number[];
  if (rest === null) all = h;
  else {
    const fill = want - h.length - r.length;
    if (fill < 1) return null;
    all = [...h, ...new Array<number>(fill).fill(0), ...r];
  }
  all = [...all, ...tail];
  if (all.length !== 8 || all.some((x) => Number.isNaN(x))) return null;
  return all;
}

/**
 * The client address as matched: brackets and zone (%eth0) removed, IPv4-mapped IPv6
 * turned into IPv4. Null when `ip` is not an address.
 */
export function clientAddress(ip: string): ClientAddress | null {
  if (typeof ip !== 'string') return null;
  let a = ip.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const kind = isIP(a);
  if (kind === 4) return { address: a, family: 'ipv4' };
  if (kind !== 6) return null;
  const h = hextets(a.toLowerCase());
  if (h && h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) {
    return { address: `${h[6]! >> 8}.${h[6]! & 255}.${h[7]! >> 8}.${h[7]! & 255}`, family: 'ipv4' };
  }
  return { address: a.toLowerCase(), family: 'ipv6' };
}

interface Rule {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseRule(cidr: string): Rule | null {
  if (typeof cidr !== 'string') return null;
  const s = cidr.trim();
  const slash = s.indexOf('/');
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const pfx = slash >= 0 ? s.slice(slash + 1) : null;
  const kind = isIP(addr);
  if (kind === 0 || addr.includes('%')) return null;
  const max = kind === 4 ? 32 : 128;
  if (pfx !== null && !/^\d{1,3}$/.test(pfx)) return null;
  const prefix = pfx === null ? max : Number(pfx);
  if (prefix > max) return null;
  if (kind === 6) {
    // ::ffff:a.b.c.d/n with n >= 96 is an IPv4 rule written in mapped form.
    const h = hextets(addr.toLowerCase());
    if (h && prefix >= 96 && h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) {
      return { address: `${h[6]! >> 8}.${h[6]! & 255}.${h[7]! >> 8}.${h[7]! & 255}`, prefix: prefix - 96, family: 'ipv4' };
    }
    return { address: addr.toLowerCase(), prefix, family: 'ipv6' };
  }
  return { address: addr, prefix, family: 'ipv4' };
}

/**
 * Checks and normalises CIDRs ("10.0.0.0/8", "fd00::/8"; a bare address means that one
 * address). @param what names the list in the error ("allowedIps").
 * @throws VeilportError BAD_INPUT naming the first entry that is not a CIDR.
 */
export function normaliseCidrs(list: readonly string[], what = 'allowedIps'): string[] {
  if (!Array.isArray(list)) throw new VeilportError('BAD_INPUT', `${what} must be a list of CIDRs like 192.168.0.0/24 or fd00::/8`, { field: what });
  const out: string[] = [];
  for (const c of list) {
    const r = parseRule(c);
    if (!r) {
      throw new VeilportError('BAD_INPUT', `${what}: "${String(c)}" is not an IPv4 or IPv6 address or CIDR (like 192.168.0.0/24, 10.1.2.3 or fd00::/8)`, { field: what, value: String(c) });
    }
    const s = String(c).trim();
    const norm = s.includes('/') ? s.toLowerCase() : `${s.toLowerCase()}/${r.family === 'ipv4' && isIP(s) === 4 ? 32 : 128}`;
    if (!out.includes(norm)) out.push(norm);
  }
  return out;
}

/** A compiled allow-list. */
export class IpAllowList {
  readonly cidrs: readonly string[];
  private readonly list = new BlockList();

  constructor(cidrs: readonly string[]) {
    this.cidrs = normaliseCidrs(cidrs);
    for (const c of this.cidrs) {
      const r = parseRule(c)!;
      this.list.addSubnet(r.address, r.prefix, r.family);
    }
  }

  get empty(): boolean {
    return this.cidrs.length === 0;
  }

  /** True when the list is empty or `ip` falls in one of its CIDRs; false for anything not an address. */
  allows(ip: string): boolean {
    if (this.empty) return true;
    const a = clientAddress(ip);
    if (!a) return false;
    return this.list.check(a.address, a.family);
  }
}

const cache = new Map<string, IpAllowList>();

/** `allows` with a small cache of compiled lists (per-account lists are checked on every request). */
export function ipAllowed(cidrs: readonly string[], ip: string): boolean {
  if (cidrs.length === 0) return true;
  const key = cidrs.join(',');
  let l = cache.get(key);
  if (!l) {
    l = new IpAllowList(cidrs);
    if (cache.size >= 256) cache.delete(cache.keys().next().value as string);
    cache.set(key, l);
  }
  return l.allows(ip);
}
