// The entry catalogue: every kind of journal entry coffer writes, with a zod schema for its
// metadata. It lives in ledger/ because the writer checks every catalogued entry against it
// before the entry is queued (validate.ts), so no writer can spell a kind's metadata its own
// way, and because the projections that fold these entries live here too. Readers (credits,
// sweeps, views) parse an entry's metadata with `entryMetadata`, so a missing field is named
// where it is read. Schemas list what readers rely on; other fields (a chain's own reference,
// such as Bitcoin's vout) pass through unchecked; what the indexer core always writes but no
// reader needs (the block, the indexer's name) is checked when present. Kinds outside the
// catalogue (benches' synthetic entries) are checked only for well-formed JSON.
import { z } from 'zod';
import { LedgerInputError } from './errors.ts';
import type { JournalEntry, JsonObject } from './types.ts';

const id = z.string().min(1);
/** An entry id or an amount in minor units, as JSON carries a bigint: decimal digits. */
const digits = z.string().regex(/^-?\d+$/);
const height = z.number().int().nonnegative();
/**
 * A sweep entry names its one deposit, or — a consolidation on a UTXO chain — how many coins its
 * transaction spends (`inputs`) and its fee in the chain's minor unit (`feeSat`). Fields are
 * checked one by one, so a refusal names the field.
 */
function oneSweepOrConsolidation<T extends z.ZodRawShape>(one: T) {
  return z
    .object(one)
    .partial()
    .extend({ txHash: id, inputs: z.number().int().positive().optional(), feeSat: digits.optional(), consolidation: z.literal(true).optional() })
    .superRefine((metadata, context) => {
      const fields = metadata as Record<string, unknown>;
      const required = fields.inputs !== undefined ? ['feeSat'] : Object.keys(one);
      for (const key of required) {
        if (fields[key] === undefined) context.addIssue({ code: 'custom', path: [key], message: 'is required' });
      }
    });
}
const blockAtIfPresent = { blockHeight: height.optional(), blockHash: z.string().min(1).optional() };
/** A deposit's owner: a user's deposit address, or an agent wallet. */
const owner = z.union([z.object({ userId: id }), z.object({ walletId: id })]);

const depositReversal = z.object({ indexer: id.optional(), reason: z.enum(['reorg', 'rewind']).optional(), ...blockAtIfPresent, rewindTo: height.optional() });

export const entryCatalogue = {
  /** Seen on chain below finality: world:<chain> → deposits:…:pending (or wallets:…:pending). */
  'deposit.pending': z.intersection(
    owner,
    z.object({
      indexer: id.optional(),
      chain: id,
      address: id,
      ...blockAtIfPresent,
      /** The token contract, or null (or absent) for the chain's native asset. */
      contract: z.string().nullish(),
      /** The transaction's id on its chain, for the deposit view. */
      txHash: z.string().optional(),
      logIndex: z.number().int().nullable().optional(),
    }),
  ),
  /** At finality: pending → custody (or the wallet's available). */
  'deposit.confirmed': z.object({ indexer: id.optional(), depositKey: id, blockHeight: height.optional(), finalityDepth: z.number().int().nonnegative().optional() }),
  /** An operator rewind takes a confirmation back: custody → pending. */
  'deposit.confirmation_reversal': depositReversal,
  /** The deposit's block left the chain (reorg or rewind): pending → world. */
  'deposit.reversal': depositReversal,

  /** CHOCO for a confirmed deposit: issuer:choco → users:<id>:choco. */
  'credit.issued': z.object({
    userId: id,
    depositEntryId: digits,
    confirmationEntryId: digits,
    asset: id,
    amount: digits,
    usdMicros: digits,
    pricing: id,
    priceObservationId: digits.optional(),
  }),
  'credit.reversal': z.object({ userId: id, confirmationEntryId: digits, reason: id, shortfall: digits }),
  /** A reversal after the CHOCO was spent: the rest becomes a receivable. */
  'credit.clawback': z.object({ userId: id, confirmationEntryId: digits, reason: id, shortfall: digits }),

  /**
   * Signed and stored: custody → custody:…:sweeping. One deposit's sweep (account chains), or a
   * UTXO chain's consolidation of many deposits' coins in one transaction (sweeps/consolidation.ts).
   */
  'sweep.submitted': oneSweepOrConsolidation({ userId: id, depositEntryId: digits, address: id, treasury: id, nonce: z.number().int().nullable(), txHash: id }),
  'sweep.confirmed': oneSweepOrConsolidation({ userId: id, depositEntryId: digits, txHash: id, blockNumber: height, fee: digits }),
  'sweep.failed': oneSweepOrConsolidation({ userId: id, depositEntryId: digits, txHash: id, reason: z.string(), fee: digits }),

  /** An allowed agent spend holds its amount and fee reserve: available → held. */
  'spend.hold': z.object({ walletId: id, spendId: id, asset: id, amount: digits, gasReserve: digits, to: id, policyVersion: z.number().int() }),
  'spend.release': z.object({ walletId: id, spendId: id, code: id, reason: z.string() }),
  'spend.settled': z.object({ walletId: id, spendId: id, txHash: id, blockNumber: height, fee: digits }),
  /** The fee a failed spend burned. */
  'spend.fee': z.object({ walletId: id, spendId: id, txHash: z.string().nullable(), fee: digits }),

  /** A relayed transaction mined: relayers:… → fees (gas) and → world (value). */
  'relay.settled': z.object({ relayerId: id, transactionId: id, nonce: digits, hash: id, blockNumber: digits, origin: z.string(), status: id, fee: digits }),
  /** Money sent to the treasury hot wallet: world → treasury:<chain>:hot. */
  'treasury.funded': z.object({ hash: id, from: id, blockNumber: digits }),
  /** A refill mined: treasury:<chain>:hot → the target's account (and fees). */
  'refill.settled': z.object({ refillId: digits, target: id, hash: id, success: z.boolean(), fee: digits }),
  /** A rotated treasury hot key's balance moved to its successor: the old key's account → the new one's, → fees (gas). */
  'treasury.drained': z.object({ from: id, to: id, hash: id, blockNumber: digits, fee: digits }),
  /** Gas a NEAR MPC `sign` call burnt and its attached deposit (`booked` of them coffer's): operations:near:signing:<account> → fees:near. */
  'signing.fee': z.object({ predecessor: id, txHash: id, fee: digits, deposit: digits, booked: digits }),
  /** A NEP-145 storage_deposit coffer paid: treasury:near:hot → operations:near:storage:<account> (and fees). */
  'storage.deposited': z.object({ accountId: id, contract: id, txHash: id, success: z.boolean(), fee: digits }),

  /**
   * A user operation coffer's verifying paymaster sponsored, included and final: its
   * actualGasCost left the paymaster's EntryPoint deposit (operations:<chain>:<target>) → fees.
   */
  'sponsorship.gas': z.object({
    userOpHash: id,
    sender: id,
    paymaster: id,
    nonce: digits,
    success: z.boolean(),
    actualGasCost: digits,
    actualGasUsed: digits,
    txHash: id,
    logIndex: z.number().int().nonnegative(),
    blockHeight: height,
  }),

  /** A manual entry; POST /v1/ledger/entries requires its reason, tests' fundings may omit it. */
  adjustment: z.looseObject({ reason: z.string().min(1).optional() }),
} as const;

