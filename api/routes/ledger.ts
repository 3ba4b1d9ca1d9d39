// /v1/ledger: the journal, statements, balances and trial balance (as of any time), exports,
// verification, and manual adjusting entries for operators. Handlers validate, call ledger/,
// and shape the answer; all SQL lives in ledger/.
import { Hono, type Context } from 'hono';
import { stream } from 'hono/streaming';
import { z } from 'zod';
import {
  getBalances,
  getEntry,
  getStatement,
  getTrialBalance,
  journalHead,
  listAssets,
  listEntries,
  normalizeAccount,
  parseAmount,
  parseAccountSelector,
  verifyLedger,
  type AsOf,
  type EntryFilter,
} from '../../ledger/index.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { requireRole } from '../auth.ts';
import { pathParam } from '../params.ts';
import { ApiError, readJsonBody } from '../problem.ts';
import { journalSequenceHeader, ledgerReader } from '../replica.ts';
import { balanceJson, csvHeader, entryCsvRows, entryJson, statementLineJson, trialBalanceJson, verifyJson } from '../serialize.ts';
import type * as responses from '../responses.ts';

export const pageSizeMax = 500;
const exportPageSize = 1_000;

const sequence = z.string().regex(/^[0-9]{1,19}$/, 'must be a journal sequence number').transform(BigInt);
const time = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const assetCode = z.string().regex(/^[A-Z][A-Z0-9_.-]{0,31}$/, 'must be an asset code like ETH');
const accountSelector = z.string().min(1).max(512).transform(normalizeAccount);
const accountPath = z.string().max(512).transform(normalizeAccount);

/** A journal sequence the answer must include (a replica waits for it; see api/replica.ts). */
export const consistencyQuery = z.object({ minSequence: sequence.optional() });

export const entriesQuery = consistencyQuery.extend({
  account: accountSelector.optional(),
  asset: assetCode.optional(),
  kind: z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/).optional(),
  from: time.optional(),
  to: time.optional(),
  after: sequence.optional(),
  limit: z.coerce.number().int().min(1).max(pageSizeMax).default(100),
});

export const asOfQuery = consistencyQuery.extend({
  asOf: time.optional(),
  asOfSequence: sequence.optional(),
});

export const balancesQuery = asOfQuery.extend({
  account: accountSelector.optional(),
  asset: assetCode.optional(),
});

export const statementQuery = consistencyQuery.extend({
  asset: assetCode,
  after: sequence.optional(),
  limit: z.coerce.number().int().min(1).max(pageSizeMax).default(100),
});

export const manualEntryBody = z.strictObject({
  reason: z.string().trim().min(3).max(500),
  postings: z
    .array(z.strictObject({ source: accountPath, destination: accountPath, asset: assetCode, amount: z.string().max(80) }))
    .min(1)
    .max(256),
  effectiveAt: z.iso.datetime({ offset: true }).optional(),
  metadata: z.record(z.string(), z.json()).optional(),
});

export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || null, message: issue.message }));
  throw new ApiError(400, 'invalid_request', issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; '), { issues });
}

function asOfFrom(query: z.output<typeof asOfQuery>): AsOf | undefined {
  if (!query.asOf && query.asOfSequence === undefined) return undefined;
  return { ...(query.asOf ? { time: query.asOf } : {}), ...(query.asOfSequence !== undefined ? { sequence: query.asOfSequence } : {}) };
}

function wants(c: Context, type: string): boolean {
  return (c.req.header('accept') ?? '').includes(type);
}

