/**
 * The legal procedure (BRIEF, "The legal procedure"): request -> reception -> review ->
 * provision -> destruction, as a state machine over `ExportRequest` records. Every
 * change is one LMDB transaction holding the request (whose history is the ledger) and
 * the acting account's access-log entry, so a crash keeps both or neither.
 *
 * Roles are checked here too, not only on routes: the table in permissions.ts is the
 * one source. Separation of duties (duties.ts): whoever did the clerk side of a request
 * takes no approver step on it, and the other way round, whatever their role is now.
 * Destruction removes every derivative on the box (derivatives.ts) and says which.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import type { DataKey } from '../store/data-key.js';
import type { AccessAction, AccessLog } from '../records/access-log.js';
import { openCatalog, checkCameraName, type Catalog } from '../media/catalog.js';
import { DEFAULT_TARGETS, TARGETS } from '../export/detectors.js';
import { loadAnalysis, type StoredAnalysis } from '../export/analysis-store.js';
import { analysesDirOf } from '../export/job.js';
import { MASK_STYLES, type MaskStyle } from '../masking/styles.js';
import type { ManualRegion } from '../masking/plan.js';
import { visibleIds, type PersonMask } from '../masking/people.js';
import type { MaskingReport } from '../masking/report.js';
import { acceptedIndices, checkAccepted, checkGroups, checkPersonMask, decisionOf, reportFor, reviewPlan, withGroups } from './review-plan.js';
import type { Settings } from '../config/settings.js';
import { VeilportError } from '../util/errors.js';
import { assertAllowed, type Actor, type Permission } from './permissions.js';
import { assertApproverSide, assertClerkSide } from './duties.js';
import { inventory, removeAll } from './derivatives.js';
import type { EventBus } from './events.js';
import { JobRunner, type JobRecord } from './jobs.js';
import { localDate, startOfLocalDay } from '../util/zoned-time.js';
import { REQUESTER_TYPES, type ExportRequest, type RequesterType, type RequestState } from './types.js';

export interface NewRequest {
  requester: { name: string; phone?: string | null; idNumber?: string | null; organisation?: string | null; type: RequesterType };
  purpose: string;
  legalBasis: string;
  documentNumber?: string | null;
  cameras: string[];
  range: { from: string; to: string };
  /** Days from issue to expiry; null: no expiry, a destruction notice is required. */
  expiresAfterDays?: number | null;
  targets?: string[];
  batch?: boolean;
}

export interface ReviewInput {
  style?: MaskStyle;
  unmasked?: number[];
  /** Regions in source pixels over a span in seconds from the start of the range. */
  manualRegions?: { x: number; y: number; w: number; h: number; fromSeconds: number; toSeconds: number }[];
  personMask?: PersonMask;
  /** Tracks merged as the same person; replaces the stored groups when given. */
  groups?: number[][];
  /** Indices into the analysis's degraded stretches the reviewer looked at and accepts; replaces the stored list when given. */
  acceptedDegraded?: number[];
}

/** A request as shown to people with `request.read`: personal data opened, password never. */
export type RequestView = Omit<ExportRequest, 'requester' | 'package'> & {
  requester: { name: string; phone: string | null; idNumber: string | null; organisation: string | null; type: RequesterType };
  package: (Omit<NonNullable<ExportRequest['package']>, 'password' | 'file'> & { onBox: boolean }) | null;
};

export interface TrackView {
  id: number;
  target: string;
  /** Model class (car, bus...) of vehicles. */
  label?: string;
  /** The person track a face belongs to (it is masked or shown with its person). */
  ownerId?: number;
  /** Index into `groups` of the merge group holding this track, or null. */
  group: number | null;
  fromSeconds: number;
  toSeconds: number;
  detections: number;
  /** Left visible by the current decision (its own choice, its group's or its person's). */
  unmasked: boolean;
  /** Boxes over time (seconds from the range start), for drawing over the clip. */
  points: { t: number; x: number; y: number; w: number; h: number }[];
}

/** Longest range one request may cover: longer footage is split into several requests. */
const MAX_RANGE_HOURS = 24;

const SYSTEM = 'system';

