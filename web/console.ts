// /console: the operators' view of the moving parts on one page — indexers, queues, sweeps,
// refills and the treasury, escalated agent spends, users and their addresses, the trial balance
// — plus the verify report and a read-only projections replay. Operators approve and reject
// spends; auditors see the same page without the buttons, and their forms are refused.
import { Hono } from 'hono';
import type { ApiDependencies } from '../api/index.ts';
import { chainAdapter, evmChain } from '../chains/index.ts';
import { listIndexerStatus, type IndexerStatus } from '../indexers/index.ts';
import { listRefillTargets, refillHistory, targetBalance, treasuryView } from '../relayer/index.ts';
import { listSweeps, type SweepView } from '../sweeps/index.ts';
import { outboxCounts } from '../jobs/index.ts';
import { formatUnits, getTrialBalance, listAssets, projections, replayProjection, verifyLedger, type ReplayReport } from '../ledger/index.ts';
import { searchUsers } from '../users/index.ts';
import { approveSpend, getSpend, listSpendsAwaitingApproval, rejectSpend, type Spend } from '../wallets/index.ts';
import { PageError, requireCsrf, requireOperator, requireSession, type WebEnv } from './guard.ts';
import { html, page, shortHash, statusBadge, when, type Markup } from './layout.ts';

export const usersShownMax = 50;
export const sweepsShownMax = 50;
export const approvalsShownMax = 100;
const refillHistoryShownMax = 20;
const searchLengthMax = 100;
const rejectReasonLengthMax = 500;

const nav = [
  { href: '/console#indexers', label: 'Indexers' },
  { href: '/console#queues', label: 'Queues' },
  { href: '/console#sweeps', label: 'Sweeps' },
  { href: '/console#refills', label: 'Refills & treasury' },
  { href: '/console#approvals', label: 'Approvals' },
  { href: '/console#users', label: 'Users' },
  { href: '/console#ledger', label: 'Ledger' },
];

/** The rewind command the stop reason names, with its suggested block filled in. */
export function rewindCommand(status: Pick<IndexerStatus, 'indexer' | 'stoppedReason'>): string {
  const suggested = /coffer indexer rewind --chain \S+ --to <[^>]*?(\d+)>/.exec(status.stoppedReason ?? '')?.[1];
  return `coffer indexer rewind --chain ${status.indexer} --to ${suggested ?? '<a block both chains share>'}`;
}

function indexersSection(indexers: IndexerStatus[]): Markup {
  return html`<section class="card" id="indexers" aria-labelledby="indexers-heading"><h2 id="indexers-heading">Indexers</h2>
${indexers.length === 0
    ? html`<p class="muted">No indexer has run yet.</p>`
    : html`<table><thead><tr><th scope="col">Indexer</th><th scope="col">Chain</th><th scope="col" class="num">Processed</th><th scope="col" class="num">Final</th><th scope="col" class="num">Head</th><th scope="col" class="num">Lag (blocks)</th><th scope="col" class="num">Open deposits</th><th scope="col">Status</th><th scope="col">Head seen</th></tr></thead>
<tbody>${indexers.map(
        (s) => html`<tr data-indexer="${s.indexer}"><th scope="row">${s.indexer}</th><td>${s.chain}</td><td class="num">${s.processedHeight}</td><td class="num">${s.finalizedHeight}</td><td class="num">${s.chainHead ?? '?'}</td><td class="num">${s.lag ?? '?'}</td><td class="num">${s.openDeposits}</td>
<td>${s.stoppedReason ? statusBadge('stopped', 'bad') : statusBadge('running', 'ok')}</td><td>${when(s.chainHeadAt)}</td></tr>
${s.stoppedReason
          ? html`<tr><td colspan="9"><p class="notice error"><strong>Stopped:</strong> ${s.stoppedReason}</p><p>After checking which block both chains share, run:</p><pre><code data-rewind="${s.indexer}">${rewindCommand(s)}</code></pre></td></tr>`
          : ''}`,
      )}</tbody></table>`}
</section>`;
}

