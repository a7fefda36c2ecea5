/**
 * Masking review (privacy officer): the analysed clip with every track's box drawn over
 * it, a scrubber, one card per track (tap: masked <-> visible), manual regions drawn,
 * moved and deleted on the picture with a time span, the style, a masked preview frame,
 * and confirm. Every change is saved at once (PUT /review); a failed save keeps the
 * local decision on screen with the error, to be saved again.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type RequestView, type Track } from './api';
import { useT, type Key } from './i18n';
import { Choice, ErrorBox, Field } from './widgets';

interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
  fromSeconds: number;
  toSeconds: number;
}
interface Tracks {
  width: number;
  height: number;
  durationSeconds: number;
  tracks: Track[];
}
type Style = 'mosaic' | 'blur' | 'solid';

/** The track's box at t (linear between detections), or null outside its span. */
function boxAt(tr: Track, t: number): { x: number; y: number; w: number; h: number } | null {
  if (t < tr.fromSeconds - 0.05 || t > tr.toSeconds + 0.05 || tr.points.length === 0) return null;
  const pts = tr.points;
  if (t <= pts[0]!.t) return pts[0]!;
  for (let i = 1; i < pts.length; i++) {
    const b = pts[i]!;
    if (t <= b.t) {
      const a = pts[i - 1]!;
      const k = (t - a.t) / Math.max(1e-6, b.t - a.t);
      return { x: a.x + (b.x - a.x) * k, y: a.y + (b.y - a.y) * k, w: a.w + (b.w - a.w) * k, h: a.h + (b.h - a.h) * k };
    }
  }
  return pts[pts.length - 1]!;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function Review({ id }: { id: string }) {
  const { t } = useT();
  const [data, setData] = useState<Tracks>();
  const [loadError, setLoadError] = useState<unknown>();
  const [unmasked, setUnmasked] = useState<number[]>([]);
  const [regions, setRegions] = useState<Region[]>([]);
  const [style, setStyle] = useState<Style>('mosaic');
  const [now, setNow] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [videoOk, setVideoOk] = useState(true);
  const [drawMode, setDrawMode] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  const [draft, setDraft] = useState<Region | null>(null);
  const [saveState, setSaveState] = useState<'idle' | 'saving' | 'saved'>('idle');
  const [error, setError] = useState<unknown>();
  const [preview, setPreview] = useState<{ src: string; t: number }>();
  const [busy, setBusy] = useState(false);
  /** A local change the box has not accepted yet (a failed save): saved again before preview or confirm. */
  const [dirty, setDirty] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<{ kind: 'draw' | 'move'; x0: number; y0: number; index?: number; orig?: Region } | null>(null);

  useEffect(() => {
    Promise.all([api<Tracks>('GET', `/api/requests/${id}/tracks`), api<RequestView>('GET', `/api/requests/${id}`)]).then(([tr, r]) => {
      setData(tr);
      setUnmasked(r.review.unmasked);
      setStyle(r.review.style as Style);
      setRegions(r.review.manualRegions.map((m) => ({ x: m.x, y: m.y, w: m.w, h: m.h, fromSeconds: m.fromNs / 1e9, toSeconds: m.toNs / 1e9 })));
    }, setLoadError);
  }, [id]);

  // The stage keeps the footage's aspect ratio (set through the CSSOM: the CSP forbids inline styles).
  useEffect(() => {
    if (stage.current && data) stage.current.style.aspectRatio = `${data.width} / ${data.height}`;
  }, [data]);

  // Follow the video smoothly while it plays.
  useEffect(() => {
    if (!playing) return;
    let raf = 0;
    const tick = () => {
      if (video.current) setNow(video.current.currentTime);
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing]);

  const save = async (next: { unmasked?: number[]; regions?: Region[]; style?: Style }) => {
    const body = {
      style: next.style ?? style,
      unmasked: next.unmasked ?? unmasked,
      manualRegions: (next.regions ?? regions).map((r) => ({ x: Math.round(r.x), y: Math.round(r.y), w: Math.max(1, Math.round(r.w)), h: Math.max(1, Math.round(r.h)), fromSeconds: round1(r.fromSeconds), toSeconds: round1(r.toSeconds) })),
    };
    setSaveState('saving');
    setError(undefined);
    try {
      await api('PUT', `/api/requests/${id}/review`, body);
      setSaveState('saved');
      setDirty(false);
      return true;
    } catch (e) {
      setError(e);
      setSaveState('idle');
      setDirty(true);
      return false;
    }
  };

  if (!data) return <section class="card">{loadError ? <ErrorBox error={loadError} /> : t('loading')}</section>;
  const dur = data.durationSeconds;

  const seek = (s: number) => {
    const v = Math.max(0, Math.min(dur - 0.05, s));
    setNow(v);
    if (video.current && videoOk) video.current.currentTime = v;
  };
  const toggleTrack = (tid: number) => {
    const next = unmasked.includes(tid) ? unmasked.filter((x) => x !== tid) : [...unmasked, tid].sort((a, b) => a - b);
    setUnmasked(next);
    void save({ unmasked: next });
  };
  const setRegion = (i: number, r: Region, persist = true) => {
    const next = regions.map((x, j) => (j === i ? r : x));
    setRegions(next);
    if (persist) void save({ regions: next });
  };
  const point = (e: PointerEvent) => {
    const rect = svg.current!.getBoundingClientRect();
    return { x: Math.max(0, Math.min(data.width, ((e.clientX - rect.left) / rect.width) * data.width)), y: Math.max(0, Math.min(data.height, ((e.clientY - rect.top) / rect.height) * data.height)) };
  };
  const onDown = (e: PointerEvent) => {
    const p = point(e);
    if (drawMode) {
      drag.current = { kind: 'draw', x0: p.x, y0: p.y };
      setDraft({ x: p.x, y: p.y, w: 0, h: 0, fromSeconds: Math.max(0, now - 1), toSeconds: Math.min(dur, now + 2) });
    } else {
      const i = regions.findIndex((r) => now >= r.fromSeconds && now <= r.toSeconds && p.x >= r.x && p.x <= r.x + r.w && p.y >= r.y && p.y <= r.y + r.h);
      setSelected(i >= 0 ? i : null);
      if (i < 0) return;
      drag.current = { kind: 'move', x0: p.x, y0: p.y, index: i, orig: regions[i]! };
    }
    (e.currentTarget as Element).setPointerCapture(e.pointerId);
    e.preventDefault();
  };
  const onMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const p = point(e);
    if (d.kind === 'draw') setDraft((r) => r && { ...r, x: Math.min(d.x0, p.x), y: Math.min(d.y0, p.y), w: Math.abs(p.x - d.x0), h: Math.abs(p.y - d.y0) });
    else if (d.orig && d.index !== undefined) {
      const o = d.orig;
      setRegion(d.index, { ...o, x: Math.max(0, Math.min(data.width - o.w, o.x + p.x - d.x0)), y: Math.max(0, Math.min(data.height - o.h, o.y + p.y - d.y0)) }, false);
    }
  };
  const onUp = () => {
    const d = drag.current;
    drag.current = null;
    if (!d) return;
    if (d.kind === 'draw') {
      const r = draft;
      setDraft(null);
      setDrawMode(false);
      if (r && r.w >= 4 && r.h >= 4) {
        const next = [...regions, r];
        setRegions(next);
        setSelected(next.length - 1);
        void save({ regions: next });
      }
    } else if (d.index !== undefined && d.orig && (regions[d.index]?.x !== d.orig.x || regions[d.index]?.y !== d.orig.y)) void save({});
  };

  const showPreview = async () => {
    if (dirty && !(await save({}))) return;
    setPreview({ src: `/api/requests/${id}/review/frame?t=${now.toFixed(2)}&masked=true&v=${Date.now()}`, t: now });
  };
  const confirm = async () => {
    setBusy(true);
    if (!dirty || (await save({}))) {
      try {
        await api('POST', `/api/requests/${id}/review/confirm`);
        location.hash = `/requests/${id}`;
      } catch (e) {
        setError(e);
      }
    }
    setBusy(false);
  };

  const stroke = Math.max(2, data.width / 320);
  return (
    <div class="review" data-testid="review">
      <section class="card stage-card">
        <h1>{t('reviewTitle', { id })}</h1>
        <div class="stage" ref={stage}>
          {videoOk ? (
            <video
              ref={video}
              src={`/api/requests/${id}/review/clip`}
              muted
              playsInline
              preload="auto"
              onError={() => setVideoOk(false)}
              onTimeUpdate={(e) => !playing && setNow(e.currentTarget.currentTime)}
              onPlay={() => setPlaying(true)}
              onPause={() => setPlaying(false)}
              onEnded={() => setPlaying(false)}
              data-testid="clip"
            />
          ) : (
            <img src={`/api/requests/${id}/review/frame?t=${now.toFixed(1)}&masked=false`} alt="" />
          )}
          <svg ref={svg} viewBox={`0 0 ${data.width} ${data.height}`} preserveAspectRatio="none" class={drawMode ? 'overlay drawing' : 'overlay'} onPointerDown={onDown} onPointerMove={onMove} onPointerUp={onUp} onPointerCancel={onUp} data-testid="overlay">
            {data.tracks.map((tr) => {
              const b = boxAt(tr, now);
              if (!b) return null;
              const vis = unmasked.includes(tr.id);
              return (
                <g key={tr.id} class={vis ? 'trk visible' : 'trk masked'}>
                  <rect x={b.x} y={b.y} width={b.w} height={b.h} stroke-width={stroke} />
                  <text x={b.x + 2} y={Math.max(14, b.y - 4)} font-size={Math.max(12, data.height / 28)}>
                    #{tr.id}
                  </text>
                </g>
              );
            })}
            {regions.map((r, i) =>
              now >= r.fromSeconds && now <= r.toSeconds ? <rect key={i} class={i === selected ? 'region sel' : 'region'} x={r.x} y={r.y} width={r.w} height={r.h} stroke-width={stroke} /> : null,
            )}
            {draft && <rect class="region draft" x={draft.x} y={draft.y} width={draft.w} height={draft.h} stroke-width={stroke} />}
          </svg>
        </div>
        {!videoOk && <p class="muted">{t('clipUnavailable')}</p>}
        <div class="scrub">
          {videoOk && (
            <button type="button" onClick={() => (playing ? video.current?.pause() : video.current?.play())}>
              {playing ? t('pause') : t('play')}
            </button>
          )}
          <button type="button" onClick={() => seek(now - 0.5)}>
            {t('stepBack')}
          </button>
          <input type="range" min={0} max={dur} step={0.1} value={now} aria-label={t('time')} onInput={(e) => seek(Number(e.currentTarget.value))} data-testid="scrubber" />
          <button type="button" onClick={() => seek(now + 0.5)}>
            {t('stepFwd')}
          </button>
          <span class="mono">{now.toFixed(1)} s</span>
        </div>
        <div class="actions">
          <button type="button" class={drawMode ? 'on' : ''} aria-pressed={drawMode} onClick={() => setDrawMode(!drawMode)} data-testid="draw">
            {drawMode ? t('drawing') : t('drawRegion')}
          </button>
          <Choice label={t('style')} value={style} onChange={(s) => { setStyle(s); void save({ style: s }); }} options={(['mosaic', 'blur', 'solid'] as const).map((s) => ({ value: s, label: t(`style.${s}` as Key) }))} />
          <button type="button" onClick={showPreview} data-testid="preview">
            {t('preview')}
          </button>
          <span class="muted" aria-live="polite">
            {saveState === 'saving' ? t('saving') : saveState === 'saved' ? t('saved') : ''}
          </span>
        </div>
        <ErrorBox error={error} />
        {preview && (
          <figure class="preview">
            <figcaption>{t('previewTitle', { t: preview.t.toFixed(1) })}</figcaption>
            <img src={preview.src} alt={t('previewTitle', { t: preview.t.toFixed(1) })} data-testid="preview-img" />
          </figure>
        )}
      </section>
      <section class="card side">
        <h2>{t('tracks', { n: data.tracks.length })}</h2>
        <p class="muted">{t('tapToToggle')}</p>
        <div class="cards">
          {data.tracks.map((tr) => {
            const vis = unmasked.includes(tr.id);
            return (
              <div key={tr.id} class={vis ? 'track-card visible' : 'track-card'}>
                <button type="button" class="track-toggle" aria-pressed={vis} onClick={() => toggleTrack(tr.id)} data-track={tr.id} data-testid="track-card">
                  <img src={`/api/requests/${id}/tracks/${tr.id}/thumbnail`} alt={`#${tr.id}`} />
                  <span class="track-text">
                    <strong>#{tr.id}</strong> {t(`target.${tr.target}` as Key)}
                    <br />
                    {t('seconds', { a: tr.fromSeconds.toFixed(1), b: tr.toSeconds.toFixed(1) })}
                    <br />
                    <span class={vis ? 'badge st-delivered' : 'badge st-rejected'}>{vis ? t('visible') : t('masked')}</span>
                  </span>
                </button>
                <button type="button" class="small" onClick={() => seek(tr.fromSeconds)}>
                  {t('jump')}
                </button>
              </div>
            );
          })}
        </div>
        <h2>{t('manualRegions', { n: regions.length })}</h2>
        {regions.map((r, i) => (
          <div key={i} class={i === selected ? 'region-row sel' : 'region-row'} data-testid="region">
            <button type="button" class="small" onClick={() => { setSelected(i); seek(r.fromSeconds); }}>
              #{i + 1} {Math.round(r.w)}×{Math.round(r.h)}
            </button>
            <Field label={t('regionFrom')}>
              <input type="number" min={0} max={dur} step={0.1} inputMode="decimal" value={round1(r.fromSeconds)} onChange={(e) => setRegion(i, { ...r, fromSeconds: Number(e.currentTarget.value) })} />
            </Field>
            <Field label={t('regionTo')}>
              <input type="number" min={0} max={dur} step={0.1} inputMode="decimal" value={round1(r.toSeconds)} onChange={(e) => setRegion(i, { ...r, toSeconds: Number(e.currentTarget.value) })} />
            </Field>
            <button
              type="button"
              class="danger small"
              onClick={() => {
                const next = regions.filter((_, j) => j !== i);
                setRegions(next);
                setSelected(null);
                void save({ regions: next });
              }}
            >
              {t('deleteRegion')}
            </button>
          </div>
        ))}
        <div class="actions">
          <button type="button" class="primary" disabled={busy} onClick={confirm} data-testid="confirm-review">
            {t('confirmReview')}
          </button>
        </div>
      </section>
    </div>
  );
}
