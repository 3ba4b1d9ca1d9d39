// Ledger objects as JSON and CSV: amounts and ids as decimal strings (JSON numbers would round).
// Each JSON shape is typed by its schema in responses.ts, the one /openapi.json shows.
import type { AccountBalance, JournalEntry, StatementLine, TrialBalanceLine, VerifyReport } from '../ledger/index.ts';
import { formatUnits } from '../ledger/index.ts';
import type { z } from 'zod';
import type * as responses from './responses.ts';

export function entryJson(entry: JournalEntry): z.input<typeof responses.entry> {
  return {
    id: entry.id.toString(),
    kind: entry.kind,
    idempotencyKey: entry.idempotencyKey,
    requestHash: entry.requestHash,
    effectiveAt: entry.effectiveAt.toISOString(),
    insertedAt: entry.insertedAt.toISOString(),
    sourceRef: entry.sourceRef,
    metadata: entry.metadata,
    reverses: entry.reverses?.toString() ?? null,
    postings: entry.postings.map((p) => ({ index: p.index, source: p.source, destination: p.destination, asset: p.asset, amount: p.amount.toString() })),
  };
}

export function balanceJson(row: AccountBalance): z.input<typeof responses.balance> {
  return { account: row.account, asset: row.asset, balance: row.balance.toString(), formatted: formatUnits(row.balance, row.scale) };
}

export function trialBalanceJson(line: TrialBalanceLine): z.input<typeof responses.trialBalanceLine> {
  return { asset: line.asset, debits: line.debits.toString(), credits: line.credits.toString(), net: line.net.toString(), balanced: line.net === 0n };
}

export function statementLineJson(line: StatementLine): z.input<typeof responses.statementLine> {
  return {
    entryId: line.entryId.toString(),
    postingIndex: line.postingIndex,
    kind: line.kind,
    effectiveAt: line.effectiveAt.toISOString(),
    counterparty: line.counterparty,
    amount: line.amount.toString(),
    balanceAfter: line.balanceAfter.toString(),
  };
}

export function verifyJson(report: VerifyReport): z.input<typeof responses.verifyReport> {
  return {
    ok: report.ok,
    entries: report.entries.toString(),
    postings: report.postings.toString(),
    seals: report.seals.toString(),
    durationMs: report.durationMs,
    checks: report.checks.map((c) => ({ name: c.name, ok: c.ok, message: c.message, firstBrokenEntryId: c.firstBrokenEntryId?.toString() ?? null })),
  };
}

export const csvHeader = 'entry_id,effective_at,inserted_at,kind,idempotency_key,posting_index,source,destination,asset,amount\n';

function csvField(value: string): string {
  // Quote everything that could split a field, and neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r']/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function entryCsvRows(entry: JournalEntry): string {
  return entry.postings
    .map((p) =>
      [entry.id.toString(), entry.effectiveAt.toISOString(), entry.insertedAt.toISOString(), entry.kind, entry.idempotencyKey, String(p.index), p.source, p.destination, p.asset, p.amount.toString()]
        .map(csvField)
        .join(','),
    )
    .join('\n') + '\n';
}
