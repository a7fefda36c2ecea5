/**
 * scrypt for the password, off the page's main thread when the browser allows it. The
 * player is one inline script; a Web Worker is started from a Blob of that same script
 * (no file, no network), which recognises the worker scope and serves key derivations.
 * Where a worker cannot be started (some browsers refuse Blob workers on file:// pages),
 * scrypt runs on the page in small slices (scryptAsync yields to the event loop), so the
 * page still repaints its progress.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import type { DeriveKey, ScryptParams } from './format.js';

interface Request {
  password: Uint8Array;
  salt: Uint8Array;
  params: ScryptParams;
}

type Reply = { progress: number } | { key: Uint8Array } | { error: string };

/** Entry point when the script runs as a worker. */
export function serveWorker(scope: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown, t?: Transferable[]): void }): void {
  scope.onmessage = async (e: MessageEvent) => {
    const { password, salt, params } = e.data as Request;
    let last = 0;
    try {
      const key = await scryptAsync(password, salt, {
        ...params,
        dkLen: 32,
        onProgress: (p: number) => {
          if (p - last >= 0.02 || p === 1) {
            last = p;
            scope.postMessage({ progress: p } satisfies Reply);
          }
        },
      });
      password.fill(0);
      scope.postMessage({ key } satisfies Reply, [key.buffer as ArrayBuffer]);
    } catch (err) {
      scope.postMessage({ error: String(err) } satisfies Reply);
    }
  };
}

export interface Derivation {
  derive: DeriveKey;
  /** How the last derivation ran ("worker" or "page") and how long it took, ms. */
  last: { where: 'worker' | 'page'; ms: number } | null;
}

function inPage(onProgress: (p: number) => void): DeriveKey {
  return (password, salt, params) => scryptAsync(password, salt, { ...params, dkLen: 32, onProgress });
}

function inWorker(scriptText: string, onProgress: (p: number) => void): DeriveKey {
  return (password, salt, params) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const url = URL.createObjectURL(new Blob([scriptText], { type: 'text/javascript' }));
      let worker: Worker;
      try {
        worker = new Worker(url);
      } catch (e) {
        URL.revokeObjectURL(url);
        reject(e);
        return;
      }
      const done = () => {
        worker.terminate();
        URL.revokeObjectURL(url);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        done();
        reject(new Error(`worker failed: ${e.message}`));
      };
      worker.onmessage = (e: MessageEvent) => {
        const m = e.data as Reply;
        if ('progress' in m) onProgress(m.progress);
        else if ('key' in m) {
          done();
          resolve(m.key);
        } else {
          done();
          reject(new Error(m.error));
        }
      };
      worker.postMessage({ password: password.slice(), salt, params } satisfies Request);
    });
}

/**
 * A key derivation that tries the worker first and falls back to the page for good
 * when the worker cannot run. `scriptText` is the player's own script (null: page only).
 */
export function makeDerivation(scriptText: string | null, onProgress: (p: number) => void): Derivation {
  let workerUsable = scriptText !== null && typeof Worker === 'function';
  const page = inPage(onProgress);
  const worker = scriptText !== null ? inWorker(scriptText, onProgress) : page;
  const d: Derivation = {
    last: null,
    derive: async (password, salt, params) => {
      const t0 = performance.now();
      if (workerUsable) {
        try {
          const key = await worker(password, salt, params);
          d.last = { where: 'worker', ms: performance.now() - t0 };
          return key;
        } catch {
          workerUsable = false;
        }
      }
      const t1 = performance.now();
      const key = await page(password, salt, params);
      d.last = { where: 'page', ms: performance.now() - t1 };
      return key;
    },
  };
  return d;
}