async function queuesSection(deps: ApiDependencies): Promise<Markup> {
  const outbox = await outboxCounts(deps.pool);
  const queues = deps.queues
    ? await Promise.all(deps.queues.map(async (queue) => ({ name: queue.name, counts: await queue.getJobCounts('waiting', 'active', 'delayed', 'failed').catch(() => null) })))
    : null;
  return html`<section class="card" id="queues" aria-labelledby="queues-heading"><h2 id="queues-heading">Queues</h2>
${queues
    ? html`<p><a href="/admin/queues">Open the queue board</a> <span class="muted">(operators; it asks for your API key as the password)</span></p>
<table><thead><tr><th scope="col">Queue</th><th scope="col" class="num">Waiting</th><th scope="col" class="num">Active</th><th scope="col" class="num">Delayed</th><th scope="col" class="num">Failed</th></tr></thead>
<tbody>${queues.map((q) => html`<tr><th scope="row">${q.name}</th>${q.counts ? html`<td class="num">${q.counts.waiting ?? 0}</td><td class="num">${q.counts.active ?? 0}</td><td class="num">${q.counts.delayed ?? 0}</td><td class="num">${q.counts.failed ?? 0}</td>` : html`<td colspan="4">Redis did not answer</td>`}</tr>`)}</tbody></table>`
    : html`<p class="muted">This server runs without Redis queues (no REDIS_URL), so there is no queue board.</p>`}
<h3>Outbox</h3>
${outbox.length === 0
    ? html`<p class="muted">No jobs were ever asked for.</p>`
    : html`<table><thead><tr><th scope="col">Queue</th><th scope="col" class="num">Not yet done</th><th scope="col" class="num">Done</th></tr></thead>
<tbody>${outbox.map((o) => html`<tr><th scope="row">${o.queue}</th><td class="num">${o.waiting}</td><td class="num">${o.done}</td></tr>`)}</tbody></table>`}
</section>`;
}

function sweepRows(sweeps: SweepView[], scales: Map<string, number>): Markup {
  if (sweeps.length === 0) return html`<p class="muted">None.</p>`;
  return html`<table><thead><tr><th scope="col">Sweep</th><th scope="col">User</th><th scope="col">Chain</th><th scope="col">From</th><th scope="col" class="num">Amount</th><th scope="col">Status</th><th scope="col">Transaction</th><th scope="col" class="num">Attempts</th><th scope="col">Changed</th></tr></thead>
<tbody>${sweeps.map(
    (s) => html`<tr data-sweep="${s.id.toString()}"><td>${s.id.toString()}</td><td><code>${s.userId}</code></td><td>${s.chain}</td><td><code title="${s.address}">${shortHash(s.address)}</code></td>
<td class="num">${s.amount === null ? '—' : `${formatUnits(s.amount, scales.get(s.asset) ?? 0)} ${s.asset}`}</td>
<td>${statusBadge(s.status.replaceAll('_', ' '), s.status === 'failed' ? 'bad' : 'warn')}${s.reason ? html` <span class="muted">${s.reason}</span>` : ''}</td>
<td><code title="${s.txHash ?? ''}">${shortHash(s.txHash)}</code></td><td class="num">${s.attempts}</td><td>${when(s.updatedAt)}</td></tr>`,
  )}</tbody></table>`;
}

async function sweepsSection(deps: ApiDependencies, scales: Map<string, number>): Promise<Markup> {
  const [inFlight, failed] = await Promise.all([
    listSweeps(deps.pool, { statuses: ['submitted', 'waiting_for_gas'], limit: sweepsShownMax }),
    listSweeps(deps.pool, { statuses: ['failed'], limit: sweepsShownMax }),
  ]);
  return html`<section class="card" id="sweeps" aria-labelledby="sweeps-heading"><h2 id="sweeps-heading">Sweeps</h2>
<h3>In flight or waiting for gas</h3>${sweepRows(inFlight, scales)}
<h3>Failed</h3>${sweepRows(failed, scales)}
</section>`;
}

