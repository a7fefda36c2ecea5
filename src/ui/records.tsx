/** The export ledger (filters, CSV, printable report, statistics) and the access log with its verification. */
import { useState } from 'preact/hooks';
import { api, qs, REQUESTER_TYPES, STATES } from './api';
import { fmtTime, useT, type Key } from './i18n';
import { Bars, ErrorBox, Field, StateBadge, usePoll } from './widgets';

interface LedgerRow {
  id: string;
  createdAt: string;
  state: string;
  requesterNameMasked: string;
  requesterType: string;
  organisation: string | null;
  purpose: string;
  legalBasis: string;
  cameras: string[];
  rangeFrom: string;
  rangeTo: string;
  registeredBy: string;
  approvedBy: string | null;
  reviewedBy: string | null;
  unmaskedCount: number;
  manualRegionCount: number;
  packageId: string | null;
  expiresAt: string | null;
  deliveryCount: number;
}
interface Stats {
  byMonth: { month: string; requests: number; delivered: number; rejected: number }[];
  byPurpose: { purpose: string; requests: number }[];
  byRequesterType: { type: string; requests: number }[];
  total: number;
}

const dayStart = (d: string) => (d ? new Date(`${d}T00:00:00`).toISOString() : undefined);
const dayEnd = (d: string) => (d ? new Date(new Date(`${d}T00:00:00`).getTime() + 86_400_000).toISOString() : undefined);

