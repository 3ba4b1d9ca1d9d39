// The JSON a spend and a wallet are shown as — by the API and in webhook bodies alike, so a
// webhook receiver and an API client parse one shape. Amounts are decimal strings.
import type { Spend } from './spends.ts';

export function spendView(spend: Spend) {
  return {
    id: spend.id,
    walletId: spend.walletId,
    status: spend.status,
    code: spend.code,
    asset: spend.asset,
    amount: spend.amount.toString(),
    to: spend.recipient,
    transaction: { to: spend.txTo, value: spend.txValue.toString(), data: spend.txData, nonce: spend.nonce, hash: spend.txHash },
    violations: spend.violations,
    policyVersion: spend.policyVersion,
    approvalDeadline: spend.approvalDeadline?.toISOString() ?? null,
    decidedBy: spend.decidedBy,
    gasReserve: spend.gasReserve?.toString() ?? null,
    fee: spend.fee?.toString() ?? null,
    holdEntryId: spend.holdEntryId?.toString() ?? null,
    settledEntryId: spend.settledEntryId?.toString() ?? null,
    createdAt: spend.createdAt.toISOString(),
    updatedAt: spend.updatedAt.toISOString(),
  };
}