async function refillsSection(deps: ApiDependencies): Promise<Markup> {
  const refills = deps.relay?.refills;
  if (!refills) {
    return html`<section class="card" id="refills" aria-labelledby="refills-heading"><h2 id="refills-heading">Refills &amp; treasury</h2>
<p class="muted">Refills are off in this server: they need EVM_RPC_URL and the keystore passphrase.</p></section>`;
  }
  let treasury: Markup;
  const state = await treasuryView(deps.pool, refills);
  if (state.status === 'not_configured') {
    treasury = html`<p data-treasury="not_configured">${statusBadge('not configured', 'warn')} <span class="muted">${state.hint}</span></p>`;
  } else {
    const { code, scale } = chainAdapter(evmChain).feeAsset;
    const amounts = (key: { ledgerBalance: string; onChainBalance: string | null }) =>
      `ledger ${formatUnits(BigInt(key.ledgerBalance), scale)} ${code}, on chain ${key.onChainBalance === null ? 'unreadable' : `${formatUnits(BigInt(key.onChainBalance), scale)} ${code}`}`;
    const draining = state.draining;
    treasury = html`<p data-treasury="configured">${statusBadge('configured', 'ok')} <code>${state.address}</code>: ${amounts(state)}</p>${draining ? html`<p data-treasury="draining">${statusBadge('rotating', 'warn')} the old key <code>${draining.address}</code> drains into it: ${amounts(draining)}</p>` : ''}`;
  }
  const targets = await Promise.all(
    (await listRefillTargets(deps.pool)).map(async (t) => ({ target: t, balance: await targetBalance(refills.client, t).catch(() => null) })),
  );
  const history = await refillHistory(deps.pool, refillHistoryShownMax);
  const text = (value: unknown) => (typeof value === 'string' ? value : '—');
  return html`<section class="card" id="refills" aria-labelledby="refills-heading"><h2 id="refills-heading">Refills &amp; treasury</h2>
<h3>Treasury hot wallet</h3>${treasury}
<h3>Targets</h3>
${targets.length === 0
    ? html`<p class="muted">No refill targets.</p>`
    : html`<table><thead><tr><th scope="col">Target</th><th scope="col">Kind</th><th scope="col">Address</th><th scope="col" class="num">Balance (ETH)</th><th scope="col" class="num">Refill below</th><th scope="col" class="num">Refill to</th><th scope="col" class="num">Daily cap</th></tr></thead>
<tbody>${targets.map(({ target: t, balance }) => html`<tr><th scope="row">${t.name}</th><td>${t.kind}</td><td><code>${t.address}</code></td><td class="num">${balance === null ? 'unreadable' : formatUnits(balance, 18)}</td><td class="num">${formatUnits(t.fundBelow, 18)}</td><td class="num">${formatUnits(t.fundTo, 18)}</td><td class="num">${formatUnits(t.dailyCap, 18)}</td></tr>`)}</tbody></table>`}
<h3>Recent refills</h3>
${history.length === 0
    ? html`<p class="muted">None yet.</p>`
    : html`<table><thead><tr><th scope="col">Target</th><th scope="col" class="num">Amount (wei)</th><th scope="col">Status</th><th scope="col">Transaction</th><th scope="col">Asked</th></tr></thead>
<tbody>${history.map((r) => html`<tr><td>${text(r.target)}</td><td class="num">${text(r.amount)}</td><td>${text(r.status)} <span class="muted">${text(r.statusReason) === '—' ? '' : text(r.statusReason)}</span></td><td><code>${shortHash(typeof r.txHash === 'string' ? r.txHash : null)}</code></td><td>${text(r.createdAt)}</td></tr>`)}</tbody></table>`}
</section>`;
}

function approvalsSection(spends: Spend[], scales: Map<string, number>, canAct: boolean, csrf: string): Markup {
  return html`<section class="card" id="approvals" aria-labelledby="approvals-heading"><h2 id="approvals-heading">Agent spends awaiting approval</h2>
${canAct ? '' : html`<p class="muted">Auditor keys are read-only: operators approve or reject.</p>`}
${spends.length === 0
    ? html`<p class="muted">Nothing is waiting.</p>`
    : html`<table><thead><tr><th scope="col">Spend</th><th scope="col">Wallet</th><th scope="col" class="num">Amount</th><th scope="col">To</th><th scope="col">Why it needs approval</th><th scope="col">Deadline</th>${canAct ? html`<th scope="col">Decision</th>` : ''}</tr></thead>
<tbody>${spends.map(
        (s) => html`<tr data-spend="${s.id}"><td><a href="/console/spends/${s.id}"><code>${s.id}</code></a></td><td>${s.walletId}</td><td class="num">${formatUnits(s.amount, scales.get(s.asset) ?? 0)} ${s.asset}</td><td><code title="${s.recipient}">${shortHash(s.recipient)}</code></td>
<td>${s.violations.map((v) => html`<div>${v.message}</div>`)}</td><td>${when(s.approvalDeadline)}</td>
${canAct
          ? html`<td><form method="post" action="/console/spends/${s.id}/approve" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" aria-label="Approve spend ${s.id}">Approve</button></form>
<form method="post" action="/console/spends/${s.id}/reject" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="secondary" aria-label="Reject spend ${s.id}">Reject</button></form></td>`
          : ''}</tr>`,
      )}</tbody></table>`}
</section>`;
}

