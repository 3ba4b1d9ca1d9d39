// /app: a deposit user's page. Pick a chain, see the deposit address with a QR code of its
// payment URI, the CHOCO balance, and each deposit from the chain to the credit and the sweep.
// The deposits and balances refresh by polling /app/live (JSON carrying the same markup the page
// renders), so a deposit counts its confirmations up without a reload; a reload shows the same.
import { Hono } from 'hono';
import QRCode from 'qrcode';
import type { ApiKeyIdentity } from '../access/index.ts';
import type { ApiDependencies } from '../api/index.ts';
import { chocoScale } from '../credits/index.ts';
import { depositProgress, type DepositCredit, type SweepView } from '../sweeps/index.ts';
import { formatUnits } from '../ledger/index.ts';
import { depositChains, getDepositAddress, getUser, getUserBalances, getUserChoco, listUserDeposits, type DepositAddress, type UserDeposit } from '../users/index.ts';
import { PageError, requireCsrf, requireSession, type WebEnv } from './guard.ts';
import { html, page, raw, shortHash, statusBadge, when, type Markup } from './layout.ts';

/** The page shows the newest deposits; older ones are in the API (GET /v1/users/:id/deposits). */
export const depositsShownMax = 50;
export const livePollIntervalMs = 1_500;

interface Snapshot {
  choco: { balance: bigint; scale: number };
  balances: Awaited<ReturnType<typeof getUserBalances>>;
  deposits: { deposit: UserDeposit; credit: DepositCredit | null; sweep: SweepView | null }[];
}

async function snapshot(deps: ApiDependencies, userId: string): Promise<Snapshot> {
  const [choco, balances, deposits] = await Promise.all([
    getUserChoco(deps.pool, userId),
    getUserBalances(deps.pool, userId),
    listUserDeposits(deps.pool, userId, { limit: depositsShownMax }),
  ]);
  const progress = await depositProgress(deps.pool, deposits.map((d) => d.entryId));
  return { choco, balances, deposits: deposits.map((deposit) => ({ deposit, ...(progress.get(deposit.entryId) ?? { credit: null, sweep: null }) })) };
}

function chocoRegion(choco: Snapshot['choco']): Markup {
  return html`<p class="big" data-choco="${choco.balance.toString()}">${formatUnits(choco.balance, choco.scale)} <abbr title="CHOCO, credited for confirmed deposits">CHOCO</abbr></p>`;
}

function balancesRegion(balances: Snapshot['balances']): Markup {
  if (balances.length === 0) return html`<p class="muted">Nothing received yet.</p>`;
  return html`<table>
<thead><tr><th scope="col">Chain</th><th scope="col">Asset</th><th scope="col" class="num">Pending</th><th scope="col" class="num">Confirmed</th></tr></thead>
<tbody>${balances.map((b) => html`<tr><td>${b.chain}</td><td>${b.asset}</td><td class="num">${formatUnits(b.pending, b.scale)}</td><td class="num">${formatUnits(b.confirmed, b.scale)}</td></tr>`)}</tbody>
</table>`;
}

function depositStep(d: UserDeposit): Markup {
  if (d.status === 'reverted') return statusBadge('reverted by a reorg', 'bad');
  if (d.status === 'confirmed') return statusBadge('confirmed', 'ok');
  const depth = d.finalityDepth;
  const count = d.confirmations ?? 0;
  const text = depth === null ? `${count} confirmations` : count < depth ? `${count} of ${depth} confirmations` : `${count} confirmations, becoming final`;
  return html`${statusBadge('pending', 'warn')} <span data-confirmations="${count}">${text}</span>`;
}

function creditStep(d: UserDeposit, credit: DepositCredit | null): Markup {
  if (!credit) return d.status === 'confirmed' ? html`<span class="muted">being credited…</span>` : html`<span class="muted">after confirmation</span>`;
  if (credit.status === 'credited') return html`${statusBadge('credited', 'ok')} +${formatUnits(credit.choco ?? 0n, chocoScale)} CHOCO`;
  if (credit.status === 'below_minimum') return html`${statusBadge('not credited', 'bad')} <span class="muted">${credit.reason ?? 'below the minimum'}</span>`;
  return html`${statusBadge('not credited', 'bad')} <span class="muted">the confirmation was reversed</span>`;
}

function sweepStep(sweep: SweepView | null): Markup {
  if (!sweep) return html`<span class="muted">—</span>`;
  const tone = sweep.status === 'confirmed' ? 'ok' : sweep.status === 'failed' ? 'bad' : 'warn';
  const label = { waiting_for_gas: 'waiting for gas', submitted: 'in flight', confirmed: 'swept', failed: 'failed', skipped: 'kept in custody' }[sweep.status];
  return html`${statusBadge(label, tone)}${sweep.txHash ? html` <code title="${sweep.txHash}">${shortHash(sweep.txHash)}</code>` : ''}`;
}

