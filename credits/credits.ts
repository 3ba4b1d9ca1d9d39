// CHOCO credits for confirmed deposits (SPEC Flow 3), exactly once per deposit.
//
// The decision is taken under the ledger writer's lock (LedgerWriter.transaction): the credit
// entry, the decision row and the sweep job commit together, so a crash or a retry can neither
// credit twice nor lose the sweep. Pricing happens before, outside the lock; a refused price
// fails the job, which BullMQ retries later — a deposit is never credited at a bad price.
import { UnrecoverableError } from 'bullmq';
import { enqueue, run, runFirst, sqlBuilder, type Pool } from '../infra/index.ts';
import {
  accountBalance,
  chart,
  creditEntryKinds,
  depositDetails,
  depositEntryKinds,
  entryMetadata,
  formatUnits,
  getAsset,
  getEntry,
  getEntryByIdempotencyKey,
  isReversed,
  type AppendRequest,
  type JournalEntry,
  type LedgerTransaction,
  type LedgerWriter,
  assertAppended,
} from '../ledger/index.ts';
import { getUser } from '../users/index.ts';
import type { PriceSource } from './prices.ts';
import { formatFraction, formatUsdMicros, reachesMinimum, reachesNativeMinimum, valueDeposit, type AssetPricing, type Fraction, type Valuation } from './valuation.ts';


export interface CreditSettings {
  pricing: Map<string, AssetPricing>;
  minimumsUsd: Map<string, Fraction>;
  /** Per chain, whole units of its native asset below which a native deposit is not credited (CREDIT_MINIMUM_NATIVE). */
  minimumsNative?: Map<string, Fraction>;
  chocoPerUsd: Fraction;
  /** Chains whose credited deposits are swept (a treasury is configured for them). */
  sweepChains: ReadonlySet<string>;
}

export interface CreditContext {
  pool: Pool;
  writer: LedgerWriter;
  prices: PriceSource;
  settings: CreditSettings;
}

export type CreditOutcome =
  | { status: 'credited'; userId: string; choco: bigint; usdMicros: bigint; creditEntryId: bigint; priceObservationId: bigint | null; sweep: boolean }
  | { status: 'below_minimum' | 'not_credited_reversed'; userId: string; reason: string }
  | { status: 'decided_before'; userId: string; decision: string };

interface DepositFacts {
  confirmation: JournalEntry;
  deposit: JournalEntry;
  depositKey: string;
  userId: string;
  chain: string;
  asset: string;
  amount: bigint;
  contract: string | null;
}

async function depositFacts(pool: Pool, confirmationEntryId: bigint): Promise<DepositFacts> {
  const confirmation = await getEntry(pool, confirmationEntryId);
  if (!confirmation || confirmation.kind !== depositEntryKinds.confirmed) {
    throw new UnrecoverableError(`journal entry ${confirmationEntryId} is not a deposit confirmation`);
  }
  const { depositKey } = entryMetadata(depositEntryKinds.confirmed, confirmation);
  const deposit = await getEntryByIdempotencyKey(pool, depositKey);
  if (!deposit) throw new UnrecoverableError(`the deposit ${depositKey} of confirmation ${confirmationEntryId} is not in the journal`);
  const { userId, chain, asset, amount, contract } = depositDetails(deposit);
  return { confirmation, deposit, depositKey, userId, chain, asset, amount, contract };
}

async function decisionOf(tx: LedgerTransaction, confirmationEntryId: bigint) {
  return runFirst(
    tx.client,
    sqlBuilder
      .selectFrom('credit_decisions')
      .select(['status', 'credit_entry_id', 'reversal_entry_id', 'choco', 'user_id'])
      .where('confirmation_entry_id', '=', confirmationEntryId)
      .forUpdate(),
  );
}

async function recordDecision(
  tx: LedgerTransaction,
  facts: DepositFacts,
  decision: { status: string; reason?: string | null; priceObservationId?: bigint | null; valuation?: Valuation | null; creditEntryId?: bigint | null },
): Promise<void> {
  await run(
    tx.client,
    sqlBuilder.insertInto('credit_decisions').values({
      confirmation_entry_id: facts.confirmation.id,
      deposit_entry_id: facts.deposit.id,
      user_id: facts.userId,
      chain: facts.chain,
      asset: facts.asset,
      amount: facts.amount,
      status: decision.status,
      reason: decision.reason ?? null,
      price_observation_id: decision.priceObservationId ?? null,
      usd_micros: decision.valuation?.usdMicros ?? null,
      choco: decision.valuation?.choco ?? null,
      credit_entry_id: decision.creditEntryId ?? null,
    }),
  );
}