async function usersSection(deps: ApiDependencies, query: string): Promise<Markup> {
  const users = await searchUsers(deps.pool, { query, limit: usersShownMax });
  return html`<section class="card" id="users" aria-labelledby="users-heading"><h2 id="users-heading">Users and their deposit addresses</h2>
<form method="get" action="/console#users" role="search">
  <label for="q">Search by user id, NEAR account or address</label>
  <input id="q" name="q" type="search" value="${query}" maxlength="${searchLengthMax}">
  <button type="submit">Search</button>
</form>
${users.length === 0
    ? html`<p class="muted">${query ? 'No user matches.' : 'No users yet.'}</p>`
    : html`<table><thead><tr><th scope="col">User</th><th scope="col">NEAR account</th><th scope="col">Sweeps</th><th scope="col">Deposit addresses</th><th scope="col">Since</th></tr></thead>
<tbody>${users.map((u) => html`<tr data-user="${u.id}"><td><code>${u.id}</code></td><td>${u.nearAccountId}</td><td>${u.isSweepEnabled ? 'on' : 'off'}</td>
<td>${u.addresses.length === 0 ? html`<span class="muted">none asked for yet</span>` : u.addresses.map((a) => html`<div>${a.chain}: <code>${a.address}</code></div>`)}</td><td>${when(u.createdAt)}</td></tr>`)}</tbody></table>`}
${users.length === usersShownMax ? html`<p class="muted">Showing the newest ${usersShownMax}; search to narrow.</p>` : ''}
</section>`;
}

async function ledgerSection(deps: ApiDependencies, csrf: string): Promise<Markup> {
  const lines = await getTrialBalance(deps.pool);
  const balanced = lines.every((l) => l.net === 0n);
  return html`<section class="card" id="ledger" aria-labelledby="ledger-heading"><h2 id="ledger-heading">Ledger</h2>
<h3>Trial balance ${balanced ? statusBadge('balanced', 'ok') : statusBadge('NOT balanced', 'bad')}</h3>
<table><thead><tr><th scope="col">Asset</th><th scope="col" class="num">Debits</th><th scope="col" class="num">Credits</th><th scope="col" class="num">Net</th></tr></thead>
<tbody>${lines.map((l) => html`<tr data-asset="${l.asset}"><th scope="row">${l.asset}</th><td class="num">${formatUnits(l.debits, l.scale)}</td><td class="num">${formatUnits(l.credits, l.scale)}</td><td class="num">${formatUnits(l.net, l.scale)}</td></tr>`)}</tbody></table>
<div class="row">
  <form method="get" action="/console/verify"><button type="submit">Verify the ledger</button></form>
  <form method="post" action="/console/projections/replay"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="secondary">Replay projections (diff only)</button></form>
</div>
<p class="muted">Verify re-checks every seal, posting and balance; the replay rebuilds each projection from the journal beside the live one and shows the difference, changing nothing.</p>
</section>`;
}

const assetScales = async (deps: ApiDependencies) => new Map((await listAssets(deps.pool)).map((a) => [a.code, a.scale]));

function replayReport(reports: ReplayReport[]): Markup {
  return html`<table><thead><tr><th scope="col">Projection</th><th scope="col" class="num">Through entry</th><th scope="col">Result</th></tr></thead>
<tbody>${reports.map((r) => {
    const differences = r.diff.onlyLive + r.diff.onlyReplay + r.diff.different;
    return html`<tr data-projection="${r.projection}" data-differences="${differences}"><th scope="row">${r.projection}</th><td class="num">${r.throughEntryId.toString()}</td>
<td>${differences === 0 ? statusBadge('identical to live', 'ok') : html`${statusBadge(`${differences} rows differ`, 'bad')} <span class="muted">${r.diff.different} changed, ${r.diff.onlyLive} only live, ${r.diff.onlyReplay} only in the replay</span>
<ul>${r.diff.sample.map((row) => html`<li><code>${row.key}</code>: live <code>${JSON.stringify(row.live)}</code>, replay <code>${JSON.stringify(row.replay)}</code></li>`)}</ul>`}</td></tr>`;
  })}</tbody></table>`;
}

