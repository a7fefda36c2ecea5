/**
 * The touchscreen UI: login (and the first-admin bootstrap, and the forced password
 * change), then the screens each role may use. Hash routes (#/requests/ID) so a reload
 * stays where it was. After IDLE_MS without a touch or key the session is closed and
 * the login screen comes back; drafts are dropped with it.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, setUnauthenticatedHandler, type Account, type Role, type Session } from './api';
import { LangContext, translator, useT, type Key, type Lang } from './i18n';
import { ErrorBox, Field } from './widgets';
import { Dashboard } from './dashboard';
import { NewRequest, RequestDetail, RequestList, clearDrafts } from './requests';
import { Review } from './review';
import { Ledger, AccessLog } from './records';
import { Accounts } from './accounts';

/** 10 minutes, shorter than the server's idle limit; a kiosk (or a test) may set window.VEILPORT_IDLE_SECONDS before the script runs. */
const IDLE_MS = Number((window as { VEILPORT_IDLE_SECONDS?: number }).VEILPORT_IDLE_SECONDS ?? 600) * 1000;

/** Screens per role: what the permission table lets each role use (viewer: status only). */
const NAV: { path: string; key: Key; roles: Role[] }[] = [
  { path: '/', key: 'navDashboard', roles: ['viewer', 'clerk', 'approver', 'auditor', 'admin'] },
  { path: '/requests', key: 'navRequests', roles: ['clerk', 'approver', 'auditor'] },
  { path: '/new', key: 'navNew', roles: ['clerk'] },
  { path: '/ledger', key: 'navLedger', roles: ['approver', 'auditor'] },
  { path: '/audit', key: 'navAudit', roles: ['auditor'] },
  { path: '/accounts', key: 'navAccounts', roles: ['admin'] },
];

function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || '/');
  useEffect(() => {
    const on = () => setRoute(location.hash.slice(1) || '/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const go = (path: string) => {
  location.hash = path;
};

function App() {
  const [lang, setLang] = useState<Lang>((localStorage.getItem('veilport.lang') as Lang) || 'ko');
  const t = useMemo(() => translator(lang), [lang]);
  const [me, setMe] = useState<Account | null | undefined>(undefined);
  const [notice, setNotice] = useState<Key | null>(null);

  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem('veilport.lang', lang);
  }, [lang]);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      clearDrafts();
      setMe(null);
      setNotice('sessionEnded');
    });
    api<Account>('GET', '/api/session').then(setMe, () => setMe(null));
  }, []);

  // Idle: any touch, click or key restarts the clock.
  useEffect(() => {
    if (!me) return;
    let timer = setTimeout(idle, IDLE_MS);
    function idle() {
      clearDrafts();
      api('DELETE', '/api/session').catch(() => undefined);
      setMe(null);
      setNotice('idleLoggedOut');
      go('/');
    }
    const poke = () => {
      clearTimeout(timer);
      timer = setTimeout(idle, IDLE_MS);
    };
    const events = ['pointerdown', 'keydown', 'wheel'] as const;
    for (const e of events) addEventListener(e, poke, { passive: true });
    return () => {
      clearTimeout(timer);
      for (const e of events) removeEventListener(e, poke);
    };
  }, [me]);

  const logout = async () => {
    clearDrafts();
    await api('DELETE', '/api/session').catch(() => undefined);
    setMe(null);
    setNotice(null);
    go('/');
  };

  return (
    <LangContext.Provider value={{ lang, t }}>
      <header class="top">
        <span class="brand">{t('appName')}</span>
        {me && !me.mustChangePassword && <Nav role={me.role} />}
        <span class="spacer" />
        <button type="button" class="ghost" onClick={() => setLang(lang === 'ko' ? 'en' : 'ko')} data-testid="lang">
          {t('lang')}
        </button>
        {me && (
          <>
            <span class="who">
              {me.displayName} · {t(`role.${me.role}` as Key)}
            </span>
            <button type="button" class="ghost" onClick={logout} data-testid="logout">
              {t('logout')}
            </button>
          </>
        )}
      </header>
      <main>
        {me === undefined ? (
          <p>{t('loading')}</p>
        ) : me === null ? (
          <Login
            notice={notice}
            onLogin={(s) => {
              setNotice(null);
              setMe({ ...s.account, mustChangePassword: s.mustChangePassword });
            }}
          />
        ) : me.mustChangePassword ? (
          <ChangePassword onDone={(a) => setMe(a)} />
        ) : (
          <Screens me={me} />
        )}
      </main>
    </LangContext.Provider>
  );
}

function Nav({ role }: { role: Role }) {
  const { t } = useT();
  const route = useRoute();
  const current = NAV.filter((n) => n.path !== '/' && route.startsWith(n.path)).sort((a, b) => b.path.length - a.path.length)[0]?.path ?? '/';
  return (
    <nav>
      {NAV.filter((n) => n.roles.includes(role)).map((n) => (
        <a key={n.path} href={`#${n.path}`} class={current === n.path ? 'nav on' : 'nav'} aria-current={current === n.path ? 'page' : undefined}>
          {t(n.key)}
        </a>
      ))}
    </nav>
  );
}