/** The credit job: prices the deposit at its block time and credits it once. */
export async function creditDeposit(context: CreditContext, confirmationEntryId: bigint): Promise<CreditOutcome> {
  const { pool, writer, prices, settings } = context;
  const facts = await depositFacts(pool, confirmationEntryId);
  const decided = await runFirst(pool, sqlBuilder.selectFrom('credit_decisions').select('status').where('confirmation_entry_id', '=', confirmationEntryId));
  if (decided) return { status: 'decided_before', userId: facts.userId, decision: decided.status };

  const pricing = settings.pricing.get(facts.asset);
  // A configuration gap is not fixed by retrying: the job fails at once and stays visible.
  if (!pricing) throw new UnrecoverableError(`no pricing is configured for ${facts.asset} (CREDIT_ASSET_PRICING)`);
  const asset = await getAsset(pool, facts.asset);
  if (!asset) throw new UnrecoverableError(`the asset ${facts.asset} of deposit ${facts.depositKey} is not registered`);
  const assetScale = asset.scale;
  const price = pricing.kind === 'pyth' ? await prices.priceAt(pricing.feedId, facts.deposit.effectiveAt) : null;
  const valuation = valueDeposit({ amount: facts.amount, assetScale, pricing, chocoPerUsd: settings.chocoPerUsd, ...(price ? { price } : {}) });
  const minimum = settings.minimumsUsd.get(facts.chain) ?? { n: 0n, d: 1n };
  const minimumNative = facts.contract === null ? settings.minimumsNative?.get(facts.chain) : undefined;

  const sweep = ((await getUser(pool, facts.userId))?.isSweepEnabled ?? false) && settings.sweepChains.has(facts.chain);

  return writer.transaction(async (tx): Promise<CreditOutcome> => {
    const before = await decisionOf(tx, confirmationEntryId);
    if (before) return { status: 'decided_before', userId: facts.userId, decision: before.status };
    if (await isReversed(tx.client, confirmationEntryId)) {
      const reason = 'the deposit confirmation was reversed (operator rewind) before it was credited';
      await recordDecision(tx, facts, { status: 'not_credited_reversed', reason, priceObservationId: price?.id ?? null, valuation });
      return { status: 'not_credited_reversed', userId: facts.userId, reason };
    }
    if (minimumNative && !reachesNativeMinimum(facts.amount, assetScale, minimumNative)) {
      const reason = `${formatUnits(facts.amount, assetScale)} ${facts.asset} is below the ${facts.chain} minimum of ${formatFraction(minimumNative)} ${facts.asset} (CREDIT_MINIMUM_NATIVE)`;
      await recordDecision(tx, facts, { status: 'below_minimum', reason, priceObservationId: price?.id ?? null, valuation });
      return { status: 'below_minimum', userId: facts.userId, reason };
    }
    if (!reachesMinimum(valuation, minimum) || valuation.choco === 0n) {
      const reason = `worth ${formatUsdMicros(valuation.usdMicros)}, below the ${facts.chain} minimum of ${formatUsdMicros((minimum.n * 1_000_000n) / minimum.d)}`;
      await recordDecision(tx, facts, { status: 'below_minimum', reason, priceObservationId: price?.id ?? null, valuation });
      return { status: 'below_minimum', userId: facts.userId, reason };
    }
    const request: AppendRequest = {
      kind: creditEntryKinds.issued,
      idempotencyKey: `credit:${facts.depositKey}`,
      sourceRef: facts.depositKey,
      metadata: {
        userId: facts.userId,
        depositEntryId: facts.deposit.id.toString(),
        confirmationEntryId: confirmationEntryId.toString(),
        asset: facts.asset,
        amount: facts.amount.toString(),
        usdMicros: valuation.usdMicros.toString(),
        pricing: pricing.kind,
        ...(pricing.kind === 'pyth' ? {} : { rate: formatFraction(pricing.perUnit) }),
        ...(price
          ? { priceObservationId: price.id.toString(), feedId: price.feedId, price: price.price.toString(), conf: price.conf.toString(), expo: price.expo, publishTime: price.publishTime.toISOString() }
          : {}),
      },
      postings: [{ source: chart.issuerChoco, destination: chart.userChoco(facts.userId), asset: 'CHOCO', amount: valuation.choco }],
    };
    const [result] = await tx.append([request]);
    assertAppended(result, request.idempotencyKey);
    await recordDecision(tx, facts, { status: 'credited', priceObservationId: price?.id ?? null, valuation, creditEntryId: result.entry.id });
    if (sweep) {
      await enqueue(tx.client, [{ queue: 'sweeps', name: 'sweep-deposit', dedupeKey: `sweep:${facts.deposit.id}`, payload: { depositEntryId: facts.deposit.id.toString() } }]);
    }
    return { status: 'credited', userId: facts.userId, choco: valuation.choco, usdMicros: valuation.usdMicros, creditEntryId: result.entry.id, priceObservationId: price?.id ?? null, sweep };
  });
}

