/**
 * Masking review (privacy officer): the analysed clip with every track's box drawn over
 * it (a masked person's head as the render masks it), a scrubber with the masked share of
 * the picture per second under it, and the tracks in sections: persons (one card per
 * person, attached faces shown with their person; several cards can be merged as the
 * same person, and unmerged), unattached faces and plates, unexplained motion (masked;
 * the reviewer may dismiss one), vehicles (for information: never masked). Head or whole
 * body for persons, manual regions drawn, moved and deleted on the picture with a time
 * span, the style, a masked preview frame, the masking report, and confirm. Every change
 * is saved at once (PUT /review) and the report asked for again; a failed save keeps the
 * local decision on screen with the error, to be saved again.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type PersonMask, type RequestView, type Track, type Tracks } from './api';
import { useT, type Key } from './i18n';
import { Choice, ErrorBox, Field } from './widgets';
import { MaskStrip, ReportSummary } from './review-report';
import { buildUnits, headBox, mergeUnits, toggleUnit, unitVisible, unmergeUnit, visibleSet, type Section, type Unit } from './review-units';

interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
  fromSeconds: number;
  toSeconds: number;
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
  const [groups, setGroups] = useState<number[][]>([]);
  const [personMask, setPersonMask] = useState<PersonMask>('head');
  const [accepted, setAccepted] = useState<number[]>([]);
  const [regions, setRegions] = useState<Region[]>([]);
  const [style, setStyle] = useState<Style>('mosaic');
  const [chosen, setChosen] = useState<string[]>([]);
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
  /** Saves answer in order; only the newest one's report is shown. */
  const saveSeq = useRef(0);

  useEffect(() => {
    Promise.all([api<Tracks>('GET', `/api/requests/${id}/tracks`), api<RequestView>('GET', `/api/requests/${id}`)]).then(([tr, r]) => {
      setData(tr);
      setAccepted(tr.acceptedDegraded ?? []);
      setUnmasked(r.review.unmasked);
      setGroups(r.review.groups ?? []);
      setPersonMask(r.review.personMask ?? 'head');
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

  const save = async (next: { unmasked?: number[]; regions?: Region[]; style?: Style; groups?: number[][]; personMask?: PersonMask; accepted?: number[] }) => {
    const body = {
      acceptedDegraded: next.accepted ?? accepted,
      style: next.style ?? style,
      unmasked: next.unmasked ?? unmasked,
      groups: next.groups ?? groups,
      personMask: next.personMask ?? personMask,
      manualRegions: (next.regions ?? regions).map((r) => ({ x: Math.round(r.x), y: Math.round(r.y), w: Math.max(1, Math.round(r.w)), h: Math.max(1, Math.round(r.h)), fromSeconds: round1(r.fromSeconds), toSeconds: round1(r.toSeconds) })),
    };
    const seq = ++saveSeq.current;
    setSaveState('saving');
    setError(undefined);
    try {
      const saved = await api<RequestView>('PUT', `/api/requests/${id}/review`, body);
      // The box normalises (a visible member makes its group visible): show what it kept.
      if (seq === saveSeq.current) {
        setUnmasked(saved.review.unmasked);
        setGroups(saved.review.groups ?? []);
      }
      setDirty(false);
      // The report is of the saved decision: ask for it again.
      const fresh = await api<Tracks>('GET', `/api/requests/${id}/tracks`);
      if (seq === saveSeq.current) {
        setData(fresh);
        setAccepted(fresh.acceptedDegraded ?? []);
        setSaveState('saved');
      }
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
  const units = buildUnits(data.tracks, groups);
  const visible = visibleSet(data.tracks, unmasked, groups);
  const isVisible = (u: Unit) => unitVisible(u, visible);
  const chosenUnits = units.filter((u) => chosen.includes(u.key));
  const mixed = new Set(chosenUnits.map((u) => u.target)).size > 1;
  // The render refuses degraded stretches nobody accepted: confirm waits for them.
  const openDegraded = data.report.degraded.some((_, i) => !accepted.includes(i));

  const seek = (s: number) => {
    const v = Math.max(0, Math.min(dur - 0.05, s));
    setNow(v);
    if (video.current && videoOk) video.current.currentTime = v;
  };
  const toggleUnitDecision = (u: Unit) => {
    const next = toggleUnit(unmasked, u, visible);
    setUnmasked(next);
    void save({ unmasked: next });
  };
  const choose = (u: Unit) => setChosen(chosen.includes(u.key) ? chosen.filter((k) => k !== u.key) : [...chosen, u.key]);
  const merge = () => {
    const next = mergeUnits(groups, chosenUnits);
    if (!next) return;
    setGroups(next);
    setChosen([]);
    void save({ groups: next });
  };
  const unmerge = (u: Unit) => {
    const next = unmergeUnit(groups, u);
    setGroups(next);
    setChosen(chosen.filter((k) => k !== u.key));
    void save({ groups: next });
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
  const thumb = (tid: number) => `/api/requests/${id}/tracks/${tid}/thumbnail`;
  const ids = (u: Unit) => u.ids.map((x) => `#${x}`).join(' + ');
  // Vehicles say their class (car, bus...); every other card its target.
  const what = (u: Unit) => {
    if (u.target !== 'vehicle' || !u.label) return t(`one.${u.target}` as Key);
    const k = `label.${u.label}` as Key;
    return t(k) === k ? u.label : t(k);
  };

  const card = (u: Unit) => {
    const vis = isVisible(u);
    const isChosen = chosen.includes(u.key);
    const mergeable = u.section === 'persons' || u.section === 'facesPlates';
    const info = u.section === 'vehicles';
    const badge = info ? (
      <span class="badge">{t('notMasked')}</span>
    ) : (
      <span class={vis ? 'badge st-delivered' : 'badge st-rejected'}>{vis ? (u.section === 'motion' ? t('dismissed') : t('visible')) : u.target === 'person' ? `${t('masked')} · ${t(`personMask.${personMask}` as Key)}` : t('masked')}</span>
    );
    const text = (
      <span class="track-text">
        <strong>{ids(u)}</strong> {what(u)}
        <br />
        {t('seconds', { a: u.fromSeconds.toFixed(1), b: u.toSeconds.toFixed(1) })} · {t('detections', { n: u.detections })}
        {u.group !== null && (
          <>
            <br />
            <span class="muted">{t('merged', { n: u.ids.length })}</span>
          </>
        )}
        <br />
        {badge}
      </span>
    );
    const img = <img src={thumb(u.thumbId)} alt={ids(u)} onError={(e) => e.currentTarget.classList.add('none')} />;
    return (
      <div key={u.key} class={`track-card${info ? ' info' : vis ? ' visible' : ''}${isChosen ? ' chosen' : ''}`} data-unit={u.key} data-section={u.section} data-testid="unit-card">
        {info ? (
          <div class="track-toggle static">
            {img}
            {text}
          </div>
        ) : (
          <button type="button" class="track-toggle" aria-pressed={vis} onClick={() => toggleUnitDecision(u)} data-track={u.ids[0]} data-ids={u.ids.join(',')} data-testid="track-card">
            {img}
            {text}
          </button>
        )}
        {u.faces.length > 0 && (
          <div class="attached" data-testid="attached-faces">
            {u.faces.slice(0, 4).map((f) => (
              <img key={f.id} src={thumb(f.id)} alt={`#${f.id}`} onError={(e) => e.currentTarget.classList.add('none')} />
            ))}
            <span class="muted">{t('attachedFaces', { ids: u.faces.map((f) => `#${f.id}`).join(', ') })}</span>
          </div>
        )}
        <div class="card-actions">
          {mergeable && (
            <button type="button" class={isChosen ? 'small on' : 'small'} aria-pressed={isChosen} onClick={() => choose(u)} data-testid="choose">
              {isChosen ? '✓ ' : ''}
              {t('select')}
            </button>
          )}
          {u.group !== null && (
            <button type="button" class="small" onClick={() => unmerge(u)} data-testid="unmerge">
              {t('unmerge')}
            </button>
          )}
          {u.section === 'motion' && (
            <button type="button" class="small" onClick={() => toggleUnitDecision(u)} data-testid="dismiss">
              {vis ? t('maskAgain') : t('dismiss')}
            </button>
          )}
          <button type="button" class="small" onClick={() => seek(u.fromSeconds)}>
            {t('jump')}
          </button>
        </div>
      </div>
    );
  };
  const section = (key: Section, title: Key, note: Key, extra?: ComponentChildren) => {
    const list = units.filter((u) => u.section === key);
    if (key !== 'persons' && list.length === 0) return null;
    return (
      <div class="track-section" data-testid={`section-${key}`}>
        <h2>{t(title, { n: list.length })}</h2>
        <p class="muted">{t(note)}</p>
        {extra}
        {list.length ? <div class="cards">{list.map(card)}</div> : <p class="muted">{t('noPersons')}</p>}
      </div>
    );
  };

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
              const cls = tr.target === 'vehicle' ? 'trk info' : visible.has(tr.id) ? 'trk visible' : 'trk masked';
              const head = tr.target === 'person' && personMask === 'head' && !visible.has(tr.id) ? headBox(b) : null;
              return (
                <g key={tr.id} class={cls}>
                  <rect x={b.x} y={b.y} width={b.w} height={b.h} stroke-width={head ? stroke / 2 : stroke} />
                  {head && <rect class="head" x={head.x} y={head.y} width={head.w} height={head.h} stroke-width={stroke} />}
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
          <input type="range" min={0} max={dur} step={0.1} value={now} aria-label={t('time')} onInput={(e) => seek(Number(e.currentTarget.value))} data-testid="scrubber" />
          <MaskStrip report={data.report} duration={dur} now={now} onSeek={seek} />
          <div class="scrub-buttons">
            {videoOk && (
              <button type="button" onClick={() => (playing ? video.current?.pause() : video.current?.play())}>
                {playing ? t('pause') : t('play')}
              </button>
            )}
            <button type="button" onClick={() => seek(now - 0.5)}>
              {t('stepBack')}
            </button>
            <button type="button" onClick={() => seek(now + 0.5)}>
              {t('stepFwd')}
            </button>
            <span class="mono">{now.toFixed(1)} s</span>
          </div>
        </div>
        <div class="actions">
          <button type="button" class={drawMode ? 'on' : ''} aria-pressed={drawMode} onClick={() => setDrawMode(!drawMode)} data-testid="draw">
            {drawMode ? t('drawing') : t('drawRegion')}
          </button>
          <Choice label={t('style')} value={style} onChange={(s) => { setStyle(s); void save({ style: s }); }} options={(['mosaic', 'blur', 'solid'] as const).map((s) => ({ value: s, label: t(`style.${s}` as Key) }))} />
          <button type="button" onClick={showPreview} data-testid="preview">
            {t('preview')}
          </button>
          <span class="muted" aria-live="polite" data-testid="save-state">
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
        <ReportSummary
          report={data.report}
          units={units}
          visible={isVisible}
          onSeek={seek}
          accepted={accepted}
          onAccept={(i, yes) => {
            const next = yes ? [...new Set([...accepted, i])].sort((a, b) => a - b) : accepted.filter((x) => x !== i);
            setAccepted(next);
            void save({ accepted: next });
          }}
        />
        {openDegraded && <p class="warn-line">{t('degradedOpen')}</p>}
        <div class="actions">
          <button type="button" class="primary" disabled={busy || openDegraded} onClick={confirm} data-testid="confirm-review">
            {t('confirmReview')}
          </button>
        </div>
      </section>
      <section class="card side">
        <div class="merge-bar" data-testid="merge-bar">
          <button type="button" class="primary" disabled={chosenUnits.length < 2 || mixed} onClick={merge} data-testid="merge">
            {t('mergeSame', { n: chosenUnits.length })}
          </button>
          {chosenUnits.length > 0 && (
            <button type="button" onClick={() => setChosen([])}>
              {t('clearSelection')}
            </button>
          )}
          <p class={mixed ? 'muted warn-line' : 'muted'}>{mixed ? t('mergeMixed') : t('mergeHint')}</p>
        </div>
        {section(
          'persons',
          'secPersons',
          'personsNote',
          <div class="field-inline">
            <span class="label">{t('personMask')}</span>
            <Choice label={t('personMask')} value={personMask} onChange={(m) => { setPersonMask(m); void save({ personMask: m }); }} options={(['head', 'body'] as const).map((m) => ({ value: m, label: t(`personMask.${m}` as Key) }))} />
          </div>,
        )}
        {section('facesPlates', 'secFacesPlates', 'facesNote')}
        {section('motion', 'secMotion', 'motionNote')}
        {section('vehicles', 'secVehicles', 'vehiclesNote')}
      </section>
    </div>
  );
}
