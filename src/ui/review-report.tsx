/**
 * The masking report on the review screen, before confirm: the strip under the scrubber
 * (share of the picture masked, per second, with degraded and undetected stretches
 * marked, so an over- or under-masked stretch shows at a glance) and the summary
 * (tracks and persons masked or visible, stretches, unexplained motion).
 */
import type { MaskingReport } from './api';
import { useT } from './i18n';
import type { Unit } from './review-units';

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 2 : 1)}%`;
/** The strip's vertical scale: the smallest of these that holds the largest share. */
const SCALES = [0.1, 0.25, 0.5, 1];
/** A second masked over this share is drawn as over-masked. */
const HIGH_SHARE = 0.5;

export function MaskStrip({ report, duration, now, onSeek }: { report: MaskingReport; duration: number; now: number; onSeek: (s: number) => void }) {
  const { t } = useT();
  const shares = report.maskedSharePerSecond;
  const scale = SCALES.find((s) => s >= Math.max(0, ...shares)) ?? 1;
  const W = Math.max(1, duration);
  const bar = (s: number) => Math.min(100, (s / scale) * 100);
  const label = t('stripLabel', { max: pct(scale) });
  return (
    <div class="strip" data-testid="mask-strip">
      <svg
        viewBox={`0 0 ${W} 100`}
        preserveAspectRatio="none"
        role="img"
        aria-label={label}
        onPointerDown={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          onSeek(((e.clientX - r.left) / r.width) * W);
        }}
      >
        {report.degraded.map((d, i) => (
          <rect key={`d${i}`} class="strip-degraded" x={d.fromS} y={0} width={Math.max(W / 200, d.toS - d.fromS)} height={100} data-testid="strip-degraded" />
        ))}
        {shares.map((s, i) => (s > 0 ? <rect key={i} class={s > HIGH_SHARE ? 'strip-share high' : 'strip-share'} x={i + 0.06} y={100 - bar(s)} width={0.88} height={bar(s)} data-testid="strip-second" data-share={s} /> : null))}
        {report.undetected.map((u, i) => (
          <rect key={`u${i}`} class="strip-undetected" x={u.fromS} y={86} width={Math.max(W / 200, u.toS - u.fromS)} height={14} data-testid="strip-undetected" />
        ))}
        <line class="strip-now" x1={now} x2={now} y1={0} y2={100} />
      </svg>
      <div class="legend small-legend">
        <span class="muted">{label}</span>
        <span class="sw share">{t('legendShare')}</span>
        <span class="sw degraded">{t('legendDegraded')}</span>
        <span class="sw undetected">{t('legendUndetected')}</span>
      </div>
    </div>
  );
}

/** At most this many stretches are listed with a jump button; the rest are counted. */
const LIST = 6;

export function ReportSummary({
  report,
  units,
  visible,
  onSeek,
  accepted,
  onAccept,
}: {
  report: MaskingReport;
  units: Unit[];
  visible: (u: Unit) => boolean;
  onSeek: (s: number) => void;
  /** Degraded stretches (indices) the reviewer accepted after looking at them. */
  accepted: number[];
  onAccept: (index: number, yes: boolean) => void;
}) {
  const { t } = useT();
  const maskedTracks = report.tracks.filter((x) => x.masked).length;
  const visibleTracks = report.tracks.filter((x) => !x.masked && x.target !== 'vehicle').length;
  const persons = units.filter((u) => u.section === 'persons');
  const personsVisible = persons.filter(visible).length;
  const m = report.unexplainedMotion;
  const stretches = (list: { fromS: number; toS: number; trackId?: number }[], kind: string) =>
    list.length > 0 && (
      <div class="stretches">
        {list.slice(0, LIST).map((s, i) => (
          <button type="button" class="small" key={i} onClick={() => onSeek(s.fromS)} data-testid={`${kind}-stretch`}>
            {s.trackId !== undefined ? `${t('reportTrack', { id: s.trackId })} ` : ''}
            {t('seconds', { a: s.fromS.toFixed(1), b: s.toS.toFixed(1) })}
          </button>
        ))}
        {list.length > LIST && <span class="muted">+{list.length - LIST}</span>}
      </div>
    );
  return (
    <section class="report" data-testid="masking-report" aria-live="polite">
      <h2>{t('reportTitle')}</h2>
      <ul class="plain">
        <li data-testid="report-tracks">{t('reportTracks', { m: maskedTracks, v: visibleTracks })}</li>
        <li data-testid="report-persons">{t('reportPersons', { m: persons.length - personsVisible, v: personsVisible })}</li>
        <li data-testid="report-undetected" class={report.undetected.length ? 'warn-line' : ''}>
          {t('reportUndetected', { n: report.undetected.length, s: report.coastLimitS.toFixed(1) })}
          {stretches(report.undetected, 'undetected')}
        </li>
        <li data-testid="report-degraded" class={report.degraded.some((_, i) => !accepted.includes(i)) ? 'warn-line' : ''}>
          {t('reportDegraded', { n: report.degraded.length })}
          {report.degraded.length > 0 && <div class="muted">{t('degradedHelp')}</div>}
          {report.degraded.map((d, i) => {
            const ok = accepted.includes(i);
            return (
              <div class="stretches" key={i} data-testid="degraded-stretch">
                <button type="button" class="small" onClick={() => onSeek(d.fromS)}>
                  {t('seconds', { a: d.fromS.toFixed(1), b: d.toS.toFixed(1) })}
                </button>
                <button type="button" class={ok ? 'small on' : 'small'} aria-pressed={ok} onClick={() => onAccept(i, !ok)} data-testid="accept-degraded">
                  {ok ? `✓ ${t('degradedAccepted')}` : t('acceptDegraded')}
                </button>
              </div>
            );
          })}
        </li>
        <li data-testid="report-motion">{t('reportMotion', { n: m.tracks, mean: pct(m.meanShare), max: pct(m.maxShare) })}</li>
        <li data-testid="report-share" class={report.maskedShare.max > HIGH_SHARE ? 'warn-line' : ''}>
          {t('reportShare', { mean: pct(report.maskedShare.mean), max: pct(report.maskedShare.max) })}
        </li>
      </ul>
    </section>
  );
}