export interface WorkflowDeps {
  store: Store;
  dataKey: DataKey;
  log: AccessLog;
  bus: EventBus;
  settings: Settings;
  dataDir: string;
  /** Runs a job; see executor.ts. Injected so the state machine stays free of media code. */
  execute: ConstructorParameters<typeof JobRunner>[2];
  now?: () => Date;
}

export class Workflow {
  readonly jobs: JobRunner;
  readonly catalog: Catalog;
  readonly exportsDir: string;
  private readonly db;
  private readonly now: () => Date;

  constructor(private readonly d: WorkflowDeps) {
    // Every write of a request is sealed by the appliance key (records/record-seal.ts): audit verify finds offline edits.
    this.db = d.log.sealed(d.store.db<ExportRequest, string>('requests'), 'requests');
    this.now = d.now ?? (() => new Date());
    this.catalog = openCatalog({
      root: d.settings.paths.recordings,
      ...(d.settings.paths.layout ? { layout: d.settings.paths.layout } : {}),
      timeZone: d.settings.paths.recordingsTimeZone,
    });
    this.exportsDir = d.settings.paths.exports || join(d.dataDir, 'exports');
    this.jobs = new JobRunner(d.store, d.bus, d.execute, (job) => this.jobEnded(job), { concurrency: d.settings.jobs.concurrency, maxAttempts: d.settings.jobs.maxAttempts });
  }

  // ---- registration and reading -------------------------------------------------

  async register(actor: Actor, input: NewRequest): Promise<RequestView> {
    assertAllowed(actor, 'request.register');
    const clean = await this.validateNew(input);
    const created = this.d.store.transaction(() => {
      const at = this.now().toISOString();
      const id = this.nextId();
      const sealed = (field: string, v: string | null | undefined) => (v ? this.d.dataKey.seal(v, `request:${id}:${field}`) : null);
      const r: ExportRequest = {
        id,
        state: 'registered',
        createdAt: at,
        updatedAt: at,
        registeredBy: actor.account,
        receivedBy: null,
        approvedBy: null,
        requester: {
          name: sealed('name', clean.requester.name)!,
          phone: sealed('phone', clean.requester.phone),
          idNumber: sealed('idNumber', clean.requester.idNumber),
          organisation: clean.requester.organisation ?? null,
          type: clean.requester.type,
        },
        purpose: clean.purpose,
        legalBasis: clean.legalBasis,
        documentNumber: clean.documentNumber ?? null,
        cameras: clean.cameras,
        range: clean.range,
        expiresAfterDays: clean.expiresAfterDays === undefined ? this.d.settings.retention.defaultExpiryDays : clean.expiresAfterDays,
        targets: clean.targets ?? DEFAULT_TARGETS,
        batch: clean.batch ?? false,
        review: { style: 'mosaic', unmasked: [], manualRegions: [], personMask: 'head', groups: [], reviewedBy: null, reviewedAt: null },
        history: [{ at, by: actor.account, from: null, to: 'registered' }],
        failure: null,
        analysisKey: null,
        package: null,
        deliveries: [],
        destruction: null,
      };
      this.db.putSync(id, r);
      this.audit(actor, 'create', id);
      return r;
    });
    this.announce(created.id, null, 'registered');
    return this.view(created);
  }

  /** One request, with personal data; the read is logged. */
  get(actor: Actor, id: string): RequestView {
    assertAllowed(actor, 'request.read');
    const r = this.load(id);
    this.audit(actor, 'view', id);
    return this.view(r);
  }

  /** Requests, newest first, optionally by state; the search is logged. */
  list(actor: Actor, q: { state?: RequestState; limit?: number } = {}): RequestView[] {
    assertAllowed(actor, 'request.read');
    const all = this.all().filter((r) => !q.state || r.state === q.state);
    this.audit(actor, 'search', q.state ? `requests?state=${q.state}` : 'requests');
    return all.slice(0, q.limit ?? 200).map((r) => this.view(r));
  }