export function ledgerRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const readers = requireRole('auditor', 'operator');

  // Reads go to the replica when there is one (ledgerReader); a cursor or an asOfSequence is a
  // sequence the answer must include, like minSequence.
  app.get('/assets', readers, async (c) => {
    const query = parseWith(consistencyQuery, c.req.query());
    return c.json({ data: await listAssets(await ledgerReader(c, deps, [query.minSequence])) } satisfies z.input<typeof responses.assets>);
  });

  app.get('/entries', readers, async (c) => {
    const query = parseWith(entriesQuery, c.req.query());
    if (query.account) parseAccountSelector(query.account);
    const db = await ledgerReader(c, deps, [query.minSequence, query.after]);
    const filter: EntryFilter = {
      limit: query.limit,
      ...(query.account ? { account: query.account } : {}),
      ...(query.asset ? { asset: query.asset } : {}),
      ...(query.kind ? { kind: query.kind } : {}),
      ...(query.from ? { from: query.from } : {}),
      ...(query.to ? { to: query.to } : {}),
      ...(query.after !== undefined ? { after: query.after } : {}),
    };
    const csv = wants(c, 'text/csv');
    if (csv || wants(c, 'application/x-ndjson')) {
      // An export walks the whole filtered journal, page by page, up to the head as it was
      // when the export began — memory stays flat and the file is a consistent cut.
      const through = await journalHead(db);
      c.header('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
      c.header('Content-Disposition', `attachment; filename="coffer-journal-through-${through}.${csv ? 'csv' : 'ndjson'}"`);
      return stream(c, async (out) => {
        if (csv) await out.write(csvHeader);
        let after = filter.after;
        for (;;) {
          const page = await listEntries(db, { ...filter, limit: exportPageSize, throughSequence: through, ...(after !== undefined ? { after } : {}) });
          const last = page.at(-1);
          if (!last) break;
          await out.write(page.map((entry) => (csv ? entryCsvRows(entry) : JSON.stringify(entryJson(entry)) + '\n')).join(''));
          after = last.id;
          if (page.length < exportPageSize) break;
        }
      });
    }
    const entries = await listEntries(db, filter);
    const last = entries.at(-1);
    return c.json({
      data: entries.map(entryJson),
      nextCursor: entries.length === query.limit && last ? last.id.toString() : null,
    } satisfies z.input<typeof responses.entriesPage>);
  });

  app.get('/entries/:id', readers, async (c) => {
    const id = BigInt(pathParam(c, 'id', 'entry'));
    const query = parseWith(consistencyQuery, c.req.query());
    const db = await ledgerReader(c, deps, [query.minSequence]);
    let entry = await getEntry(db, id);
    // Missing on the replica but written on the primary: not replayed yet, so wait for it as for minSequence.
    if (!entry && db !== deps.pool && id <= (await journalHead(deps.pool))) entry = await getEntry(await ledgerReader(c, deps, [id]), id);
    if (!entry) throw new ApiError(404, 'entry_not_found', `journal entry ${id} does not exist`);
    return c.json(entryJson(entry));
  });

  app.post('/entries', requireRole('operator'), async (c) => {
    const idempotencyKey = c.req.header('idempotency-key');
    if (!idempotencyKey || idempotencyKey.length > 200) {
      throw new ApiError(400, 'idempotency_key_required', 'send an Idempotency-Key header (1 to 200 characters) so a retry cannot post twice');
    }
    const body = parseWith(manualEntryBody, await readJsonBody(c.req));
    const postings = body.postings.map((p, index) => ({ ...p, amount: parseAmount(p.amount, `postings[${index}].amount`) }));
    const identity = c.get('identity');
    const result = await deps.writer.append({
      kind: 'adjustment',
      idempotencyKey: `manual:${idempotencyKey}`,
      postings,
      ...(body.effectiveAt ? { effectiveAt: new Date(body.effectiveAt) } : {}),
      sourceRef: `api-key:${identity.id}`,
      metadata: { ...(body.metadata ?? {}), reason: body.reason },
    });
    if (result.status === 'created' || result.status === 'replayed') c.header(journalSequenceHeader, result.entry.id.toString());
    switch (result.status) {
      case 'created':
        return c.json(entryJson(result.entry), 201);
      case 'replayed':
        return c.json(entryJson(result.entry), 200);
      case 'conflict':
        throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was already used with a different request');
      case 'rejected':
        throw new ApiError(422, result.rejection.code, result.rejection.message, { rejection: result.rejection.detail, replayed: result.replayed });
    }
  });

  app.get('/accounts/:account/statement', readers, async (c) => {
    const query = parseWith(statementQuery, c.req.query());
    const account = normalizeAccount(pathParam(c, 'account', 'account'));
    const statement = await getStatement(await ledgerReader(c, deps, [query.minSequence, query.after]), {
      account,
      asset: query.asset,
      limit: query.limit,
      ...(query.after !== undefined ? { after: query.after } : {}),
    });
    if (!statement) throw new ApiError(404, 'account_not_found', `no account ${account} in ${query.asset}`);
    return c.json({
      account: statement.account,
      asset: statement.asset,
      openingBalance: statement.openingBalance.toString(),
      data: statement.lines.map(statementLineJson),
      nextCursor: statement.nextCursor?.toString() ?? null,
    } satisfies z.input<typeof responses.statement>);
  });

  app.get('/balances', readers, async (c) => {
    const query = parseWith(balancesQuery, c.req.query());
    const asOf = asOfFrom(query);
    const rows = await getBalances(await ledgerReader(c, deps, [query.minSequence, query.asOfSequence]), {
      ...(query.account ? { account: query.account } : {}),
      ...(query.asset ? { asset: query.asset } : {}),
      ...(asOf ? { asOf } : {}),
    });
    return c.json({ asOf: query.asOf?.toISOString() ?? null, asOfSequence: query.asOfSequence?.toString() ?? null, data: rows.map(balanceJson) } satisfies z.input<typeof responses.balances>);
  });

  app.get('/trial-balance', readers, async (c) => {
    const query = parseWith(asOfQuery, c.req.query());
    const lines = await getTrialBalance(await ledgerReader(c, deps, [query.minSequence, query.asOfSequence]), asOfFrom(query));
    return c.json({ balanced: lines.every((l) => l.net === 0n), data: lines.map(trialBalanceJson) } satisfies z.input<typeof responses.trialBalance>);
  });

  // On the primary, replica or not: the projection checks rebuild each projection in a temporary
  // table, and a hot standby cannot create one. The primary holds every sequence there is.
  app.get('/verify', readers, async (c) => c.json(verifyJson(await verifyLedger(deps.pool))));

  return app;
}
