/** Small shared pieces: error box, field, segmented choice, state badge, progress bar, bar chart. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { useT, type Key } from './i18n';

/** An API failure said in the user's language, with the appliance's own line under it. */
export function ErrorBox({ error }: { error: unknown }) {
  const { t } = useT();
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, 'other', String((error as Error)?.message ?? error));
  const key = `err.${e.code}` as Key;
  const known = ['err.UNAUTHENTICATED', 'err.FORBIDDEN', 'err.PASSWORD_EXPIRED', 'err.NOT_FOUND', 'err.CONFLICT', 'err.LOCKED', 'err.BAD_INPUT', 'err.TOO_LARGE', 'err.NETWORK', 'err.INTERNAL'].includes(key);
  return (
    <div class="error" role="alert">
      <strong>{t(known ? key : 'err.other')}</strong>
      {e.message && <div class="error-detail">{e.message}</div>}
    </div>
  );
}

export function Field({ label, children, wide }: { label: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={wide ? 'field wide' : 'field'}>
      <span class="label">{label}</span>
      {children}
    </label>
  );
}

export function Choice<V extends string>({ value, options, onChange, label }: { value: V; options: { value: V; label: string }[]; onChange: (v: V) => void; label: string }) {
  return (
    <div class="choice" role="group" aria-label={label}>
      {options.map((o) => (
        <button type="button" key={o.value} class={o.value === value ? 'on' : ''} aria-pressed={o.value === value} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  const { t } = useT();
  return <span class={`badge st-${state}`}>{t(`state.${state}` as Key)}</span>;
}

export function ProgressBar({ done, total, label }: { done: number; total: number; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  // Width through the CSSOM: the strict CSP allows no inline style attributes.
  useEffect(() => {
    if (ref.current) ref.current.style.width = `${pct}%`;
  }, [pct]);
  return (
    <div class="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={label}>
      <div class="progress-fill" ref={ref} />
      <span class="progress-text">
        {label} {pct}%
      </span>
    </div>
  );
}

/** Horizontal bars, one per row; several series side by side. */
export function Bars({ rows, series }: { rows: { label: string; values: number[] }[]; series: string[] }) {
  const max = Math.max(1, ...rows.flatMap((r) => r.values));
  return (
    <div class="bars">
      <div class="legend">
        {series.map((s, i) => (
          <span key={s} class={`sw s${i}`}>
            {s}
          </span>
        ))}
      </div>
      {rows.map((r) => (
        <div class="bar-row" key={r.label}>
          <span class="bar-label">{r.label}</span>
          <span class="bar-cells">
            {r.values.map((v, i) => (
              <Bar key={i} frac={v / max} cls={`s${i}`} value={v} />
            ))}
          </span>
        </div>
      ))}
    </div>
  );
}

function Bar({ frac, cls, value }: { frac: number; cls: string; value: number }) {
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.style.width = `${Math.max(0.5, frac * 100)}%`;
  }, [frac]);
  return (
    <span class="bar-line">
      <span class={`bar ${cls}`} ref={ref} />
      <span class="bar-value">{value}</span>
    </span>
  );
}

/** Runs `load` now and every `ms` while mounted; keeps the last good value on errors. */
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[] = []): { data: T | undefined; error: unknown; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const d = await load();
        if (!alive) return;
        setData(d);
        setError(undefined);
      } catch (e) {
        if (alive) setError(e);
      }
      if (alive && ms > 0) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick]); // eslint-disable-line react-hooks/exhaustive-deps
  return { data, error, reload: () => setTick((n) => n + 1) };
}

/** `2026-03-01T09:00:00` in the browser's zone (the box's) for a datetime-local input. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fromLocalInput(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