function Screens({ me }: { me: Account }) {
  const route = useRoute();
  const may = (path: string) => NAV.find((n) => n.path === path)?.roles.includes(me.role) ?? false;
  let m: RegExpExecArray | null;
  if ((m = /^\/requests\/([\d-]+)\/review$/.exec(route)) && me.role === 'approver') return <Review id={m[1]!} />;
  if ((m = /^\/requests\/([\d-]+)$/.exec(route)) && may('/requests')) return <RequestDetail id={m[1]!} me={me} />;
  if (route === '/requests' && may('/requests')) return <RequestList />;
  if (route === '/new' && may('/new')) return <NewRequest />;
  if (route === '/ledger' && may('/ledger')) return <Ledger />;
  if (route === '/audit' && may('/audit')) return <AccessLog />;
  if (route === '/accounts' && may('/accounts')) return <Accounts me={me} />;
  return <Dashboard me={me} />;
}

function Login({ onLogin, notice }: { onLogin: (s: Session) => void; notice: Key | null }) {
  const { t } = useT();
  const [id, setId] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [bootstrap, setBootstrap] = useState(false);
  const [done, setDone] = useState(false);
  useEffect(() => {
    api<{ bootstrapNeeded: boolean }>('GET', '/api/health').then((h) => setBootstrap(h.bootstrapNeeded), () => undefined);
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const s = await api<Session>('POST', '/api/session', { id, password });
      setPassword('');
      onLogin(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (bootstrap) return <Bootstrap onDone={() => { setBootstrap(false); setDone(true); }} />;
  return (
    <form class="card narrow" onSubmit={submit} data-testid="login">
      <h1>{t('loginTitle')}</h1>
      {notice && <p class="notice">{t(notice)}</p>}
      {done && <p class="notice">{t('bootstrapDone')}</p>}
      <Field label={t('accountId')}>
        <input name="id" autocomplete="username" autocapitalize="none" value={id} onInput={(e) => setId(e.currentTarget.value)} required />
      </Field>
      <Field label={t('password')}>
        <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
      </Field>
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy}>
        {t('login')}
      </button>
    </form>
  );
}

function Bootstrap({ onDone }: { onDone: () => void }) {
  const { t } = useT();
  const [f, setF] = useState({ token: '', id: '', displayName: '', password: '' });
  const [error, setError] = useState<unknown>();
  const set = (k: keyof typeof f) => (e: { currentTarget: HTMLInputElement }) => setF({ ...f, [k]: e.currentTarget.value });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/api/bootstrap', { ...f, token: f.token.trim() });
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} data-testid="bootstrap">
      <h1>{t('bootstrapTitle')}</h1>
      <p>{t('bootstrapHelp')}</p>
      <Field label={t('consoleToken')}>
        <input name="token" autocomplete="off" autocapitalize="none" value={f.token} onInput={set('token')} required />
      </Field>
      <Field label={t('accountId')}>
        <input name="id" autocomplete="username" autocapitalize="none" value={f.id} onInput={set('id')} required />
      </Field>
      <Field label={t('displayName')}>
        <input name="displayName" value={f.displayName} onInput={set('displayName')} required />
      </Field>
      <Field label={t('password')}>
        <input name="password" type="password" autocomplete="new-password" value={f.password} onInput={set('password')} required />
      </Field>
      <ErrorBox error={error} />
      <button type="submit" class="primary">
        {t('createAdmin')}
      </button>
    </form>
  );
}

function ChangePassword({ onDone }: { onDone: (a: Account) => void }) {
  const { t } = useT();
  const [f, setF] = useState({ current: '', next: '', again: '' });
  const [error, setError] = useState<unknown>();
  const set = (k: keyof typeof f) => (e: { currentTarget: HTMLInputElement }) => setF({ ...f, [k]: e.currentTarget.value });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (f.next !== f.again) return setError(new ApiError(0, 'BAD_INPUT', t('passwordsDiffer')));
    try {
      onDone(await api<Account>('POST', '/api/session/password', { current: f.current, next: f.next }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} data-testid="change-password">
      <h1>{t('changePasswordTitle')}</h1>
      <p>{t('changePasswordHelp')}</p>
      <Field label={t('currentPassword')}>
        <input name="current" type="password" autocomplete="current-password" value={f.current} onInput={set('current')} required />
      </Field>
      <Field label={t('newPassword')}>
        <input name="next" type="password" autocomplete="new-password" value={f.next} onInput={set('next')} required />
      </Field>
      <Field label={t('newPasswordAgain')}>
        <input name="again" type="password" autocomplete="new-password" value={f.again} onInput={set('again')} required />
      </Field>
      <ErrorBox error={error} />
      <button type="submit" class="primary">
        {t('changePassword')}
      </button>
    </form>
  );
}

render(<App />, document.getElementById('app')!);
