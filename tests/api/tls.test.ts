/** TLS when a certificate is configured: the API answers over HTTPS only, cookies are Secure. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { start, testSettings } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

t.test('https with a configured certificate', async (t) => {
  const dir = boxDir('tls');
  const recordings = join(dir, 'rec');
  mkdirSync(recordings);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const run = await start(testSettings(dir, recordings, { server: { tlsCert: cert, tlsKey: key } }));
  t.teardown(() => run.daemon.close());
  t.match(run.daemon.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const get = (path: string, method = 'GET', body?: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request(run.daemon.url + path, { method, ca: readFileSync(cert), headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const health = await get('/api/health');
  t.equal(health.status, 200);
  t.equal(JSON.parse(health.body).bootstrapNeeded, true);
  t.equal(health.headers['strict-transport-security'], 'max-age=31536000', 'HSTS under TLS: a browser that reached the box over https stays on https');
  const boot = await get('/api/bootstrap', 'POST', JSON.stringify({ token: run.token, id: 'admin1', displayName: 'a', password: 'Harbour-Lamp-73' }));
  t.equal(boot.status, 201, boot.body);
  const login = await get('/api/session', 'POST', JSON.stringify({ id: 'admin1', password: 'Harbour-Lamp-73' }));
  t.equal(login.status, 200);
  t.match(String(login.headers['set-cookie']), /HttpOnly; SameSite=Strict; Max-Age=\d+; Secure/, 'the session cookie is Secure over TLS');
  await t.rejects(fetch(run.daemon.url.replace('https', 'http') + '/api/health'), 'plain HTTP is not served');
});