function depositsRegion(deposits: Snapshot['deposits']): Markup {
  if (deposits.length === 0) return html`<p class="muted">No deposits yet. Send to the address above; it shows up here within seconds of its first block.</p>`;
  return html`<table>
<caption class="visually-hidden">Deposits, newest first: each one's confirmations, its CHOCO credit and its sweep to the treasury</caption>
<thead><tr><th scope="col">Seen</th><th scope="col">Chain</th><th scope="col" class="num">Amount</th><th scope="col">Deposit</th><th scope="col">Credit</th><th scope="col">Sweep</th><th scope="col">Transaction</th></tr></thead>
<tbody>${deposits.map(
    ({ deposit: d, credit, sweep }) => html`<tr data-deposit="${d.entryId.toString()}" data-status="${d.status}" data-credit="${credit?.status ?? 'none'}" data-sweep="${sweep?.status ?? 'none'}">
<td>${when(d.effectiveAt)}</td><td>${d.chain}</td><td class="num">${formatUnits(d.amount, d.scale)} ${d.asset}</td>
<td>${depositStep(d)}</td><td>${creditStep(d, credit)}</td><td>${sweepStep(sweep)}</td><td><code title="${d.txHash}">${shortHash(d.txHash)}</code></td></tr>`,
  )}</tbody>
</table>`;
}

async function addressPanel(deps: ApiDependencies, userId: string, chain: string): Promise<Markup> {
  if (!deps.derivation) return html`<p class="notice">Deposit addresses are unavailable: this server was started without the signer's root keys.</p>`;
  const address: DepositAddress = await getDepositAddress(deps.pool, userId, chain, deps.derivation);
  // qrcode renders only the payment URI it is given, as paths in an SVG of its own making.
  const svg = await QRCode.toString(address.uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  return html`<div class="row">
  <figure class="qr" data-qr aria-labelledby="qr-caption">
    <div role="img" aria-label="QR code of the payment URI ${address.uri}">${raw(svg)}</div>
    <figcaption id="qr-caption" class="muted">Scan with a ${chain} wallet</figcaption>
  </figure>
  <div>
    <p><strong>Your ${chain} deposit address</strong> <span class="muted">(${address.network})</span></p>
    <p><code id="deposit-address" data-address>${address.address}</code></p>
    <p><button type="button" data-copy="${address.address}" aria-describedby="copy-status" hidden>Copy address</button> <span id="copy-status" role="status"></span></p>
    <p class="muted">Payment URI: <code data-uri>${address.uri}</code></p>
    <p class="muted">This address never changes. Deposits count once they have enough confirmations; then they are credited in CHOCO.</p>
  </div>
</div>`;
}

/** The user an /app session acts for: the area admits `user` keys only, and each names its user. */
function sessionUserId(identity: ApiKeyIdentity): string {
  if (identity.userId === null) throw new PageError(403, 'app', 'This page is for user keys; the key you signed in with names no user.');
  return identity.userId;
}

export function depositPages(deps: ApiDependencies): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('*', requireSession(deps.pool, 'app'));
  app.use('*', requireCsrf('app'));

  app.get('/', async (c) => {
    const identity = c.get('identity');
    const userId = sessionUserId(identity);
    const chain = c.req.query('chain') ?? depositChains[0];
    if (!depositChains.includes(chain)) throw new PageError(404, 'app', `There is no chain "${chain}" here; pick one of ${depositChains.join(', ')}.`);
    const [user, data, panel] = await Promise.all([getUser(deps.pool, userId), snapshot(deps, userId), addressPanel(deps, userId, chain)]);
    return c.html(
      page({
        title: 'Deposits',
        area: 'app',
        signedIn: { label: user?.nearAccountId ?? userId, csrf: c.get('csrf') },
        body: html`<h1>Deposits</h1>
<div data-live-url="/app/live" data-live-every-ms="${livePollIntervalMs}">
<p id="live-status" class="visually-hidden" role="status"></p>
<section class="card" aria-labelledby="choco-heading"><h2 id="choco-heading">CHOCO balance</h2><div id="choco" aria-live="polite">${chocoRegion(data.choco)}</div></section>
<section class="card" aria-labelledby="address-heading">
  <h2 id="address-heading">Deposit address</h2>
  <nav aria-label="Chains"><ul class="chains">${depositChains.map((name) => html`<li><a href="/app?chain=${name}"${name === chain ? raw(' aria-current="page"') : ''}>${name}</a></li>`)}</ul></nav>
  ${panel}
</section>
<section class="card" aria-labelledby="deposits-heading"><h2 id="deposits-heading">Your deposits</h2><div id="deposits" aria-live="polite">${depositsRegion(data.deposits)}</div></section>
<section class="card" aria-labelledby="balances-heading"><h2 id="balances-heading">At your addresses now, by chain</h2><div id="balances">${balancesRegion(data.balances)}</div></section>
</div>`,
      }),
    );
  });

  app.get('/live', async (c) => {
    const data = await snapshot(deps, sessionUserId(c.get('identity')));
    const render = async (markup: Markup) => (await markup).toString();
    return c.json({
      regions: { choco: await render(chocoRegion(data.choco)), deposits: await render(depositsRegion(data.deposits)), balances: await render(balancesRegion(data.balances)) },
    });
  });

  return app;
}
