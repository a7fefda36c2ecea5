/** Status for every role: queue, running jobs with live progress, disks, alerts, last exports. No personal data. */
import { api, type Account, type Status } from './api';
import { fmtBytes, fmtTime, useT, type Key } from './i18n';
import { ErrorBox, ProgressBar, StateBadge, usePoll } from './widgets';

export function Dashboard({ me }: { me: Account }) {
  const { t, lang } = useT();
  const { data: s, error } = usePoll(() => api<Status>('GET', '/api/status'), 2000);
  const canOpen = me.role === 'clerk' || me.role === 'approver' || me.role === 'auditor';
  const reqLink = (id: string) => (canOpen ? <a href={`#/requests/${id}`}>{id}</a> : <span>{id}</span>);
  return (
    <div class="grid" data-testid="dashboard">
      <ErrorBox error={error} />
      <section class="card">
        <h2>
          {t('running')} · {t('queue')} {s?.queue.queued ?? '-'}
        </h2>
        {s && s.queue.running.length === 0 && <p class="muted">{t('noRunning')}</p>}
        {s?.queue.running.map((j) => (
          <div class="job" key={j.jobId} data-testid="running-job">
            <div>
              {reqLink(j.requestId)} · {t(j.kind === 'analyse' ? 'jobAnalyse' : 'jobRender')}
              {j.progress && j.progress.etaSeconds > 0 && <span class="muted"> · {t('eta', { s: Math.round(j.progress.etaSeconds) })}</span>}
            </div>
            <ProgressBar done={j.progress?.done ?? 0} total={j.progress?.total ?? 0} label={j.progress?.step ?? j.kind} />
          </div>
        ))}
      </section>
      <section class="card">
        <h2>{t('disks')}</h2>
        {s &&
          (['recordings', 'exports', 'data'] as const).map((k) => {
            const d = s.disks[k];
            return (
              <div key={k} class="disk">
                <span>{t(({ recordings: 'diskRecordings', exports: 'diskExports', data: 'diskData' } as const)[k])}</span>
                <ProgressBar done={d.freeBytes ?? 0} total={d.totalBytes ?? 0} label={`${fmtBytes(d.freeBytes)} / ${fmtBytes(d.totalBytes)}`} />
              </div>
            );
          })}
        {s && (
          <p class="muted">
            {t('uptime')} {Math.floor(s.uptimeSeconds / 3600)}h {Math.floor((s.uptimeSeconds % 3600) / 60)}m · v{s.version} · {s.applianceId}
          </p>
        )}
      </section>
      <section class="card">
        <h2>{t('alerts')}</h2>
        {s && s.alerts.length === 0 && <p class="muted">{t('noAlerts')}</p>}
        <ul class="plain">
          {s?.alerts.map((a, i) => (
            <li key={i} class="alert">
              <span class="muted">{fmtTime(a.at, lang)}</span> <strong>{a.kind}</strong> {a.message}
            </li>
          ))}
        </ul>
      </section>
      <section class="card">
        <h2>{t('lastExports')}</h2>
        {s && s.lastExports.length === 0 && <p class="muted">{t('none')}</p>}
        <table>
          <tbody>
            {s?.lastExports.map((e) => (
              <tr key={e.requestId}>
                <td>{reqLink(e.requestId)}</td>
                <td>
                  <StateBadge state={e.state} />
                </td>
                <td>
                  {t('issued')} {fmtTime(e.issuedAt, lang)}
                </td>
                <td>
                  {t('expires')} {e.expiresAt ? fmtTime(e.expiresAt, lang) : t('none')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

export type { Key };
