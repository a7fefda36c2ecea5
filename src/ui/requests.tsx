/** Requests: the registration form with the recordings picker, the list, and one request's page with its actions. */
import { useEffect, useState } from 'preact/hooks';
import { api, qs, REQUESTER_TYPES, STATES, type Account, type RequestView, type Status } from './api';
import { fmtTime, useT, type Key } from './i18n';
import { Choice, ErrorBox, Field, ProgressBar, StateBadge, fromLocalInput, toLocalInput, usePoll } from './widgets';

// Drafts live in memory only (never in storage: they hold personal data) and are
// dropped at logout and on idle, so a failed call or a trip to another screen loses nothing.
const drafts = new Map<string, unknown>();
export function clearDrafts(): void {
  drafts.clear();
}
function useDraft<T>(key: string, initial: () => T): [T, (v: T) => void] {
  const [v, setV] = useState<T>(() => (drafts.get(key) as T | undefined) ?? initial());
  return [
    v,
    (n: T) => {
      drafts.set(key, n);
      setV(n);
    },
  ];
}

const TARGETS = ['person', 'face', 'plate', 'motion'] as const;

interface Form {
  name: string;
  phone: string;
  idNumber: string;
  organisation: string;
  type: (typeof REQUESTER_TYPES)[number];
  purpose: string;
  legalBasis: string;
  documentNumber: string;
  camera: string;
  from: string;
  to: string;
  expiresAfterDays: string;
  noExpiry: boolean;
  targets: string[];
  batch: boolean;
}

interface Recordings {
  pieces: { from: string; to: string }[];
  gaps: { from: string; to: string }[];
  problems: { file: string; reason: string }[];
}

