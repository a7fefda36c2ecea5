/** The export ledger (JSON, CSV, printable report, statistics) and the access log with its verification. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { filterRequests, ledgerCsv, ledgerReportHtml, ledgerRows, ledgerStats, type LedgerFilter } from '../../records/ledger.js';
import { ACCESS_ACTIONS, verifyAccessLog } from '../../records/access-log.js';
import { REQUEST_STATES, REQUESTER_TYPES } from '../../workflow/types.js';
import type { ApiContext } from '../context.js';

const LedgerQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    state: Type.Optional(Type.Union(REQUEST_STATES.map((s) => Type.Literal(s)))),
    requesterType: Type.Optional(Type.Union(REQUESTER_TYPES.map((s) => Type.Literal(s)))),
    camera: Type.Optional(Type.String({ maxLength: 64 })),
    purpose: Type.Optional(Type.String({ maxLength: 200 })),
    lang: Type.Optional(Type.Union([Type.Literal('ko'), Type.Literal('en')])),
  },
  { additionalProperties: false },
);

export function recordRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    const rowsFor = (q: LedgerFilter) => ledgerRows(filterRequests(ctx.workflow.all(), q), ctx.dataKey);
    const log = (req: { actor: { account: string }; ip: string }, action: 'search' | 'download' | 'print' | 'view', target: string, detail?: string) =>
      ctx.log.append({ account: req.actor.account, ip: req.ip, action, target, result: 'ok', ...(detail ? { detail } : {}) });
    const filterText = (q: object) => new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)])).toString();

    app.get('/api/ledger', { config: { permission: 'ledger.read' }, schema: { tags: ['ledger'], summary: 'Ledger rows (one per request, its whole story)', querystring: LedgerQuery } }, async (req) => {
      log(req, 'search', 'ledger', filterText(req.query));
      return { rows: rowsFor(req.query) };
    });

    app.get('/api/ledger.csv', { config: { permission: 'ledger.read' }, schema: { tags: ['ledger'], summary: 'Ledger as CSV for Excel (UTF-8 with BOM, Korean headers)', querystring: LedgerQuery } }, async (req, reply) => {
      log(req, 'download', 'ledger.csv', filterText(req.query));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="veilport-ledger.csv"')
        .header('cache-control', 'no-store')
        .send(ledgerCsv(rowsFor(req.query), { personalData: true }));
    });

    app.get('/api/ledger/report', { config: { permission: 'ledger.read' }, schema: { tags: ['ledger'], summary: 'Printable ledger report (A4 HTML)', querystring: LedgerQuery } }, async (req, reply) => {
      log(req, 'print', 'ledger/report', filterText(req.query));
      const { lang, ...filter } = req.query;
      const html = ledgerReportHtml(rowsFor(filter), { lang: lang ?? 'ko', filter, generatedAt: new Date().toISOString(), generatedBy: req.actor.account, applianceId: ctx.signer.applianceId });
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(html);
    });

    app.get('/api/ledger/stats', { config: { permission: 'ledger.read' }, schema: { tags: ['ledger'], summary: 'Statistics per month, purpose and requester type', querystring: LedgerQuery } }, async (req) => {
      log(req, 'view', 'ledger/stats');
      return ledgerStats(filterRequests(ctx.workflow.all(), req.query), ctx.settings.site.timeZone);
    });

    app.get(
      '/api/access-log',
      {
        config: { permission: 'audit.read' },
        schema: {
          tags: ['audit'],
          summary: 'Access log entries, newest first',
          querystring: Type.Object(
            {
              from: Type.Optional(Type.String({ format: 'date-time' })),
              to: Type.Optional(Type.String({ format: 'date-time' })),
              account: Type.Optional(Type.String({ maxLength: 64 })),
              action: Type.Optional(Type.Union(ACCESS_ACTIONS.map((a) => Type.Literal(a)))),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
              beforeSeq: Type.Optional(Type.Integer({ minimum: 1 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        const entries = ctx.log.list({ limit: 500, ...req.query });
        log(req, 'search', 'access-log', filterText(req.query));
        return { entries };
      },
    );

    app.get('/api/audit/verify', { config: { permission: 'audit.read' }, schema: { tags: ['audit'], summary: 'Verify the access log chain and its signed checkpoints' } }, async (req) => {
      const report = verifyAccessLog(ctx.store, ctx.signer.publicKey);
      log(req, 'view', 'audit/verify', report.ok ? 'intact' : `${report.problems.length} problem(s)`);
      if (!report.ok) ctx.bus.alert({ kind: 'audit-broken', message: `access log verification failed: ${report.problems[0]?.message ?? ''}` });
      return report;
    });

    app.get('/api/audit/head', { config: { permission: 'audit.read' }, schema: { tags: ['audit'], summary: "The log's signed head (length and hash)" } }, async () => ctx.log.signedHead());
  };
}
