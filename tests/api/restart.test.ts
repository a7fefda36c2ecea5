/**
 * The daemon killed mid-job: with SIGKILL during analysis (a crash, a power cut) and
 * with SIGTERM during the render (a clean stop). After each restart no request,
 * ledger or access-log entry is missing, the log still verifies, the job resumes and
 * the request reaches its next state; no partial package is left behind.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client, login, makeLobby, PASSWORDS, staff, waitState } from './helpers.js';
import { boxDir } from '../helpers/box-dir.js';

const dir = boxDir('restart');
const recordings = join(dir, 'rec');
const config = join(dir, 'veilport.json');
const data = join(dir, 'data');

interface Child { proc: ChildProcess; url: string; stderr: string[]; exited: Promise<number | null> }

async function serve(): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'serve-child.ts'), 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => {
      stderr.push(s);
      const m = /serving (http:\/\/\S+)/.exec(stderr.join(''));
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr.join('')}`)));
  });
  return { proc, url, stderr, exited };
}

async function waitJob(get: ReturnType<typeof client>, requestId: string, kind: string): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    const jobs = (await get('GET', '/api/jobs')).body.jobs as { requestId: string; kind: string; state: string; progress: { done: number } | null }[];
    if (jobs.some((j) => j.requestId === requestId && j.kind === kind && j.state === 'running' && (j.progress?.done ?? 0) > 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${kind} job never ran`);
}

t.test('SIGKILL during analysis, SIGTERM during render', async (t) => {
  await makeLobby(recordings, 40);
  writeFileSync(config, JSON.stringify({
    server: { listen: '127.0.0.1:0' },
    paths: { data, recordings },
    auth: { scryptLogN: 12 },
  }));
  let d = await serve();
  t.teardown(() => d.proc.kill('SIGKILL'));
  const token = /bootstrap token: (\S+)/.exec(d.stderr.join(''))![1]!;
  const tokens = await staff(d.url, token);
  let clerk = client(d.url, tokens.clerk);
  let approver = client(d.url, tokens.approver);
  const reg = await clerk('POST', '/api/requests', {
    requester: { name: '이영희', type: 'subject' }, purpose: 'own footage', legalBasis: 'PIPA art. 35',
    cameras: ['lobby'], range: { from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:40Z' }, targets: ['face'],
  });
  const id = reg.body.id as string;
  await clerk('POST', `/api/requests/${id}/receive`);
  await approver('POST', `/api/requests/${id}/approve`);
  await waitJob(clerk, id, 'analyse');
  const logBefore = (await client(d.url, tokens.auditor)('GET', '/api/access-log?limit=5000')).body.entries.length as number;

  d.proc.kill('SIGKILL');
  t.equal(await d.exited, null, 'killed');
  d = await serve();
  t.notMatch(d.stderr.join(''), /bootstrap token/, 'an admin exists: no new bootstrap token');
  clerk = client(d.url, await login(d.url, 'clerk1', PASSWORDS.clerk));
  approver = client(d.url, await login(d.url, 'approver1', PASSWORDS.approver));
  const auditor = client(d.url, await login(d.url, 'auditor1', PASSWORDS.auditor));
  const entries = (await auditor('GET', '/api/access-log?limit=5000')).body.entries as unknown[];
  t.ok(entries.length >= logBefore, `no access-log entry lost (${logBefore} before, ${entries.length} after, logins added)`);
  t.equal((await auditor('GET', '/api/audit/verify')).body.ok, true, 'the log verifies after the crash');
  const review = await waitState(clerk, id, ['review']);
  t.same(review.history.map((h: { to: string }) => h.to).slice(0, 4), ['registered', 'received', 'approved', 'analysing'], 'history kept');
  const jobs = (await clerk('GET', '/api/jobs')).body.jobs as { kind: string; attempts: number; state: string }[];
  t.equal(jobs.find((j) => j.kind === 'analyse')!.attempts, 2, 'the analysis ran again after the crash');

  await approver('POST', `/api/requests/${id}/review/confirm`);
  await waitJob(clerk, id, 'render');
  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0, 'a clean stop exits 0');
  t.match(d.stderr.join(''), /SIGTERM: stopping/);
  d = await serve();
  clerk = client(d.url, await login(d.url, 'clerk1', PASSWORDS.clerk));
  const sealed = await waitState(clerk, id, ['sealed']);
  t.ok(sealed.package.packageId, 'the render resumed and sealed');
  const renderJob = ((await clerk('GET', '/api/jobs')).body.jobs as { kind: string; attempts: number }[]).find((j) => j.kind === 'render')!;
  t.equal(renderJob.attempts, 1, 'a clean stop does not count as an attempt');
  t.same(readdirSync(join(data, 'exports')), [`${id}.vpkg`], 'only the sealed package in the export area, no partial');
  d.proc.kill('SIGTERM');
  await d.exited;
});
