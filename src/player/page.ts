/**
 * The player's HTML shell: markup, style and the bundled script inline, so the player is
 * one file that needs nothing else. A Content-Security-Policy allows exactly that script
 * (by hash), a worker and media from blob: URLs the page makes itself, and nothing from
 * anywhere else: no connection, no image, no font, no form submission.
 */
import { createHash } from 'node:crypto';

export interface PageOptions {
  /** The bundled player script (IIFE). */
  script: string;
  /** Ed25519 public keys (hex) to trust; empty: show the fingerprint for the recipient to compare. */
  trustedKeys?: string[];
  /** Shown in the page footer. */
  version?: string;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --line: #d0d5dc; --accent: #1f5fbf; --bad: #b3261e; --good: #1e6b34; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --bg: #15181c; --card: #1f2328; --line: #3a4048; --accent: #7fb0ff; --bad: #ff8a80; --good: #81c995; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 16px; }
header { display: flex; align-items: flex-start; gap: 16px; }
header div { flex: 1; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 8px; }
p { margin: 4px 0; }
button, select, .button { font: inherit; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); cursor: pointer; }
button[type=submit] { background: var(--accent); color: #fff; border-color: var(--accent); }
section, .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 12px 0; }
#drop { border: 2px dashed var(--line); text-align: center; padding: 24px; }
body.dragging #drop { border-color: var(--accent); }
#file { position: absolute; width: 1px; height: 1px; opacity: 0; }
.button:focus-within { outline: 2px solid var(--accent); }
#status { margin: 12px 0; padding: 10px 14px; border-radius: 6px; min-height: 1.5em; }
#status.error { background: color-mix(in srgb, var(--bad) 12%, transparent); color: var(--bad); border: 1px solid var(--bad); }
#status.warning { background: color-mix(in srgb, #b7791f 14%, transparent); color: #8a5a00; border: 1px solid #b7791f; font-weight: 600; }
#status.info { background: color-mix(in srgb, var(--good) 10%, transparent); border: 1px solid var(--good); }
#status .fingerprint { font-family: ui-monospace, monospace; font-size: 13px; margin-top: 4px; color: var(--fg); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
form.card { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
form p { flex-basis: 100%; font-size: 13px; }
input[type=password] { font: inherit; padding: 6px 10px; min-width: 260px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
#stage { position: relative; width: fit-content; max-width: 100%; margin: 0 auto; background: #000; user-select: none; -webkit-user-select: none; }
#stage:fullscreen { display: flex; align-items: center; justify-content: center; width: 100%; }
video { display: block; max-width: 100%; max-height: 75vh; background: #000; }
#stage:fullscreen video { max-height: 100vh; }
#overlay { position: absolute; pointer-events: none; padding: 6px 10px; font-size: 14px; line-height: 1.35; color: rgba(255,255,255,.82);
  text-shadow: 0 0 3px #000, 0 0 1px #000; background: rgba(0,0,0,.18); border-radius: 4px; transition: all 1.5s ease; }
#overlay, #overlay[data-spot=tl] { top: 12px; left: 12px; right: auto; bottom: auto; }
#overlay[data-spot=tr] { top: 12px; right: 12px; left: auto; bottom: auto; }
#overlay[data-spot=br] { bottom: 12px; right: 12px; top: auto; left: auto; }
#overlay[data-spot=bl] { bottom: 12px; left: 12px; top: auto; right: auto; }
#controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 8px 0; }
#seek { flex: 1; min-width: 200px; }
#time { font-family: ui-monospace, monospace; font-size: 13px; }
.note { font-size: 13px; opacity: .85; }
footer { font-size: 12px; opacity: .6; margin-top: 16px; }
[hidden] { display: none !important; }
`;

const BODY = `
<main>
<header><div><h1 data-i18n="title"></h1><p data-i18n="subtitle"></p></div><button id="lang" type="button"></button></header>
<section id="drop"><p data-i18n="choose"></p>
<label class="button"><span data-i18n="chooseButton"></span><input id="file" type="file" accept=".vpkg,application/vnd.veilport.package"></label></section>
<div id="status" role="status" aria-live="polite"></div>
<section id="info" hidden><h2 data-i18n="manifest"></h2><dl id="manifest"></dl></section>
<form id="unlock" class="card" hidden autocomplete="off">
<label for="password" data-i18n="password"></label>
<input id="password" type="password" autocomplete="off" spellcheck="false">
<button type="submit" data-i18n="open"></button>
<p data-i18n="passwordHint"></p></form>
<section id="player" hidden>
<div id="stage"><video id="video" playsinline muted disablepictureinpicture disableremoteplayback controlslist="nodownload noremoteplayback noplaybackrate nofullscreen"></video><div id="overlay" data-spot="tl"></div></div>
<div id="controls">
<button id="playpause" type="button"></button>
<button id="back" type="button" data-i18n="stepBack"></button>
<button id="fwd" type="button" data-i18n="stepForward"></button>
<input id="seek" type="range" min="0" max="0" step="any" value="0">
<span id="time"></span>
<label><span data-i18n="speed"></span> <select id="speed"></select></label>
<button id="fs" type="button" data-i18n="fullscreen"></button>
</div>
<p class="note" data-i18n="closeNote"></p>
<p class="note" data-i18n="captureNote"></p>
</section>
</main>`;

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Returns the whole player page. The script must not contain "</script" (esbuild escapes it). */
export function playerPage(o: PageOptions): string {
  if (/<\/script/i.test(o.script)) throw new Error('player script contains a closing script tag');
  const keys = (o.trustedKeys ?? []).map((k) => k.toLowerCase());
  for (const k of keys) if (!/^[0-9a-f]{64}$/.test(k)) throw new Error(`trusted key ${k} is not 32 bytes of hex`);
  const config = JSON.stringify({ trustedKeys: keys });
  const hash = createHash('sha256').update(o.script, 'utf8').digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    'worker-src blob:',
    "style-src 'unsafe-inline'",
    'media-src blob:',
    "connect-src 'none'",
    "img-src 'none'",
    "font-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Veilport</title>
<style>${STYLE}</style>
</head>
<body>${BODY}
<footer>Veilport player${o.version ? ` ${escapeHtml(o.version)}` : ''} · docs/package-format.md v1</footer>
<script type="application/json" id="veilport-config">${config}</script>
<script id="veilport-player">${o.script}</script>
</body>
</html>
`;
}
