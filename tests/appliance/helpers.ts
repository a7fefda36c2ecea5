/** Shared pieces of the appliance tests: the native helper and a notify-socket listener. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SYS = fileURLToPath(new URL('../../build/veilport-sys', import.meta.url));

export interface Datagram {
  /** CLOCK_MONOTONIC milliseconds when it arrived. */
  ms: number;
  /** Its text, newlines as "\n" (two characters). */
  text: string;
}

export interface Listener {
  messages: Datagram[];
  waitFor(match: (m: Datagram) => boolean, timeoutMs: number): Promise<Datagram>;
  stop(): void;
}

/** Binds a unix datagram socket at `path` (through build/veilport-sys) and collects what arrives. */
export async function startListener(path: string): Promise<Listener> {
  if (!existsSync(SYS)) throw new Error(`${SYS} is missing: run npm run build:native`);
  const proc = spawn(SYS, ['listen', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: Datagram[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let listening: () => void;
  const bound = new Promise<void>((r) => (listening = r));
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (s: string) => {
    buf += s;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'listening') {
        listening();
        continue;
      }
      const sp = line.indexOf(' ');
      messages.push({ ms: Number(line.slice(0, sp)), text: line.slice(sp + 1) });
      for (const w of waiters) w();
    }
  });
  await Promise.race([bound, new Promise((_, reject) => proc.on('exit', (code) => reject(new Error(`veilport-sys listen ${path} exited ${code}`))))]);
  return {
    messages,
    waitFor(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = messages.find(match);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching datagram within ${timeoutMs} ms; got: ${messages.map((m) => m.text).join(' | ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => proc.kill(),
  };
}

/** A short socket path (unix socket paths are limited to 107 bytes; test dirs are longer). */
export function socketPath(t: { teardown(f: () => void): void }, name = 'notify.sock'): string {
  const dir = mkdtempSync(join(tmpdir(), 'vp-sock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}