export function consolePages(deps: ApiDependencies): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  // One replay at a time: each builds `<table>_replay` beside the live table, and two would collide.
  let replaying = false;
  app.use('*', requireSession(deps.pool, 'console'));
  app.use('*', requireCsrf('console'));
  const shell = (c: { get: (key: 'identity' | 'csrf') => unknown }, title: string, body: Markup) => {
    const identity = c.get('identity') as WebEnv['Variables']['identity'];
    return page({ title, area: 'console', nav, signedIn: { label: `${identity.name ?? identity.id} (${identity.role})`, csrf: c.get('csrf') as string }, body });
  };

  app.get('/', async (c) => {
    const query = (c.req.query('q') ?? '').slice(0, searchLengthMax);
    const canAct = c.get('identity').role === 'operator';
    const scales = await assetScales(deps);
    const [indexers, queues, sweeps, refills, spends, users, ledger] = await Promise.all([
      listIndexerStatus(deps.pool),
      queuesSection(deps),
      sweepsSection(deps, scales),
      refillsSection(deps),
      listSpendsAwaitingApproval(deps.pool, { limit: approvalsShownMax }),
      usersSection(deps, query),
      ledgerSection(deps, c.get('csrf')),
    ]);
    return c.html(
      shell(c, 'Console', html`<h1>Console</h1>
${indexersSection(indexers)}${queues}${sweeps}${refills}${approvalsSection(spends, scales, canAct, c.get('csrf'))}${users}${ledger}`),
    );
  });

  app.get('/spends/:id', async (c) => {
    const spend = await getSpend(deps.pool, c.req.param('id'));
    if (!spend) throw new PageError(404, 'console', `There is no spend ${c.req.param('id')}.`);
    const scales = await assetScales(deps);
    return c.html(
      shell(c, `Spend ${spend.id}`, html`<h1>Spend <code>${spend.id}</code></h1>
<section class="card" aria-labelledby="spend-heading"><h2 id="spend-heading">Where it stands</h2>
<dl>
<dt>Status</dt><dd data-spend-status="${spend.status}">${spend.status.replaceAll('_', ' ')}${spend.code ? html` <span class="muted">(${spend.code})</span>` : ''}</dd>
<dt>Wallet</dt><dd>${spend.walletId}</dd>
<dt>Amount</dt><dd>${formatUnits(spend.amount, scales.get(spend.asset) ?? 0)} ${spend.asset} to <code>${spend.recipient}</code></dd>
<dt>Decided by</dt><dd>${spend.decidedBy ?? '—'}</dd>
<dt>Transaction</dt><dd><code>${spend.txHash ?? '—'}</code></dd>
<dt>Last change</dt><dd>${when(spend.updatedAt)}</dd>
</dl></section>
<p><a href="/console#approvals">Back to approvals</a></p>`),
    );
  });

  app.post('/spends/:id/approve', requireOperator('console'), async (c) => {
    const identity = c.get('identity');
    const spend = await approveSpend({ writer: deps.writer }, c.req.param('id'), `${identity.role}:${identity.id}`);
    return c.redirect(`/console/spends/${encodeURIComponent(spend.id)}`, 303);
  });

  app.post('/spends/:id/reject', requireOperator('console'), async (c) => {
    const identity = c.get('identity');
    const form = await c.req.parseBody();
    const reason = typeof form.reason === 'string' && form.reason.trim() ? form.reason.trim().slice(0, rejectReasonLengthMax) : undefined;
    const spend = await rejectSpend({ writer: deps.writer }, c.req.param('id'), `${identity.role}:${identity.id}`, reason);
    return c.redirect(`/console/spends/${encodeURIComponent(spend.id)}`, 303);
  });

  app.get('/verify', async (c) => {
    const report = await verifyLedger(deps.pool);
    return c.html(
      shell(c, 'Verify', html`<h1>Ledger verification</h1>
<section class="card" aria-labelledby="verify-heading"><h2 id="verify-heading">${report.ok ? statusBadge('all checks passed', 'ok') : statusBadge('a check failed', 'bad')}</h2>
<p data-verify="${report.ok ? 'ok' : 'failed'}">${report.entries.toString()} entries, ${report.postings.toString()} postings, ${report.seals.toString()} seals checked in ${report.durationMs} ms.</p>
<table><thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
<tbody>${report.checks.map((check) => html`<tr><th scope="row">${check.name}</th><td>${check.ok ? statusBadge('ok', 'ok') : statusBadge('broken', 'bad')}</td><td>${check.message}${check.firstBrokenEntryId !== undefined ? ` (first broken entry ${check.firstBrokenEntryId})` : ''}</td></tr>`)}</tbody></table>
</section><p><a href="/console#ledger">Back to the console</a></p>`),
    );
  });

  app.post('/projections/replay', async (c) => {
    if (replaying) throw new PageError(409, 'console', 'A projections replay is already running; try again when it has finished.');
    replaying = true;
    try {
      const reports: ReplayReport[] = [];
      for (const projection of projections) reports.push(await replayProjection(deps.pool, projection));
      return c.html(
        shell(c, 'Projections replay', html`<h1>Projections replay</h1>
<section class="card" aria-labelledby="replay-heading"><h2 id="replay-heading">Rebuilt from the journal, compared with live</h2>
${replayReport(reports)}
<p class="muted">Nothing was swapped: to replace a drifted projection, an operator runs <code>coffer projections replay &lt;name&gt; --swap</code>.</p>
</section><p><a href="/console#ledger">Back to the console</a></p>`),
      );
    } finally {
      replaying = false;
    }
  });

  return app;
}
