// What the demos narrate, read as the API reads it: a user's deposits from the journal (never
// behind the chain), and each one's history from seen to swept (deposit-views/).
import { getDepositHistory, type DepositHistory, type DepositStep } from '../../deposit-views/index.ts';
import type { Queryable } from '../../infra/index.ts';
import { chart, depositEntryKinds, formatUnits, listEntries } from '../../ledger/index.ts';

/** A demo pays a handful of deposits to one address. */
const depositsListedMax = 20;

/** The histories of the deposits paid to `address` on `chain`, oldest first. */
export async function depositHistories(db: Queryable, userId: string, chain: string, address: string): Promise<DepositHistory[]> {
  const entries = await listEntries(db, { kind: depositEntryKinds.pending, account: chart.depositPending(chain, address), limit: depositsListedMax });
  const histories: DepositHistory[] = [];
  for (const entry of entries) {
    const history = await getDepositHistory(db, userId, entry.id);
    if (history) histories.push(history);
  }
  return histories;
}

/** The step of `kind` in a deposit's history, if it got there. */
export const stepOf = (history: DepositHistory, ...kinds: DepositStep['step'][]): DepositStep | undefined => history.steps.find((step) => kinds.includes(step.step));

/** How a credit decision reads: the CHOCO and the price or rate it used, or why nothing was credited. */
export function describeCredit(history: DepositHistory): string | undefined {
  const decision = stepOf(history, 'credited', 'not_credited');
  if (!decision) return undefined;
  if (decision.step === 'not_credited') return `${history.asset} not credited: ${decision.reason ?? 'no reason recorded'}`;
  const [price, expo] = (decision.rate ?? '').split('e');
  const priced =
    decision.pricing === 'pyth' && price !== undefined && expo !== undefined
      ? `at ${history.asset}/USD ${formatUnits(BigInt(price), -Number(expo))} (Pyth, via Hermes)`
      : `at the fixed ${decision.rate ?? '?'} ${decision.pricing === 'usd' ? 'USD' : 'CHOCO'} per ${history.asset}`;
  return `${history.asset} credited ${priced} → ${formatUnits(decision.amount ?? 0n, decision.scale)} CHOCO`;
}