export type EntryKind = keyof typeof entryCatalogue;
export type EntryMetadata<K extends EntryKind> = z.infer<(typeof entryCatalogue)[K]>;

const isCatalogued = (kind: string): kind is EntryKind => Object.hasOwn(entryCatalogue, kind);

/** Throws `LedgerInputError` when a catalogued kind's metadata does not fit its schema. */
export function assertCatalogued(kind: string, metadata: JsonObject | undefined): void {
  if (!isCatalogued(kind)) return;
  const parsed = entryCatalogue[kind].safeParse(metadata ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LedgerInputError('invalid_metadata', `${kind} metadata: ${issue.path.join('.') || '(root)'} ${issue.message}`, `metadata.${issue.path.join('.')}`);
  }
}

/** A read entry's metadata, typed by its kind; throws when the entry is not of that kind or does not fit. */
export function entryMetadata<K extends EntryKind>(kind: K, entry: Pick<JournalEntry, 'id' | 'kind' | 'metadata'>): EntryMetadata<K> {
  if (entry.kind !== kind) throw new Error(`journal entry ${entry.id} is a ${entry.kind}, not a ${kind}`);
  const parsed = entryCatalogue[kind].safeParse(entry.metadata);
  if (!parsed.success) throw new Error(`journal entry ${entry.id} (${kind}) has metadata that does not fit its catalogue entry: ${parsed.error.issues[0]!.path.join('.')} ${parsed.error.issues[0]!.message}`);
  return parsed.data as EntryMetadata<K>;
}

/** The kinds by the names their writers use. */
export const depositEntryKinds = {
  pending: 'deposit.pending',
  confirmed: 'deposit.confirmed',
  confirmationReversal: 'deposit.confirmation_reversal',
  reversal: 'deposit.reversal',
} as const satisfies Record<string, EntryKind>;
export const creditEntryKinds = { issued: 'credit.issued', reversal: 'credit.reversal', clawback: 'credit.clawback' } as const satisfies Record<string, EntryKind>;
export const sweepEntryKinds = { submitted: 'sweep.submitted', confirmed: 'sweep.confirmed', failed: 'sweep.failed' } as const satisfies Record<string, EntryKind>;
export const spendEntryKinds = { hold: 'spend.hold', release: 'spend.release', settled: 'spend.settled', fee: 'spend.fee' } as const satisfies Record<string, EntryKind>;
export const sponsorEntryKinds = { gas: 'sponsorship.gas' } as const satisfies Record<string, EntryKind>;
export const relayEntryKinds = { settled: 'relay.settled', treasuryFunded: 'treasury.funded', refillSettled: 'refill.settled', treasuryDrained: 'treasury.drained' } as const satisfies Record<string, EntryKind>;
