/**
 * The offline player's page: take a package (its one file input, or drag and drop),
 * verify it (docs/package-format.md §6), show the manifest, ask the password (its one
 * password field; Enter submits), decrypt in memory and play through Media Source
 * Extensions with a visible overlay. Korean first, English on the toggle. The same
 * script, started as a Web Worker from a Blob of itself, derives the password key.
 */
import { makeDerivation, serveWorker } from './derive.js';
import { blobSource, checkExpiry, PackageError, unwrapContentKey, verifyPackage, type ByteSource, type VerifiedPackage } from './format.js';
import { translate, type Lang } from './i18n.js';
import { Playback, PlaybackError } from './playback.js';

interface Config {
  /** Ed25519 public keys (hex) this copy of the player trusts; empty: show the fingerprint instead. */
  trustedKeys?: string[];
}

type Message = { kind: 'progress' | 'info' | 'warning' | 'error'; key: string; params: Record<string, string | number>; code?: string };

const SCRIPT_ID = 'veilport-player';
const EXPIRY_CHECK_MS = 15_000;
const OVERLAY_MOVE_MS = 20_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function localTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} (UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)})`;
}

function isoLocal(value: unknown): string {
  if (typeof value !== 'string') return '-';
  const t = Date.parse(value);
  return Number.isFinite(t) ? localTime(new Date(t)) : value;
}

function clock(s: number): string {
  if (!Number.isFinite(s) || s < 0) s = 0;
  const m = Math.floor(s / 60);
  return `${pad(m)}:${pad(Math.floor(s % 60))}.${pad(Math.floor((s % 1) * 1000), 3)}`;
}

const str = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : '-');
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const fromHex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

function readConfig(): Config {
  try {
    return JSON.parse(document.getElementById('veilport-config')?.textContent ?? '{}') as Config;
  } catch {
    return {};
  }
}

function startUi(): void {
  const config = readConfig();
  const trustedKeys = config.trustedKeys?.length ? config.trustedKeys.map(fromHex) : undefined;
  const root = document.documentElement;
  let lang: Lang = 'ko';
  let message: Message | null = null;
  let generation = 0;
  let src: ByteSource | null = null;
  let pkg: VerifiedPackage | null = null;
  let playback: Playback | null = null;
  let expiryTimer: ReturnType<typeof setInterval> | null = null;
  let overlayTimer: ReturnType<typeof setInterval> | null = null;
  let duration = 0;
  let seeking = false;

  const t = (key: string, params: Record<string, string | number> = {}) => translate(lang, key, params);
  const status = $<HTMLDivElement>('status');
  const fileInput = $<HTMLInputElement>('file');
  const form = $<HTMLFormElement>('unlock');
  const password = $<HTMLInputElement>('password');
  const info = $<HTMLElement>('info');
  const player = $<HTMLElement>('player');
  const video = $<HTMLVideoElement>('video');
  const overlay = $<HTMLDivElement>('overlay');
  const seek = $<HTMLInputElement>('seek');
  const time = $<HTMLSpanElement>('time');
  const speed = $<HTMLSelectElement>('speed');
  const playPause = $<HTMLButtonElement>('playpause');

  const timings: Record<string, number | string> = {};
  const noteTiming = (k: string, v: number | string) => {
    timings[k] = typeof v === 'number' ? Math.round(v) : v;
    root.dataset.timings = JSON.stringify(timings);
  };
  const setState = (s: string) => (root.dataset.state = s);

  const derivation = makeDerivation(document.getElementById(SCRIPT_ID)?.textContent ?? null, (p) => {
    if (root.dataset.state === 'unlocking') show({ kind: 'progress', key: 'unlocking', params: { percent: Math.round(p * 100) } });
  });

  function show(m: Message | null): void {
    message = m;
    status.className = m ? m.kind : '';
    if (m?.code) status.dataset.code = m.code;
    else delete status.dataset.code;
    status.dataset.reason = m?.key ?? '';
    status.replaceChildren();
    if (!m) return;
    if (m.code) {
      const b = document.createElement('strong');
      b.textContent = t(`code${m.code}`);
      status.append(b, ' ');
    }
    status.append(t(m.key, m.params));
    if ((m.kind === 'info' || m.kind === 'warning') && pkg) {
      const p = document.createElement('div');
      p.className = 'fingerprint';
      // "Authentic" only for a trusted key; otherwise the unknown-key warning stays in view.
      p.textContent = pkg.trusted ? t('verifiedTrusted', { fingerprint: pkg.fingerprint }) : t('verifiedUntrusted', { fingerprint: pkg.fingerprint });
      if (m.key !== 'verifiedUnknownKey' || pkg.trusted) status.append(p);
    }
  }

  function showError(e: unknown): void {
    if (e instanceof PackageError) show({ kind: 'error', key: e.reason, params: e.params, code: e.code });
    else if (e instanceof PlaybackError) show({ kind: 'error', key: e.reason, params: e.params, code: 'PLAYBACK' });
    else show({ kind: 'error', key: 'internal', params: { detail: e instanceof Error ? e.message : String(e) }, code: 'PLAYBACK' });
    setState('error');
  }

  function renderManifest(): void {
    const dl = $<HTMLDListElement>('manifest');
    dl.replaceChildren();
    if (!pkg) return;
    const m = pkg.manifest;
    const rq = obj(m.requester);
    const range = obj(m.range);
    const masking = obj(m.masking);
    const video = obj(m.video);
    const typeKey: Record<string, string> = { subject: 'typeSubject', police: 'typePolice', court: 'typeCourt', other: 'typeOther' };
    const styleKey: Record<string, string> = { mosaic: 'styleMosaic', blur: 'styleBlur', solid: 'styleSolid' };
    const gaps = Array.isArray(m.gaps) ? m.gaps.map((g) => `${isoLocal(obj(g).from)} – ${isoLocal(obj(g).to)}`) : [];
    const count = (v: unknown) => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : 0);
    const rows: [string, string][] = [
      ['caseId', str(m.caseId)],
      ['purpose', str(m.purpose)],
      ['legalBasis', str(m.legalBasis)],
      ['requesterOrg', str(rq.organisation)],
      ['requesterType', typeof rq.type === 'string' && typeKey[rq.type] ? t(typeKey[rq.type]!) : str(rq.type)],
      ['requesterRef', str(rq.reference)],
      ['cameras', Array.isArray(m.cameras) ? m.cameras.map(str).join(', ') : '-'],
      ['range', range.from ? `${isoLocal(range.from)} – ${isoLocal(range.to)}` : '-'],
      ['gaps', gaps.length ? gaps.join('; ') : t('none')],
      ['issuedAt', isoLocal(m.issuedAt)],
      ['expiresAt', m.expiresAt === null ? t('noExpiry') : isoLocal(m.expiresAt)],
      ['appliance', str(m.applianceId)],
      ['fingerprint', pkg.fingerprint],
      ['packageId', m.packageId],
      ['masking', masking.style ? t('maskingValue', { style: typeof masking.style === 'string' && styleKey[masking.style] ? t(styleKey[masking.style]!) : str(masking.style), masked: count(masking.tracksMasked), unmasked: count(masking.tracksUnmasked) }) : '-'],
      ['video', video.width ? `${str(video.codec)} ${str(video.width)}×${str(video.height)}` : '-'],
      ['extract', m.allowExtract === true ? t('extractYes') : t('extractNo')],
    ];
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = t(k);
      const dd = document.createElement('dd');
      dd.textContent = v;
      dd.dataset.field = k;
      dl.append(dt, dd);
    }
  }

  function renderOverlay(): void {
    if (!pkg) return;
    const m = pkg.manifest;
    const lines = [
      t('overlayCase', { caseId: str(m.caseId) }),
      t('overlayRecipient', { organisation: str(obj(m.requester).organisation) }),
      t('overlayViewed', { time: localTime(new Date()) }),
      `PKG ${m.packageId.slice(0, 8)}`,
    ];
    overlay.replaceChildren(...lines.map((l) => Object.assign(document.createElement('div'), { textContent: l })));
  }

  function renderTexts(): void {
    root.lang = lang;
    document.title = t('title');
    for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n!);
    $<HTMLButtonElement>('lang').textContent = t('langToggle');
    playPause.textContent = video.paused ? t('play') : t('pause');
    show(message);
    renderManifest();
    renderOverlay();
    renderTime();
  }

  function renderTime(): void {
    const fd = playback?.indexer.frameDuration || 0;
    const s0 = playback?.firstFrameTime ?? 0;
    const frame = fd > 0 ? Math.floor((video.currentTime - s0) / fd + 1e-3) : 0;
    time.textContent = `${clock(video.currentTime)} / ${clock(duration)} · ${t('frame', { n: frame })}`;
    if (!seeking) seek.value = String(video.currentTime);
  }

  function closeSession(): void {
    generation++;
    playback?.stop();
    playback = null;
    if (expiryTimer) clearInterval(expiryTimer);
    if (overlayTimer) clearInterval(overlayTimer);
    expiryTimer = overlayTimer = null;
    pkg = null;
    src = null;
    delete root.dataset.trust;
    duration = 0;
    password.value = '';
    form.hidden = true;
    info.hidden = true;
    player.hidden = true;
    renderManifest();
  }

  async function openFile(file: File): Promise<void> {
    closeSession();
    for (const k of Object.keys(timings)) delete timings[k];
    root.dataset.timings = '{}';
    const mine = generation;
    setState('verifying');
    show({ kind: 'progress', key: 'verifying', params: { percent: 0 } });
    const t0 = performance.now();
    const source = blobSource(file);
    try {
      const verified = await verifyPackage(source, {
        ...(trustedKeys ? { trustedKeys } : {}),
        onProgress: (f) => mine === generation && show({ kind: 'progress', key: 'verifying', params: { percent: Math.floor(f * 100) } }),
      });
      if (mine !== generation) return;
      noteTiming('verifyMs', performance.now() - t0);
      src = source;
      pkg = verified;
      renderManifest();
      info.hidden = false;
      form.hidden = false;
      root.dataset.trust = verified.trusted ? 'trusted' : 'unknown';
      if (verified.trusted) show({ kind: 'info', key: 'verified', params: {} });
      else show({ kind: 'warning', key: 'verifiedUnknownKey', params: { fingerprint: verified.fingerprint, keyApplianceId: verified.keyApplianceId } });
      setState('locked');
      password.focus();
    } catch (e) {
      if (mine === generation) showError(e);
    }
  }

  async function unlock(): Promise<void> {
    if (!pkg || !src || root.dataset.state === 'unlocking') return;
    const mine = generation;
    const pw = password.value;
    password.value = '';
    setState('unlocking');
    show({ kind: 'progress', key: 'unlocking', params: { percent: 0 } });
    let key: Uint8Array;
    try {
      checkExpiry(pkg.manifest, new Date());
      key = await unwrapContentKey(pkg, pw, derivation.derive);
      if (derivation.last) {
        noteTiming('kdfMs', derivation.last.ms);
        noteTiming('kdfWhere', derivation.last.where);
      }
    } catch (e) {
      if (mine !== generation) return;
      if (e instanceof PackageError && e.code === 'WRONG_PASSWORD') {
        show({ kind: 'error', key: e.reason, params: e.params, code: e.code });
        setState('locked');
        password.focus();
        return;
      }
      closeSession();
      showError(e);
      return;
    }
    if (mine !== generation) {
      key.fill(0);
      return;
    }
    form.hidden = true;
    player.hidden = false;
    setState('decrypting');
    show({ kind: 'progress', key: 'decrypting', params: { percent: 0 } });
    const t0 = performance.now();
    const pb = new Playback(video, src, pkg, key, {
      onFatal: (e) => {
        if (mine !== generation) return;
        closeSession();
        showError(e);
      },
      onProgress: (f) => {
        if (mine === generation && f < 1 && root.dataset.state === 'decrypting') show({ kind: 'progress', key: 'decrypting', params: { percent: Math.floor(f * 100) } });
      },
      onIndexed: (ms) => mine === generation && noteTiming('decryptAllMs', ms),
      onDuration: (d) => {
        duration = d;
        seek.max = String(d);
        renderTime();
      },
    });
    playback = pb;
    try {
      await pb.start();
    } catch (e) {
      if (mine !== generation) return;
      closeSession();
      showError(e);
      return;
    }
    if (mine !== generation) return;
    noteTiming('startMs', performance.now() - t0);
    video.addEventListener('playing', () => mine === generation && !('firstFrameMs' in timings) && noteTiming('firstFrameMs', performance.now() - t0), { once: true });
    setState('playing');
    show(pkg.trusted ? { kind: 'info', key: 'playing', params: {} } : { kind: 'warning', key: 'verifiedUnknownKey', params: { fingerprint: pkg.fingerprint, keyApplianceId: pkg.keyApplianceId } });
    renderOverlay();
    overlayTimer = setInterval(() => {
      renderOverlay();
      const spots = ['tl', 'tr', 'br', 'bl'];
      overlay.dataset.spot = spots[Math.floor(Date.now() / OVERLAY_MOVE_MS) % spots.length]!;
    }, 1000);
    expiryTimer = setInterval(() => {
      if (!pkg) return;
      try {
        checkExpiry(pkg.manifest, new Date());
      } catch (e) {
        closeSession();
        showError(e);
      }
    }, EXPIRY_CHECK_MS);
    video.muted = true;
    void video.play().catch(() => undefined);
  }

  function step(dir: 1 | -1): void {
    if (!playback) return;
    video.pause();
    const fd = playback.indexer.frameDuration || 1 / 30;
    const s0 = playback.firstFrameTime;
    const k = Math.floor((video.currentTime - s0) / fd + 1e-3);
    const target = s0 + (k + dir + 0.5) * fd;
    video.currentTime = Math.min(Math.max(s0 + fd / 2, target), Math.max(s0 + fd / 2, duration - fd / 2));
  }

  // Wiring.
  $<HTMLButtonElement>('lang').addEventListener('click', () => {
    lang = lang === 'ko' ? 'en' : 'ko';
    renderTexts();
  });
  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    fileInput.value = '';
    if (f) void openFile(f);
  });
  // Drop anywhere on the page; never let the browser navigate to a dropped file.
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const f = e.dataTransfer?.files?.[0];
    if (f) void openFile(f);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void unlock();
  });
  playPause.addEventListener('click', () => (video.paused ? void video.play() : video.pause()));
  video.addEventListener('play', () => (playPause.textContent = t('pause')));
  video.addEventListener('pause', () => (playPause.textContent = t('play')));
  video.addEventListener('timeupdate', renderTime);
  video.addEventListener('seeked', renderTime);
  $<HTMLButtonElement>('back').addEventListener('click', () => step(-1));
  $<HTMLButtonElement>('fwd').addEventListener('click', () => step(1));
  seek.addEventListener('input', () => {
    seeking = true;
    video.currentTime = Number(seek.value);
  });
  seek.addEventListener('change', () => (seeking = false));
  for (const r of [0.25, 0.5, 1, 1.5, 2, 4]) speed.append(new Option(`${r}×`, String(r), r === 1, r === 1));
  speed.addEventListener('change', () => (video.playbackRate = Number(speed.value)));
  $<HTMLButtonElement>('fs').addEventListener('click', () => void $('stage').requestFullscreen?.().catch(() => undefined));
  // No save-as, picture-in-picture or casting of the clear video.
  $('stage').addEventListener('contextmenu', (e) => e.preventDefault());
  video.addEventListener('dragstart', (e) => e.preventDefault());
  document.addEventListener('keydown', (e) => {
    if (player.hidden || (e.target instanceof HTMLElement && ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName) && e.target !== seek)) return;
    if (e.key === ' ') (video.paused ? void video.play() : video.pause()), e.preventDefault();
    else if (e.key === ',') step(-1);
    else if (e.key === '.') step(1);
    else if (e.key === 'ArrowLeft') video.currentTime = Math.max(0, video.currentTime - 5);
    else if (e.key === 'ArrowRight') video.currentTime = Math.min(duration, video.currentTime + 5);
  });
  window.addEventListener('pagehide', closeSession);

  setState('idle');
  renderTexts();
}

if (typeof document === 'undefined') serveWorker(self as unknown as Parameters<typeof serveWorker>[0]);
else startUi();