export function Ledger() {
  const { t, lang } = useT();
  const [f, setF] = useState({ from: '', to: '', state: '', requesterType: '', purpose: '' });
  const [applied, setApplied] = useState(f);
  const query = { from: dayStart(applied.from), to: dayEnd(applied.to), state: applied.state, requesterType: applied.requesterType, purpose: applied.purpose.trim() };
  const key = JSON.stringify(query);
  const rows = usePoll(() => api<{ rows: LedgerRow[] }>('GET', `/api/ledger${qs(query)}`), 0, [key]);
  const stats = usePoll(() => api<Stats>('GET', `/api/ledger/stats${qs(query)}`), 0, [key]);
  const set = (k: keyof typeof f) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => setF({ ...f, [k]: e.currentTarget.value });
  return (
    <div class="grid" data-testid="ledger">
      <section class="card wide">
        <h1>{t('ledgerTitle')}</h1>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(f);
          }}
        >
          <Field label={t('from')}>
            <input type="date" value={f.from} onInput={set('from')} />
          </Field>
          <Field label={t('to')}>
            <input type="date" value={f.to} onInput={set('to')} />
          </Field>
          <Field label={t('state')}>
            <select value={f.state} onChange={set('state')}>
              <option value="">{t('all')}</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {t(`state.${s}` as Key)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('requesterType')}>
            <select value={f.requesterType} onChange={set('requesterType')}>
              <option value="">{t('all')}</option>
              {REQUESTER_TYPES.map((s) => (
                <option key={s} value={s}>
                  {t(`type.${s}` as Key)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('purpose')}>
            <input value={f.purpose} onInput={set('purpose')} />
          </Field>
          <div class="actions">
            <button type="submit" class="primary">
              {t('search')}
            </button>
            <a class="button" href={`/api/ledger.csv${qs(query)}`} download="veilport-ledger.csv" data-testid="csv">
              {t('downloadCsv')}
            </a>
            <a class="button" href={`/api/ledger/report${qs({ ...query, lang })}`} target="_blank" rel="noopener" data-testid="report">
              {t('printReport')}
            </a>
          </div>
        </form>
        <ErrorBox error={rows.error} />
        {rows.data && <p class="muted">{t('rows', { n: rows.data.rows.length })}</p>}
        <div class="scroll-x">
          <table class="list">
            <thead>
              <tr>
                <th>{t('id')}</th>
                <th>{t('createdAt')}</th>
                <th>{t('state')}</th>
                <th>{t('requester')}</th>
                <th>{t('requesterType')}</th>
                <th>{t('purpose')}</th>
                <th>{t('legalBasis')}</th>
                <th>{t('camera')}</th>
                <th>{t('range')}</th>
                <th>{t('approve')}</th>
                <th>{t('reviewMasking')}</th>
                <th>{t('packageId')}</th>
                <th>{t('expires')}</th>
                <th>{t('deliveries')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.data?.rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={`#/requests/${r.id}`}>{r.id}</a>
                  </td>
                  <td>{fmtTime(r.createdAt, lang)}</td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td>{r.requesterNameMasked}</td>
                  <td>{t(`type.${r.requesterType}` as Key)}</td>
                  <td>{r.purpose}</td>
                  <td>{r.legalBasis}</td>
                  <td>{r.cameras.join(', ')}</td>
                  <td>
                    {fmtTime(r.rangeFrom, lang)} – {fmtTime(r.rangeTo, lang)}
                  </td>
                  <td>{r.approvedBy ?? '-'}</td>
                  <td>
                    {r.reviewedBy ?? '-'} ({r.unmaskedCount}/{r.manualRegionCount})
                  </td>
                  <td class="mono">{r.packageId?.slice(0, 8) ?? '-'}</td>
                  <td>{r.expiresAt && r.expiresAt.includes('T') ? fmtTime(r.expiresAt, lang) : (r.expiresAt ?? '-')}</td>
                  <td>{r.deliveryCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card wide" data-testid="stats">
        <h2>{t('stats')}</h2>
        <ErrorBox error={stats.error} />
        {stats.data && (
          <div class="grid">
            <div>
              <h3>{t('byMonth')}</h3>
              <Bars series={[t('requests'), t('delivered'), t('rejected')]} rows={stats.data.byMonth.map((m) => ({ label: m.month, values: [m.requests, m.delivered, m.rejected] }))} />
            </div>
            <div>
              <h3>{t('byPurpose')}</h3>
              <Bars series={[t('requests')]} rows={stats.data.byPurpose.map((m) => ({ label: m.purpose, values: [m.requests] }))} />
            </div>
            <div>
              <h3>{t('byType')}</h3>
              <Bars series={[t('requests')]} rows={stats.data.byRequesterType.map((m) => ({ label: t(`type.${m.type}` as Key), values: [m.requests] }))} />
            </div>
          </div>
        )}
      </section>
    </div>
  );
}

interface Entry {
  seq: number;
  at: string;
  account: string | null;
  ip: string;
  action: string;
  target: string;
  result: string;
  detail?: string;
}
interface Verify {
  ok: boolean;
  length: number;
  entries: number;
  checkpoints: number;
  head: string;
  problems: { seq: number; kind: string; message: string }[];
}
const ACTIONS = ['view', 'search', 'create', 'modify', 'delete', 'export', 'download', 'print', 'login', 'logout', 'login-failed'];

export function AccessLog() {
  const { t, lang } = useT();
  const [f, setF] = useState({ account: '', action: '' });
  const [applied, setApplied] = useState(f);
  const log = usePoll(() => api<{ entries: Entry[] }>('GET', `/api/access-log${qs({ limit: 300, account: applied.account.trim(), action: applied.action })}`), 0, [applied]);
  const [verify, setVerify] = useState<Verify>();
  const [error, setError] = useState<unknown>();
  return (
    <div class="grid" data-testid="access-log">
      <section class="card wide">
        <h1>{t('auditTitle')}</h1>
        <div class="actions">
          <button
            type="button"
            class="primary"
            data-testid="verify"
            onClick={async () => {
              setError(undefined);
              try {
                setVerify(await api<Verify>('GET', '/api/audit/verify'));
              } catch (e) {
                setError(e);
              }
            }}
          >
            {t('verify')}
          </button>
        </div>
        <ErrorBox error={error} />
        {verify && (
          <div class={verify.ok ? 'notice ok' : 'error'} data-testid="verify-result">
            {verify.ok ? t('verifyOk', { n: verify.entries, c: verify.checkpoints }) : t('verifyBad', { n: verify.problems.length })}
            <div class="mono small-text">{verify.head}</div>
            <ul class="plain">
              {verify.problems.slice(0, 20).map((p) => (
                <li key={p.seq}>
                  #{p.seq} {p.kind}: {p.message}
                </li>
              ))}
            </ul>
          </div>
        )}
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(f);
          }}
        >
          <Field label={t('account')}>
            <input value={f.account} autocapitalize="none" onInput={(e) => setF({ ...f, account: e.currentTarget.value })} />
          </Field>
          <Field label={t('action')}>
            <select value={f.action} onChange={(e) => setF({ ...f, action: e.currentTarget.value })}>
              <option value="">{t('all')}</option>
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
          <div class="actions">
            <button type="submit">{t('search')}</button>
          </div>
        </form>
        <ErrorBox error={log.error} />
        <div class="scroll-x">
          <table class="list">
            <thead>
              <tr>
                <th>#</th>
                <th>{t('at')}</th>
                <th>{t('account')}</th>
                <th>{t('ip')}</th>
                <th>{t('action')}</th>
                <th>{t('target')}</th>
                <th>{t('result')}</th>
              </tr>
            </thead>
            <tbody>
              {log.data?.entries.map((e) => (
                <tr key={e.seq} class={e.result === 'ok' ? '' : 'denied'}>
                  <td>{e.seq}</td>
                  <td>{fmtTime(e.at, lang)}</td>
                  <td>{e.account ?? '-'}</td>
                  <td>{e.ip}</td>
                  <td>{e.action}</td>
                  <td>
                    {e.target}
                    {e.detail && <div class="muted">{e.detail}</div>}
                  </td>
                  <td>{e.result}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
