// What a NEAR receipt or log line means for deposits, as pure functions over nearcore's views.
import type { ExecutionStatusView, ReceiptView } from './rpc.ts';

/** Refunds (gas and failed deposits) come from this predecessor; they are not deposits. */
export const systemAccount = 'system';

/** The yoctoNEAR a receipt's Transfer actions move (every one, also in mixed-action receipts); 0 for refunds and data. */
export function transferYocto(receipt: ReceiptView): bigint {
  if (receipt.predecessor_id === systemAccount || !receipt.receipt.Action) return 0n;
  let total = 0n;
  for (const action of receipt.receipt.Action.actions) {
    if (typeof action === 'object' && action.Transfer && typeof action.Transfer === 'object') total += BigInt((action.Transfer as { deposit: string }).deposit);
  }
  return total;
}

export type FtMethod = 'ft_transfer' | 'ft_transfer_call';

/** A call of an accepted token's ft_transfer / ft_transfer_call, with the receiver its arguments name (a pre-filter; the events decide). */
export function ftTransferCall(receipt: ReceiptView, tokenContracts: ReadonlyMap<string, string>): { method: FtMethod; receiverId: string } | null {
  if (!tokenContracts.has(receipt.receiver_id) || !receipt.receipt.Action) return null;
  for (const action of receipt.receipt.Action.actions) {
    if (typeof action !== 'object' || !action.FunctionCall) continue;
    const call = action.FunctionCall as { method_name: string; args: string };
    if (call.method_name !== 'ft_transfer' && call.method_name !== 'ft_transfer_call') continue;
    try {
      const args = JSON.parse(Buffer.from(call.args, 'base64').toString('utf8')) as { receiver_id?: unknown };
      if (typeof args.receiver_id === 'string') return { method: call.method_name, receiverId: args.receiver_id };
    } catch {
      // Arguments that are not JSON make the token panic; nothing moved.
    }
  }
  return null;
}

export interface FtTransferEvent {
  /** The entry's index among the receipt's ft_transfer entries (NEP-297 `data` is a batch). */
  index: number;
  from: string;
  to: string;
  amount: bigint;
}

/** The NEP-141 `ft_transfer` entries of a receipt's `EVENT_JSON:` logs; anything else is skipped. */
export function ftTransferEvents(logs: readonly string[]): FtTransferEvent[] {
  const events: FtTransferEvent[] = [];
  for (const line of logs) {
    if (!line.startsWith('EVENT_JSON:')) continue;
    let event: { standard?: unknown; event?: unknown; data?: unknown };
    try {
      event = JSON.parse(line.slice('EVENT_JSON:'.length)) as typeof event;
    } catch {
      continue;
    }
    if (event.standard !== 'nep141' || event.event !== 'ft_transfer' || !Array.isArray(event.data)) continue;
    for (const entry of event.data as { old_owner_id?: unknown; new_owner_id?: unknown; amount?: unknown }[]) {
      if (typeof entry.old_owner_id !== 'string' || typeof entry.new_owner_id !== 'string' || typeof entry.amount !== 'string' || !/^\d{1,39}$/.test(entry.amount)) continue;
      events.push({ index: events.length, from: entry.old_owner_id, to: entry.new_owner_id, amount: BigInt(entry.amount) });
    }
  }
  return events;
}

/**
 * What stays with each receiver of an ft_transfer_call once its ft_resolve_transfer refunded the
 * sender: a refund event (receiver → sender) takes its amount off the forward one.
 */
export function netOfRefunds(forward: readonly FtTransferEvent[], refunds: readonly FtTransferEvent[]): FtTransferEvent[] {
  const left = refunds.map((refund) => ({ ...refund }));
  return forward.map((event) => {
    let amount = event.amount;
    for (const refund of left) {
      if (refund.from !== event.to || refund.to !== event.from || refund.amount === 0n || amount === 0n) continue;
      const taken = refund.amount < amount ? refund.amount : amount;
      amount -= taken;
      refund.amount -= taken;
    }
    return { ...event, amount };
  });
}

export function succeeded(status: ExecutionStatusView): boolean {
  return typeof status === 'object' && ('SuccessValue' in status || 'SuccessReceiptId' in status);
}