export type CreditReversalOutcome =
  | { status: 'reversed'; entryId: bigint; shortfall: bigint }
  | { status: 'nothing_to_reverse'; reason: string };

/**
 * After an operator rewind reversed a deposit's confirmation: takes the credit back. What the
 * user already spent cannot come back from their balance (its floor is 0), so that part is
 * booked to `receivables:choco:<user>` — what the user owes — instead of breaking the floor.
 */
export async function reverseCredit(context: Pick<CreditContext, 'pool' | 'writer'>, confirmationEntryId: bigint): Promise<CreditReversalOutcome> {
  const facts = await depositFacts(context.pool, confirmationEntryId);
  return context.writer.transaction(async (tx): Promise<CreditReversalOutcome> => {
    const decision = await decisionOf(tx, confirmationEntryId);
    if (!decision) {
      // The credit job has not decided yet; this row makes it decide "not credited".
      const reason = 'the deposit confirmation was reversed (operator rewind) before it was credited';
      await recordDecision(tx, facts, { status: 'not_credited_reversed', reason });
      return { status: 'nothing_to_reverse', reason };
    }
    if (decision.status !== 'credited') return { status: 'nothing_to_reverse', reason: `the deposit was not credited (${decision.status})` };
    if (decision.reversal_entry_id !== null) return { status: 'reversed', entryId: decision.reversal_entry_id, shortfall: 0n };
    // A credited decision always names its CHOCO and its credit entry (recordDecision writes both).
    if (decision.choco === null || decision.credit_entry_id === null) throw new Error(`the credited decision of confirmation ${confirmationEntryId} names no CHOCO or credit entry`);
    const credited = BigInt(decision.choco);
    const creditEntryId = decision.credit_entry_id;
    const account = chart.userChoco(facts.userId);
    const available = await accountBalance(tx.client, account, 'CHOCO');
    const shortfall = credited > available ? credited - available : 0n;
    const base = { idempotencyKey: `credit:${facts.depositKey}:reversal`, sourceRef: facts.depositKey, metadata: { userId: facts.userId, confirmationEntryId: confirmationEntryId.toString(), reason: 'deposit confirmation reversed', shortfall: shortfall.toString() } };
    const request: AppendRequest =
      shortfall === 0n
        ? { ...base, kind: creditEntryKinds.reversal, reverses: creditEntryId, postings: [{ source: account, destination: chart.issuerChoco, asset: 'CHOCO', amount: credited }] }
        : {
            ...base,
            kind: creditEntryKinds.clawback,
            postings: [
              ...(available > 0n ? [{ source: account, destination: chart.issuerChoco, asset: 'CHOCO', amount: available }] : []),
              { source: chart.userReceivable(facts.userId), destination: chart.issuerChoco, asset: 'CHOCO', amount: shortfall },
            ],
          };
    const [result] = await tx.append([request]);
    assertAppended(result, request.idempotencyKey);
    await run(tx.client, sqlBuilder.updateTable('credit_decisions').set({ reversal_entry_id: result.entry.id, shortfall }).where('confirmation_entry_id', '=', confirmationEntryId));
    return { status: 'reversed', entryId: result.entry.id, shortfall };
  });
}