  /** Every request record, newest first (for the ledger). */
  all(): ExportRequest[] {
    return [...this.db.getRange()].map((e) => e.value).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  // ---- the procedure ------------------------------------------------------------

  receive(actor: Actor, id: string): RequestView {
    return this.step(actor, 'request.receive', id, ['registered'], 'received', (r) => {
      r.receivedBy = actor.account;
    });
  }

  approve(actor: Actor, id: string): RequestView {
    return this.step(actor, 'request.decide', id, ['received'], 'approved', (r) => {
      assertApproverSide(actor, r, 'approve');
      r.approvedBy = actor.account;
      this.jobs.enqueue(r.id, 'analyse');
    });
  }

  reject(actor: Actor, id: string, reason: string): RequestView {
    const why = reason?.trim();
    if (!why) throw new VeilportError('BAD_INPUT', 'reason: say why the request is rejected');
    return this.step(actor, 'request.decide', id, ['registered', 'received', 'review'], 'rejected', (r) => {
      assertApproverSide(actor, r, 'reject');
      r.destruction = null;
      r.failure = null;
    }, why);
  }

  /** The reviewer's masking decision; can be changed until confirmed. */
  async setReview(actor: Actor, id: string, input: ReviewInput): Promise<RequestView> {
    assertAllowed(actor, 'review.edit');
    const r = this.load(id);
    assertApproverSide(actor, r, 'review the masking of');
    const analysis = await this.analysisOf(r);
    const durationS = (Date.parse(r.range.to) - Date.parse(r.range.from)) / 1000;
    const ids = new Set(analysis.tracks.map((t) => t.id));
    const style = input.style ?? r.review.style;
    if (!MASK_STYLES.includes(style)) throw new VeilportError('BAD_INPUT', `style "${style}": choose ${MASK_STYLES.join(', ')}`);
    const requested = [...new Set(input.unmasked ?? r.review.unmasked)];
    for (const t of requested) if (!ids.has(t)) throw new VeilportError('BAD_INPUT', `unmasked: no track ${t} in this analysis (tracks: ${[...ids].join(', ') || 'none'})`);
    const personMask = checkPersonMask(input.personMask ?? decisionOf(r).personMask);
    const groups = input.groups ? checkGroups(input.groups, analysis.tracks) : decisionOf(r).groups;
    const acceptedDegraded = input.acceptedDegraded ? checkAccepted(input.acceptedDegraded, analysis.degraded ?? []) : (r.review.acceptedDegraded ?? []);
    // One decision per group: a visible member makes its whole group visible.
    const unmasked = withGroups(requested, groups);
    const regions: ManualRegion[] = input.manualRegions
      ? input.manualRegions.map((m, i) => {
          const where = `manualRegions[${i}]`;
          if (!(m.w > 0 && m.h > 0) || m.x < 0 || m.y < 0 || m.x + m.w > analysis.width || m.y + m.h > analysis.height) {
            throw new VeilportError('BAD_INPUT', `${where}: the box must lie inside the ${analysis.width}x${analysis.height} frame with a positive size`);
          }
          if (!(m.fromSeconds >= 0 && m.toSeconds >= m.fromSeconds && m.fromSeconds <= durationS)) {
            throw new VeilportError('BAD_INPUT', `${where}: the span must satisfy 0 <= fromSeconds <= toSeconds, starting within the ${durationS} s range`);
          }
          return { x: m.x, y: m.y, w: m.w, h: m.h, fromNs: Math.round(m.fromSeconds * 1e9), toNs: Math.round(Math.min(m.toSeconds, durationS) * 1e9) };
        })
      : r.review.manualRegions;
    return this.step(actor, 'review.edit', id, ['review'], 'review', (rec) => {
      assertApproverSide(actor, rec, 'review the masking of');
      rec.review = { style, unmasked, manualRegions: regions, personMask, groups, acceptedDegraded, reviewedBy: actor.account, reviewedAt: this.now().toISOString() };
    }, `style ${style}, persons by ${personMask}, ${unmasked.length} track(s) left visible, ${groups.length} merge group(s)${groups.length ? ` (${groups.map((g) => g.join('+')).join(', ')})` : ''}, ${regions.length} manual region(s)${acceptedDegraded.length ? `, ${acceptedDegraded.length} degraded stretch(es) accepted` : ''}`);
  }

  /** The approver confirms the masking; the render starts. */
  confirmReview(actor: Actor, id: string): RequestView {
    const v = this.step(actor, 'review.edit', id, ['review'], 'rendering', (r) => {
      assertApproverSide(actor, r, 'confirm the masking of');
      r.review.reviewedBy ??= actor.account;
      r.review.reviewedAt ??= this.now().toISOString();
      this.jobs.enqueue(r.id, 'render');
    }, undefined, 'export');
    this.checkVolume(actor, 'export');
    return v;
  }

  /** A failed request goes back to the step that failed. */
  retry(actor: Actor, id: string): RequestView {
    const r = this.load(id);
    const kind = r.analysisKey ? 'render' : 'analyse';
    return this.step(actor, 'request.retry', id, ['failed'], kind === 'render' ? 'rendering' : 'approved', (rec) => {
      rec.failure = null;
      this.jobs.enqueue(rec.id, kind);
    });
  }

  cancelJob(actor: Actor, jobId: string): JobRecord {
    assertAllowed(actor, 'job.cancel');
    const job = this.jobs.cancel(jobId);
    this.audit(actor, 'modify', `job:${jobId}`, 'ok', 'cancel');
    return job;
  }

  // ---- review material ----------------------------------------------------------

  /**
   * The tracks with their target, owner and merge group, and the masking report of the
   * plan the render would use now (so the reviewer sees over- or under-masking before confirm).
   */
  async tracks(actor: Actor, id: string): Promise<{ width: number; height: number; durationSeconds: number; personMask: PersonMask; groups: number[][]; acceptedDegraded: number[]; tracks: TrackView[]; report: MaskingReport }> {
    const r = this.reviewable(actor, id);
    const a = await this.analysisOf(r);
    this.audit(actor, 'view', `${id}/tracks`);
    const plan = reviewPlan(r, this.d.settings);
    const { groups } = decisionOf(r);
    const visible = visibleIds(a.tracks, plan.unmasked);
    const groupOf = new Map<number, number>();
    groups.forEach((g, i) => g.forEach((tid) => groupOf.set(tid, i)));
    const s = (ns: number) => Number((ns / 1e9).toFixed(3));
    return {
      width: a.width,
      height: a.height,
      durationSeconds: (Date.parse(r.range.to) - Date.parse(r.range.from)) / 1000,
      personMask: plan.personMask ?? 'head',
      groups,
      /** Indices into report.degraded the reviewer accepted. */
      acceptedDegraded: acceptedIndices(r.review.acceptedDegraded ?? [], a.degraded ?? []),
      tracks: a.tracks.map((t) => ({
        id: t.id,
        target: t.target,
        ...(t.label ? { label: t.label } : {}),
        ...(t.ownerId !== undefined ? { ownerId: t.ownerId } : {}),
        group: groupOf.get(t.id) ?? null,
        fromSeconds: s(t.holdFromNs),
        toSeconds: s(t.holdToNs),
        detections: t.points.length,
        unmasked: visible.has(t.id),
        points: t.points.map((p) => ({ t: s(p.tNs), x: Math.round(p.x), y: Math.round(p.y), w: Math.round(p.w), h: Math.round(p.h) })),
      })),
      report: reportFor(a, plan),
    };
  }

  /** Path of a track's thumbnail (a crop of footage: logged as a view). */
  async thumbnail(actor: Actor, id: string, track: number): Promise<string> {
    const r = this.reviewable(actor, id);
    const a = await this.analysisOf(r);
    const name = a.thumbnails[String(track)];
    if (!name) throw new VeilportError('NOT_FOUND', `request ${id} has no thumbnail for track ${track}`);
    this.audit(actor, 'view', `${id}/tracks/${track}/thumbnail`);
    return join(analysesDirOf(this.d.dataDir), a.key, name);
  }

  /**
   * A request whose review material (tracks, thumbnails, clip, frames) `actor` may see:
   * review.read, not one of its clerks, not destroyed.
   */
  reviewable(actor: Actor, id: string): ExportRequest {
    assertAllowed(actor, 'review.read');
    const r = this.load(id);
    this.assertNotDestroyed(r, 'review material');
    assertApproverSide(actor, r, 'review the masking of');
    return r;
  }

  /** @throws GONE (410) for a destroyed request: its derivatives no longer exist. */
  assertNotDestroyed(r: ExportRequest, what: string): void {
    if (r.state !== 'destroyed') return;
    const d = r.destruction;
    throw new VeilportError('GONE', `request ${r.id} was destroyed${d ? ` on ${d.at} (${d.reason === 'notice' ? `destruction notice ${d.noticeRef ?? ''}`.trim() : d.reason})` : ''}; its ${what} no longer exists on this box`, { request: r.id });
  }

  // ---- provision and destruction --------------------------------------------------

  /** Hands out the package file for download; counted, logged, and the request marked delivered. */
  deliver(actor: Actor, id: string, how: 'download' | 'usb' = 'download'): { file: string; packageId: string; bytes: number } {
    assertAllowed(actor, 'package.deliver');
    const r = this.load(id);
    this.assertNotDestroyed(r, 'package');
    assertClerkSide(actor, r, 'deliver the package of');
    if (r.state !== 'sealed' && r.state !== 'delivered') throw new VeilportError('CONFLICT', `request ${id} is ${r.state}; a package can be delivered once it is sealed`);
    const p = r.package!;
    if (!p.file) throw new VeilportError('CONFLICT', `the package of request ${id} has left the box (removed ${p.removedAt}); it cannot be delivered again`);
    const at = this.now().toISOString();
    this.d.store.transaction(() => {
      const rec = this.load(id);
      rec.deliveries.push({ at, by: actor.account, ip: actor.ip, how });
      rec.updatedAt = at;
      if (rec.state === 'sealed') rec.history.push({ at, by: actor.account, from: 'sealed', to: 'delivered', note: how });
      rec.state = 'delivered';
      this.db.putSync(id, rec);
      this.audit(actor, 'download', `${id}/package`, 'ok', `${p.packageId} (${how})`);
    });
    if (r.state === 'sealed') this.announce(id, 'sealed', 'delivered');
    this.checkVolume(actor, 'download');
    return { file: p.file, packageId: p.packageId, bytes: p.bytes };
  }

  /** The package password, for handing over out of band; logged as a view. */
  revealPassword(actor: Actor, id: string): string {
    assertAllowed(actor, 'package.deliver');
    const r = this.load(id);
    this.assertNotDestroyed(r, 'package password');
    assertClerkSide(actor, r, 'reveal the package password of');
    if (!r.package) throw new VeilportError('CONFLICT', `request ${id} has no package yet (it is ${r.state})`);
    if (!r.package.password) throw new VeilportError('GONE', `the package password of request ${id} was removed from this box`, { request: id });
    this.audit(actor, 'view', `${id}/password`);
    return this.d.dataKey.open(r.package.password, `request:${id}:password`);
  }

  /**
   * Court submissions have no expiry: the ledger records the destruction notice when it
   * arrives. Only for a delivered package without expiry (one with an expiry is destroyed
   * by time; one not yet delivered has not been given to anyone who could send a notice).
   */
  async recordDestructionNotice(actor: Actor, id: string, noticeRef: string): Promise<RequestView> {
    assertAllowed(actor, 'destruction.record');
    const ref = noticeRef?.trim();
    if (!ref) throw new VeilportError('BAD_INPUT', 'noticeRef: give the destruction notice\'s document number');
    const r = this.load(id);
    this.assertNotDestroyed(r, 'package');
    if (r.package?.expiresAt) {
      throw new VeilportError('CONFLICT', `request ${id}: its package expires ${r.package.expiresAt} and is destroyed then; a destruction notice is only for packages without expiry`, { state: r.state });
    }
    if (r.state !== 'delivered') {
      throw new VeilportError('CONFLICT', `request ${id} is ${r.state}; a destruction notice can only be recorded once the package was delivered`, { state: r.state });
    }
    const { removed, kept } = await this.removeDerivatives(r);
    return this.step(actor, 'destruction.record', id, ['delivered'], 'destroyed', (rec) => {
      const at = this.now().toISOString();
      rec.destruction = { at, by: actor.account, reason: 'notice', noticeRef: ref, removed };
      if (rec.package) rec.package = { ...rec.package, file: null, password: null, removedAt: rec.package.removedAt ?? at };
    }, `destruction notice ${ref}; removed: ${removed.join(', ')}${kept.length ? `; ${kept.join('; ')}` : ''}`, 'delete');
  }

  /**
   * Deletes what the request left on the box (package, analysis, thumbnails, review
   * clip); the password goes with the record's change. Alerts on a file that cannot go.
   * @returns what was removed and what was kept (shared with another request), in words.
   */
  private async removeDerivatives(r: ExportRequest): Promise<{ removed: string[]; kept: string[] }> {
    const sharedWith = r.analysisKey
      ? this.all().filter((o) => o.id !== r.id && o.analysisKey === r.analysisKey && o.state !== 'destroyed' && o.state !== 'rejected').map((o) => o.id)
      : [];
    const inv = await inventory({ dataDir: this.d.dataDir, analysesDir: analysesDirOf(this.d.dataDir), packageFile: r.package?.file ?? null, analysisKey: r.analysisKey, sharedWith });
    const failed = await removeAll(inv.paths);
    if (failed.length) {
      this.d.bus.alert({ kind: 'destruction-failed', message: `request ${r.id}: cannot delete ${failed.join('; ')}`, requestId: r.id });
      // A fault of the box (500), not of the caller; the alert names the files.
      throw new Error(`request ${r.id}: cannot delete ${failed.length} file(s) of it; the request is not marked destroyed (see the alert)`);
    }
    return { removed: [...inv.removed, ...(r.package?.password ? ['package password'] : [])], kept: inv.kept };
  }

  /**
   * Retention: packages past expiry are deleted and the request destroyed; delivered
   * packages leave the box after the grace period. Returns what it did.
   */
  async sweep(): Promise<{ destroyed: string[]; removed: string[] }> {
    const now = this.now();
    const graceMs = this.d.settings.retention.deliveredGraceHours * 3600_000;
    const out = { destroyed: [] as string[], removed: [] as string[] };
    for (const r of this.all()) {
      const p = r.package;
      if (!p || r.state === 'destroyed') continue;
      const expired = p.expiresAt !== null && Date.parse(p.expiresAt) <= now.getTime();
      const lastDelivery = r.deliveries.at(-1);
      const graceOver = r.state === 'delivered' && lastDelivery && Date.parse(lastDelivery.at) + graceMs <= now.getTime();
      if (!expired && !(graceOver && p.file)) continue;
      let removed: string[] = [];
      let kept: string[] = [];
      if (expired) {
        try {
          ({ removed, kept } = await this.removeDerivatives(r));
        } catch {
          continue; // alerted; tried again at the next sweep
        }
      } else if (p.file && !(await this.removePackage(p.file, r.id))) continue;
      const at = now.toISOString();
      const from = r.state;
      this.d.store.transaction(() => {
        const rec = this.load(r.id);
        rec.package = { ...rec.package!, file: null, removedAt: rec.package!.removedAt ?? at };
        rec.updatedAt = at;
        if (expired) {
          rec.package.password = null;
          rec.destruction = { at, by: SYSTEM, reason: 'expired', removed };
          rec.history.push({ at, by: SYSTEM, from, to: 'destroyed', note: `expired ${p.expiresAt}; removed: ${removed.join(', ')}${kept.length ? `; ${kept.join('; ')}` : ''}` });
          rec.state = 'destroyed';
        } else {
          rec.history.push({ at, by: SYSTEM, from, to: from, note: 'package removed from the box after the delivery grace period' });
        }
        this.db.putSync(r.id, rec);
      });
      if (expired) {
        out.destroyed.push(r.id);
        this.announce(r.id, from, 'destroyed');
      } else out.removed.push(r.id);
    }
    return out;
  }

  // ---- used by the job executor -----------------------------------------------------

  load(id: string): ExportRequest {
    if (typeof id !== 'string' || !/^\d{8}-\d{3,6}$/.test(id)) throw new VeilportError('BAD_INPUT', `request id "${String(id)}" is not of the form YYYYMMDD-NNN`);
    const r = this.db.get(id);
    if (!r) throw new VeilportError('NOT_FOUND', `no request ${id}`);
    return r;
  }

  /** A change made by the job runner (no account): recorded in the history, announced. */
  systemStep(id: string, from: RequestState[], to: RequestState, mutate: (r: ExportRequest) => void = () => {}, note?: string): void {
    const before = this.d.store.transaction(() => {
      const r = this.load(id);
      if (!from.includes(r.state)) throw new VeilportError('CONFLICT', `request ${id} is ${r.state}, expected ${from.join(' or ')}`);
      const prev = r.state;
      mutate(r);
      this.record(r, SYSTEM, prev, to, note);
      return prev;
    });
    this.announce(id, before, to);
  }

  newPassword(): string {
    // 100 bits in Crockford-style base32, grouped for reading aloud over the phone.
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const b = randomBytes(20);
    const chars = [...b].map((x) => alphabet[x & 31]).join('');
    return chars.match(/.{5}/g)!.join('-');
  }

  async analysisOf(r: ExportRequest): Promise<StoredAnalysis> {
    this.assertNotDestroyed(r, 'analysis');
    if (!r.analysisKey) throw new VeilportError('CONFLICT', `request ${r.id} has not been analysed yet (it is ${r.state})`);
    const a = await loadAnalysis(analysesDirOf(this.d.dataDir), r.analysisKey);
    if (!a) throw new VeilportError('NOT_FOUND', `the analysis of request ${r.id} is missing from the box; retry the request to analyse again`);
    return a;
  }

  // ---- internals --------------------------------------------------------------------

  private step(
    actor: Actor,
    permission: Permission,
    id: string,
    from: RequestState[],
    to: RequestState,
    mutate: (r: ExportRequest) => void = () => {},
    note?: string,
    action: AccessAction = 'modify',
  ): RequestView {
    assertAllowed(actor, permission);
    const { r, prev } = this.d.store.transaction(() => {
      const rec = this.load(id);
      if (!from.includes(rec.state)) {
        throw new VeilportError('CONFLICT', `request ${id} is ${rec.state}; this step needs it ${from.join(' or ')}`, { state: rec.state });
      }
      const prev = rec.state;
      mutate(rec);
      this.record(rec, actor.account, prev, to, note);
      this.audit(actor, action, id, 'ok', to === prev ? note : `${prev} -> ${to}`);
      return { r: rec, prev };
    });
    if (prev !== to) this.announce(id, prev, to);
    return this.view(r);
  }

  private record(r: ExportRequest, by: string, from: RequestState, to: RequestState, note?: string): void {
    const at = this.now().toISOString();
    r.history.push({ at, by, from, to, ...(note ? { note } : {}) });
    r.state = to;
    r.updatedAt = at;
    this.db.putSync(r.id, r);
  }

  private jobEnded(job: JobRecord): void {
    if (job.state !== 'failed' && job.state !== 'cancelled') return;
    const why = job.state === 'cancelled' ? `${job.kind} cancelled` : `${job.kind} failed: ${job.error}`;
    try {
      this.systemStep(job.requestId, ['approved', 'analysing', 'rendering'], 'failed', (r) => {
        r.failure = why;
      }, why);
    } catch (e) {
      // The request moved on (e.g. rejected meanwhile); the job's own record says what happened.
      if (!(e instanceof VeilportError && e.code === 'CONFLICT')) throw e;
    }
    if (job.state === 'failed') this.d.bus.alert({ kind: 'job-failed', message: `request ${job.requestId}: ${why}`, requestId: job.requestId });
  }

  private audit(actor: Actor, action: AccessAction, target: string, result: 'ok' | 'denied' | 'failed' = 'ok', detail?: string): void {
    this.d.log.append({ account: actor.account, ip: actor.ip, action, target: `request:${target}`, result, ...(detail ? { detail } : {}) });
  }

  private announce(requestId: string, from: RequestState | null, to: RequestState): void {
    this.d.bus.emit('request', { requestId, from, to, at: this.now().toISOString() });
  }

  /** Unusual volume: one account's exports or downloads today above the configured threshold. */
  private checkVolume(actor: Actor, action: 'export' | 'download'): void {
    const limit = action === 'export' ? this.d.settings.alerts.exportsPerDay : this.d.settings.alerts.downloadsPerDay;
    const n = this.d.log.count({ account: actor.account, actions: [action], since: startOfLocalDay(this.now(), this.d.settings.site.timeZone) });
    if (n > limit) {
      this.d.bus.alert({ kind: 'unusual-volume', account: actor.account, message: `${actor.account} made ${n} ${action}s today (threshold ${limit})` });
    }
  }

  private async removePackage(file: string, requestId?: string): Promise<boolean> {
    const { rm } = await import('node:fs/promises');
    try {
      await rm(file, { force: true });
      return true;
    } catch (e) {
      this.d.bus.alert({ kind: 'destruction-failed', message: `cannot delete ${file}: ${(e as Error).message}`, ...(requestId ? { requestId } : {}) });
      return false;
    }
  }

  private nextId(): string {
    const day = localDate(this.now(), this.d.settings.site.timeZone).replaceAll('-', '');
    const meta = this.d.store.db<number, string>('meta');
    const n = (meta.get(`requestSeq:${day}`) ?? 0) + 1;
    meta.putSync(`requestSeq:${day}`, n);
    return `${day}-${String(n).padStart(3, '0')}`;
  }

  private view(r: ExportRequest): RequestView {
    const open = (field: 'name' | 'phone' | 'idNumber') => {
      const v = r.requester[field];
      return v ? this.d.dataKey.open(v, `request:${r.id}:${field}`) : null;
    };
    const { password: _password, file, ...pkg } = r.package ?? ({} as NonNullable<ExportRequest['package']>);
    return {
      ...r,
      requester: { name: open('name') ?? '', phone: open('phone'), idNumber: open('idNumber'), organisation: r.requester.organisation, type: r.requester.type },
      package: r.package ? { ...pkg, onBox: file !== null } : null,
    };
  }

  private async validateNew(input: NewRequest): Promise<NewRequest> {
    const bad = (msg: string) => new VeilportError('BAD_INPUT', msg);
    const text = (v: unknown, name: string, max: number, required: boolean) => {
      if (v === undefined || v === null || v === '') {
        if (required) throw bad(`${name}: required`);
        return null;
      }
      if (typeof v !== 'string' || v.trim().length === 0 || v.length > max) throw bad(`${name}: expected text of 1 to ${max} characters`);
      return v.trim();
    };
    const q = input.requester ?? ({} as NewRequest['requester']);
    if (!REQUESTER_TYPES.includes(q.type)) throw bad(`requester.type "${String(q.type)}": choose ${REQUESTER_TYPES.join(', ')}`);
    const phone = text(q.phone, 'requester.phone', 32, false);
    if (phone && !/^[0-9+() -]{6,32}$/.test(phone)) throw bad('requester.phone: digits, spaces, +, (, ) and - only');
    if (!Array.isArray(input.cameras) || input.cameras.length !== 1) {
      throw bad('cameras: exactly one camera per request (register one request per camera)');
    }
    const camera = input.cameras[0]!;
    checkCameraName(camera);
    const known = await this.catalog.cameras();
    if (!known.includes(camera)) throw new VeilportError('BAD_INPUT', `cameras: unknown camera "${camera}" (this box records ${known.join(', ') || 'no cameras'})`);
    const from = Date.parse(input.range?.from);
    const to = Date.parse(input.range?.to);
    if (!Number.isFinite(from) || !Number.isFinite(to)) throw bad('range: from and to must be ISO 8601 times with a zone (e.g. 2026-11-25T10:00:00+09:00)');
    if (!(to > from)) throw bad('range: "to" must be after "from"');
    if (to - from > MAX_RANGE_HOURS * 3600_000) throw bad(`range: at most ${MAX_RANGE_HOURS} hours per request`);
    if (from > this.now().getTime()) throw bad('range: starts in the future');
    const days = input.expiresAfterDays;
    if (days !== undefined && days !== null && !(Number.isInteger(days) && days >= 1 && days <= 365)) throw bad('expiresAfterDays: whole days from 1 to 365, or null for no expiry (destruction notice required)');
    const targets = input.targets ?? DEFAULT_TARGETS;
    for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) throw bad(`targets: unknown target "${t}" (choose from ${TARGETS.join(', ')})`);
    return {
      requester: {
        name: text(q.name, 'requester.name', 100, true)!,
        phone,
        idNumber: text(q.idNumber, 'requester.idNumber', 32, false),
        organisation: text(q.organisation, 'requester.organisation', 200, false),
        type: q.type,
      },
      purpose: text(input.purpose, 'purpose', 500, true)!,
      legalBasis: text(input.legalBasis, 'legalBasis', 500, true)!,
      documentNumber: text(input.documentNumber, 'documentNumber', 100, false),
      cameras: [camera],
      range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      ...(days !== undefined ? { expiresAfterDays: days } : {}),
      targets,
      batch: input.batch === true,
    };
  }
}