export function NewRequest() {
  const { t } = useT();
  const [f, setF] = useDraft<Form>('new-request', () => ({
    name: '', phone: '', idNumber: '', organisation: '', type: 'subject', purpose: '', legalBasis: '', documentNumber: '',
    camera: '', from: '', to: '', expiresAfterDays: '14', noExpiry: false, targets: [...TARGETS], batch: false,
  }));
  const [cameras, setCameras] = useState<string[]>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [recs, setRecs] = useState<{ from: string; to: string; data: Recordings }>();
  const [recError, setRecError] = useState<unknown>();
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF({ ...f, [k]: v });
  const text = (k: keyof Form) => (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => set(k, e.currentTarget.value as never);

  useEffect(() => {
    api<{ cameras: string[] }>('GET', '/api/cameras').then(
      (r) => {
        setCameras(r.cameras);
        if (!f.camera && r.cameras.length === 1) setF({ ...f, camera: r.cameras[0]! });
      },
      setError,
    );
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const browse = async (fromIso: string | null, toIso: string | null) => {
    setRecError(undefined);
    if (!f.camera || !fromIso || !toIso) return setRecError(new Error(t('required', { f: `${t('camera')}, ${t('from')}, ${t('to')}` })));
    try {
      const data = await api<Recordings>('GET', `/api/cameras/${encodeURIComponent(f.camera)}/recordings${qs({ from: fromIso, to: toIso })}`);
      setRecs({ from: fromIso, to: toIso, data });
    } catch (e) {
      setRecError(e);
    }
  };
  const browseDay = () => {
    const base = fromLocalInput(f.from) ?? new Date().toISOString();
    const d = new Date(base);
    d.setHours(0, 0, 0, 0);
    void browse(d.toISOString(), new Date(d.getTime() + 86_400_000).toISOString());
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const missing = ([['name', 'requesterName'], ['purpose', 'purpose'], ['legalBasis', 'legalBasis'], ['camera', 'camera'], ['from', 'from'], ['to', 'to']] as const)
      .filter(([k]) => !String(f[k]).trim())
      .map(([, key]) => t(key));
    if (missing.length) return setError(new Error(t('required', { f: missing.join(', ') })));
    const nul = (s: string) => (s.trim() ? s.trim() : null);
    setBusy(true);
    try {
      const r = await api<RequestView>('POST', '/api/requests', {
        requester: { name: f.name.trim(), phone: nul(f.phone), idNumber: nul(f.idNumber), organisation: nul(f.organisation), type: f.type },
        purpose: f.purpose.trim(),
        legalBasis: f.legalBasis.trim(),
        documentNumber: nul(f.documentNumber),
        cameras: [f.camera],
        range: { from: fromLocalInput(f.from), to: fromLocalInput(f.to) },
        expiresAfterDays: f.noExpiry ? null : Number(f.expiresAfterDays),
        targets: f.targets,
        batch: f.batch,
      });
      drafts.delete('new-request');
      location.hash = `/requests/${r.id}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" onSubmit={submit} data-testid="new-request">
      <h1>{t('newRequestTitle')}</h1>
      <fieldset>
        <legend>{t('requester')}</legend>
        <div class="row">
          <Field label={t('requesterName')}>
            <input name="name" value={f.name} onInput={text('name')} />
          </Field>
          <Field label={t('phone')}>
            <input name="phone" type="tel" value={f.phone} onInput={text('phone')} />
          </Field>
          <Field label={t('idNumber')}>
            <input name="idNumber" autocomplete="off" value={f.idNumber} onInput={text('idNumber')} />
          </Field>
          <Field label={t('organisation')}>
            <input name="organisation" value={f.organisation} onInput={text('organisation')} />
          </Field>
        </div>
        <Field label={t('requesterType')} wide>
          <Choice label={t('requesterType')} value={f.type} onChange={(v) => set('type', v)} options={REQUESTER_TYPES.map((v) => ({ value: v, label: t(`type.${v}` as Key) }))} />
        </Field>
      </fieldset>
      <div class="row">
        <Field label={t('purpose')}>
          <input name="purpose" value={f.purpose} onInput={text('purpose')} />
        </Field>
        <Field label={t('legalBasis')}>
          <input name="legalBasis" value={f.legalBasis} onInput={text('legalBasis')} />
        </Field>
        <Field label={t('documentNumber')}>
          <input name="documentNumber" value={f.documentNumber} onInput={text('documentNumber')} />
        </Field>
      </div>
      <fieldset>
        <legend>{t('camera')}</legend>
        {cameras && cameras.length === 0 && <p class="muted">{t('noCameras')}</p>}
        {cameras && <Choice label={t('camera')} value={f.camera} onChange={(v) => set('camera', v)} options={cameras.map((c) => ({ value: c, label: c }))} />}
        <div class="row">
          <Field label={t('from')}>
            <input name="from" type="datetime-local" step={1} value={f.from} onInput={text('from')} />
          </Field>
          <Field label={t('to')}>
            <input name="to" type="datetime-local" step={1} value={f.to} onInput={text('to')} />
          </Field>
          <div class="actions">
            <button type="button" onClick={() => browse(fromLocalInput(f.from), fromLocalInput(f.to))} data-testid="check-recordings">
              {t('showRecordings')}
            </button>
            <button type="button" onClick={browseDay}>
              {t('browseDay')}
            </button>
          </div>
        </div>
        <ErrorBox error={recError} />
        {recs && <Timeline recs={recs} selected={{ from: fromLocalInput(f.from), to: fromLocalInput(f.to) }} onPick={(p) => setF({ ...f, from: toLocalInput(p.from), to: toLocalInput(p.to) })} />}
      </fieldset>
      <div class="row">
        <Field label={t('expiryDays')}>
          <input name="expiresAfterDays" type="number" min={1} max={365} inputMode="numeric" value={f.expiresAfterDays} disabled={f.noExpiry} onInput={text('expiresAfterDays')} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={f.noExpiry} onChange={(e) => set('noExpiry', e.currentTarget.checked)} />
          {t('noExpiry')}
        </label>
      </div>
      <Field label={t('targets')} wide>
        <div class="choice" role="group" aria-label={t('targets')}>
          {TARGETS.map((x) => {
            const on = f.targets.includes(x);
            return (
              <button type="button" key={x} class={on ? 'on' : ''} aria-pressed={on} data-target={x} onClick={() => set('targets', on ? f.targets.filter((y) => y !== x) : [...f.targets, x])}>
                {t(`target.${x}` as Key)}
              </button>
            );
          })}
        </div>
      </Field>
      <label class="check">
        <input type="checkbox" checked={f.batch} onChange={(e) => set('batch', e.currentTarget.checked)} />
        {t('batch')}
      </label>
      <ErrorBox error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} data-testid="register">
          {t('register')}
        </button>
      </div>
    </form>
  );
}

/** Recorded pieces and gaps of the browsed window as one bar; tap a piece to select it. */
function Timeline({ recs, selected, onPick }: { recs: { from: string; to: string; data: Recordings }; selected: { from: string | null; to: string | null }; onPick: (p: { from: string; to: string }) => void }) {
  const { t, lang } = useT();
  const a = Date.parse(recs.from);
  const span = Date.parse(recs.to) - a;
  const parts = [...recs.data.pieces.map((p) => ({ ...p, kind: 'piece' as const })), ...recs.data.gaps.map((g) => ({ ...g, kind: 'gap' as const }))].sort((x, y) => Date.parse(x.from) - Date.parse(y.from));
  return (
    <div class="timeline-wrap">
      <div class="timeline" data-testid="timeline">
        {parts.map((p, i) => (
          <Span key={i} left={(Date.parse(p.from) - a) / span} width={(Date.parse(p.to) - Date.parse(p.from)) / span} kind={p.kind} title={`${fmtTime(p.from, lang)} – ${fmtTime(p.to, lang)}`} onPick={p.kind === 'piece' ? () => onPick(p) : undefined} />
        ))}
        {selected.from && selected.to && <Span left={(Date.parse(selected.from) - a) / span} width={(Date.parse(selected.to) - Date.parse(selected.from)) / span} kind="sel" title="" />}
      </div>
      <div class="legend">
        <span class="sw piece">{t('recorded')}</span> <span class="sw gap">{t('gap')}</span> <span class="muted">{t('tapPiece')}</span>
      </div>
      <ul class="plain">
        {recs.data.pieces.map((p, i) => (
          <li key={i}>
            <button type="button" class="small" onClick={() => onPick(p)} data-testid="piece">
              {t('recorded')}: {fmtTime(p.from, lang)} – {fmtTime(p.to, lang)}
            </button>
          </li>
        ))}
        {recs.data.gaps.map((g, i) => (
          <li key={`g${i}`} class="muted">
            {t('gap')}: {fmtTime(g.from, lang)} – {fmtTime(g.to, lang)}
          </li>
        ))}
        {recs.data.problems.map((p, i) => (
          <li key={`p${i}`} class="error">
            {t('damaged')}: {p.file} ({p.reason})
          </li>
        ))}
      </ul>
    </div>
  );
}

function Span({ left, width, kind, title, onPick }: { left: number; width: number; kind: string; title: string; onPick?: (() => void) | undefined }) {
  const set = (el: HTMLElement | null) => {
    if (!el) return;
    el.style.left = `${Math.max(0, left) * 100}%`;
    el.style.width = `${Math.max(0.3, Math.min(1, width) * 100)}%`;
  };
  return onPick ? <button type="button" class={`span ${kind}`} ref={set} title={title} aria-label={title} onClick={onPick} /> : <span class={`span ${kind}`} ref={set} title={title} />;
}

export function RequestList() {
  const { t, lang } = useT();
  const [state, setState] = useState<string>('');
  const { data, error } = usePoll(() => api<{ requests: RequestView[] }>('GET', `/api/requests${qs({ state, limit: 200 })}`), 5000, [state]);
  return (
    <section class="card" data-testid="request-list">
      <h1>{t('requestsTitle')}</h1>
      <div class="choice wrap" role="group" aria-label={t('state')}>
        <button type="button" class={state === '' ? 'on' : ''} aria-pressed={state === ''} onClick={() => setState('')}>
          {t('all')}
        </button>
        {STATES.map((s) => (
          <button type="button" key={s} class={state === s ? 'on' : ''} aria-pressed={state === s} onClick={() => setState(s)}>
            {t(`state.${s}` as Key)}
          </button>
        ))}
      </div>
      <ErrorBox error={error} />
      {data && data.requests.length === 0 && <p class="muted">{t('noRequests')}</p>}
      <table class="list">
        <thead>
          <tr>
            <th>{t('id')}</th>
            <th>{t('state')}</th>
            <th>{t('requesterType')}</th>
            <th>{t('purpose')}</th>
            <th>{t('camera')}</th>
            <th>{t('range')}</th>
            <th>{t('createdAt')}</th>
          </tr>
        </thead>
        <tbody>
          {data?.requests.map((r) => (
            <tr key={r.id} class="tap" onClick={() => (location.hash = `/requests/${r.id}`)}>
              <td>
                <a href={`#/requests/${r.id}`}>{r.id}</a>
              </td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>{t(`type.${r.requester.type}` as Key)}</td>
              <td>{r.purpose}</td>
              <td>{r.cameras.join(', ')}</td>
              <td>
                {fmtTime(r.range.from, lang)} – {fmtTime(r.range.to, lang)}
              </td>
              <td>{fmtTime(r.createdAt, lang)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function RequestDetail({ id, me }: { id: string; me: Account }) {
  const { t, lang } = useT();
  const { data: r, error: loadError, reload } = usePoll(() => api<RequestView>('GET', `/api/requests/${id}`), 2000, [id]);
  const busyState = r && ['approved', 'analysing', 'rendering'].includes(r.state);
  const { data: status } = usePoll(() => (busyState ? api<Status>('GET', '/api/status') : Promise.resolve(undefined)), busyState ? 1500 : 0, [busyState]);
  const [error, setError] = useState<unknown>();
  const [reason, setReason] = useDraft(`reject-${id}`, () => '');
  const [noticeRef, setNoticeRef] = useDraft(`notice-${id}`, () => '');
  const [password, setPassword] = useState<string>();
  const act = async (method: string, path: string, body?: unknown) => {
    setError(undefined);
    try {
      await api(method, path, body);
      reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  if (!r) return <section class="card">{loadError ? <ErrorBox error={loadError} /> : t('loading')}</section>;
  const job = status?.queue.running.find((j) => j.requestId === id);
  const role = me.role;
  return (
    <div class="grid" data-testid="request-detail">
      <section class="card">
        <h1>
          {t('detailTitle', { id: r.id })} <StateBadge state={r.state} />
        </h1>
        <ErrorBox error={loadError} />
        <dl class="facts">
          <dt>{t('requesterName')}</dt>
          <dd>{r.requester.name ?? '-'}</dd>
          <dt>{t('phone')}</dt>
          <dd>{r.requester.phone ?? '-'}</dd>
          <dt>{t('organisation')}</dt>
          <dd>{r.requester.organisation ?? '-'}</dd>
          <dt>{t('requesterType')}</dt>
          <dd>{t(`type.${r.requester.type}` as Key)}</dd>
          <dt>{t('purpose')}</dt>
          <dd>{r.purpose}</dd>
          <dt>{t('legalBasis')}</dt>
          <dd>{r.legalBasis}</dd>
          <dt>{t('documentNumber')}</dt>
          <dd>{r.documentNumber ?? '-'}</dd>
          <dt>{t('camera')}</dt>
          <dd>{r.cameras.join(', ')}</dd>
          <dt>{t('range')}</dt>
          <dd>
            {fmtTime(r.range.from, lang)} – {fmtTime(r.range.to, lang)}
          </dd>
          <dt>{t('expiryDays')}</dt>
          <dd>{r.expiresAfterDays ?? t('none')}</dd>
          <dt>{t('targets')}</dt>
          <dd>{r.targets.map((x) => t(`target.${x}` as Key)).join(', ')}</dd>
        </dl>
        {r.failure && (
          <p class="error">
            {t('failure')}: {r.failure}
          </p>
        )}
        {job && <ProgressBar done={job.progress?.done ?? 0} total={job.progress?.total ?? 0} label={t(job.kind === 'analyse' ? 'jobAnalyse' : 'jobRender')} />}
        <ErrorBox error={error} />
        <div class="actions">
          {role === 'clerk' && r.state === 'registered' && (
            <button type="button" class="primary" onClick={() => act('POST', `/api/requests/${id}/receive`)} data-testid="receive">
              {t('receive')}
            </button>
          )}
          {role === 'approver' && (r.state === 'registered' || r.state === 'received') && (
            <button type="button" class="primary" onClick={() => act('POST', `/api/requests/${id}/approve`)} data-testid="approve">
              {t('approve')}
            </button>
          )}
          {role === 'approver' && r.state === 'review' && (
            <a class="button primary" href={`#/requests/${id}/review`} data-testid="go-review">
              {t('reviewMasking')}
            </a>
          )}
          {role === 'clerk' && r.state === 'failed' && (
            <button type="button" onClick={() => act('POST', `/api/requests/${id}/retry`)}>
              {t('retry')}
            </button>
          )}
        </div>
        {role === 'approver' && ['registered', 'received', 'review'].includes(r.state) && (
          <div class="row">
            <Field label={t('rejectReason')}>
              <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            </Field>
            <div class="actions">
              <button type="button" class="danger" disabled={!reason.trim()} onClick={async () => (await act('POST', `/api/requests/${id}/reject`, { reason: reason.trim() })) && setReason('')}>
                {t('reject')}
              </button>
            </div>
          </div>
        )}
      </section>
      {(r.state === 'sealed' || r.state === 'delivered' || r.package) && (
        <section class="card" data-testid="delivery">
          <h2>{t('delivery')}</h2>
          {r.package && (
            <dl class="facts">
              <dt>{t('packageId')}</dt>
              <dd class="mono">{r.package.packageId}</dd>
              <dt>{t('issued')}</dt>
              <dd>{fmtTime(r.package.issuedAt, lang)}</dd>
              <dt>{t('expires')}</dt>
              <dd>{r.package.expiresAt ? fmtTime(r.package.expiresAt, lang) : t('none')}</dd>
            </dl>
          )}
          {role === 'clerk' && (r.state === 'sealed' || r.state === 'delivered') && r.package && !r.package.removedAt && (
            <>
              <div class="actions">
                <button
                  type="button"
                  onClick={async () => {
                    setError(undefined);
                    try {
                      setPassword((await api<{ password: string }>('POST', `/api/requests/${id}/password`)).password);
                    } catch (e) {
                      setError(e);
                    }
                  }}
                  data-testid="reveal-password"
                >
                  {t('revealPassword')}
                </button>
                <a class="button primary" href={`/api/requests/${id}/package`} download={`${id}.vpkg`} data-testid="download" onClick={() => setTimeout(reload, 1500)}>
                  {t('downloadPackage')}
                </a>
                <a class="button" href="/api/player" download="veilport-player.html" data-testid="download-player">
                  {t('downloadPlayer')}
                </a>
              </div>
              {password && (
                <p class="password" data-testid="password">
                  {password}
                </p>
              )}
              <p class="muted">{t('passwordNote')}</p>
              <p class="muted">{t('usbNote')}</p>
            </>
          )}
          {r.deliveries.length > 0 && (
            <>
              <h3>{t('deliveries')}</h3>
              <ul class="plain">
                {r.deliveries.map((d, i) => (
                  <li key={i}>
                    {fmtTime(d.at, lang)} · {d.by} · {d.how}
                  </li>
                ))}
              </ul>
            </>
          )}
          {r.expiresAfterDays === null && (role === 'clerk' || role === 'approver') && (r.state === 'sealed' || r.state === 'delivered') && (
            <div class="row">
              <Field label={t('noticeRef')}>
                <input name="noticeRef" value={noticeRef} onInput={(e) => setNoticeRef(e.currentTarget.value)} />
              </Field>
              <div class="actions">
                <button type="button" disabled={!noticeRef.trim()} onClick={async () => (await act('POST', `/api/requests/${id}/destruction-notice`, { noticeRef: noticeRef.trim() })) && setNoticeRef('')}>
                  {t('destructionNotice')}
                </button>
              </div>
            </div>
          )}
          {r.destruction && <p>{t('destroyed', { reason: `${r.destruction.reason}${r.destruction.noticeRef ? ` (${r.destruction.noticeRef})` : ''} · ${fmtTime(r.destruction.at, lang)}` })}</p>}
        </section>
      )}
      <section class="card">
        <h2>{t('history')}</h2>
        <ol class="history" data-testid="history">
          {r.history.map((h, i) => (
            <li key={i}>
              <StateBadge state={h.to} /> <span class="muted">{fmtTime(h.at, lang)}</span> · {t('by')} {h.by === 'system' ? t('system') : h.by}
              {h.note && <div class="muted">{h.note}</div>}
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}
