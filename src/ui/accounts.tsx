/** Accounts for admins: create (temporary password), role, IP allow-list, disable, reset, unlock. */
import { useState } from 'preact/hooks';
import { api, ROLES, type Account, type Role } from './api';
import { fmtTime, useT, type Key } from './i18n';
import { Choice, ErrorBox, Field, usePoll } from './widgets';

export function Accounts({ me }: { me: Account }) {
  const { t } = useT();
  const list = usePoll(() => api<{ accounts: Account[] }>('GET', '/api/accounts'), 0);
  const [f, setF] = useState({ id: '', displayName: '', role: 'clerk' as Role, password: '' });
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setNotice(undefined);
    try {
      const a = await api<Account>('POST', '/api/accounts', { id: f.id.trim(), displayName: f.displayName.trim(), role: f.role, password: f.password });
      setNotice(t('created', { id: a.id }));
      setF({ id: '', displayName: '', role: f.role, password: '' });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="grid" data-testid="accounts">
      <form class="card" onSubmit={create} data-testid="new-account">
        <h1>{t('accountsTitle')}</h1>
        <div class="row">
          <Field label={t('accountId')}>
            <input name="id" autocapitalize="none" autocomplete="off" value={f.id} onInput={(e) => setF({ ...f, id: e.currentTarget.value })} required />
          </Field>
          <Field label={t('displayName')}>
            <input name="displayName" value={f.displayName} onInput={(e) => setF({ ...f, displayName: e.currentTarget.value })} required />
          </Field>
          <Field label={t('tempPassword')}>
            <input name="password" type="password" autocomplete="new-password" value={f.password} onInput={(e) => setF({ ...f, password: e.currentTarget.value })} required />
          </Field>
        </div>
        <Field label={t('role')} wide>
          <Choice label={t('role')} value={f.role} onChange={(role) => setF({ ...f, role })} options={ROLES.map((r) => ({ value: r, label: t(`role.${r}` as Key) }))} />
        </Field>
        <ErrorBox error={error} />
        {notice && <p class="notice ok">{notice}</p>}
        <div class="actions">
          <button type="submit" class="primary" data-testid="create-account">
            {t('create')}
          </button>
        </div>
      </form>
      <section class="card">
        <ErrorBox error={list.error} />
        {list.data?.accounts.map((a) => <AccountRow key={a.id} a={a} self={a.id === me.id} onChange={list.reload} />)}
      </section>
    </div>
  );
}

function AccountRow({ a, self, onChange }: { a: Account; self: boolean; onChange: () => void }) {
  const { t, lang } = useT();
  const [temp, setTemp] = useState('');
  const [ips, setIps] = useState(a.allowedIps.join(', '));
  const [error, setError] = useState<unknown>();
  const [ok, setOk] = useState(false);
  const call = async (method: string, path: string, body?: unknown) => {
    setError(undefined);
    setOk(false);
    try {
      await api(method, path, body);
      setOk(true);
      onChange();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  const base = `/api/accounts/${encodeURIComponent(a.id)}`;
  return (
    <div class="account" data-testid="account-row" data-account={a.id}>
      <h3>
        {a.displayName} <span class="mono">({a.id})</span> {a.disabled && <span class="badge st-rejected">{t('disabled')}</span>} {a.lockedUntil && <span class="badge st-failed">{t('locked')}</span>}{' '}
        {a.mustChangePassword && <span class="badge st-registered">{t('mustChange')}</span>}
      </h3>
      <p class="muted">
        {t('lastLogin')}: {fmtTime(a.lastLoginAt, lang)}
      </p>
      <Choice label={t('role')} value={a.role} onChange={(role) => role !== a.role && call('PATCH', base, { role })} options={ROLES.map((r) => ({ value: r, label: t(`role.${r}` as Key) }))} />
      <div class="row">
        <Field label={t('allowedIps')}>
          <input value={ips} onInput={(e) => setIps(e.currentTarget.value)} />
        </Field>
        <div class="actions">
          <button type="button" onClick={() => call('PATCH', base, { allowedIps: ips.split(',').map((s) => s.trim()).filter(Boolean) })}>
            {t('save')}
          </button>
        </div>
        <Field label={t('tempPassword')}>
          <input type="password" autocomplete="new-password" value={temp} onInput={(e) => setTemp(e.currentTarget.value)} />
        </Field>
        <div class="actions">
          <button type="button" disabled={!temp} onClick={async () => (await call('POST', `${base}/reset-password`, { temporaryPassword: temp })) && setTemp('')}>
            {t('resetPassword')}
          </button>
          {a.lockedUntil && (
            <button type="button" onClick={() => call('POST', `${base}/unlock`)}>
              {t('unlock')}
            </button>
          )}
          {!self && (
            <button type="button" class={a.disabled ? '' : 'danger'} onClick={() => call('PATCH', base, { disabled: !a.disabled })}>
              {a.disabled ? t('enable') : t('disable')}
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={error} />
      {ok && <p class="notice ok">{t('done')}</p>}
    </div>
  );
}
