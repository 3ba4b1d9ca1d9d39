// The relayer bench's baseline: one key's signed transactions sent raw to a node, and a wait
// until the chain has mined every nonce. A node can end up without one nonce of a burst (a send
// that failed or was dropped; once 1,344 transfers sat queued behind one missing nonce), and
// every later nonce waits behind it forever, so the wait watches the chain nonce and, when it
// stalls, sends the next few again. Bench support, not product code.
import type { Address, Hex, PublicClient } from 'viem';
import { nodeAnswer } from '../chains/index.ts';

/** Answers that mean the node already has this transaction, or already mined its nonce. */
const alreadyTaken = /already known|known transaction|nonce too low|already imported/i;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `signed[nonce]` in nonce order, `concurrency` requests in flight. Returns the nonces the
 * node refused (with the first refusal's message); `waitMined` sends those again.
 */
export async function sendInNonceOrder(client: PublicClient, signed: readonly Hex[], concurrency: number): Promise<{ refused: number[]; firstError?: string }> {
  const refused: number[] = [];
  let firstError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < signed.length) {
      const nonce = next++;
      try {
        await client.sendRawTransaction({ serializedTransaction: signed[nonce]! });
      } catch (error) {
        const message = nodeAnswer(error);
        if (alreadyTaken.test(message)) continue;
        refused.push(nonce);
        firstError ??= message.slice(0, 200);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return firstError === undefined ? { refused } : { refused, firstError };
}

export interface WaitMinedOptions {
  /** The whole wait's limit: past it, the wait fails saying where the chain nonce stopped. */
  timeoutMs: number;
  /** No new nonce mined for this long: send the next `resendCount` again. */
  stallMs: number;
  resendCount: number;
  pollMs?: number;
  onStall?: (nonce: number) => void;
}

/** Waits until `address` has mined nonces 0..signed.length-1; returns how many sends it repeated. */
export async function waitMined(client: PublicClient, address: Address, signed: readonly Hex[], options: WaitMinedOptions): Promise<{ resent: number }> {
  const started = Date.now();
  let mined = -1;
  let progressAt = started;
  let resent = 0;
  let lastRefusal: string | undefined;
  for (;;) {
    const nonce = await client.getTransactionCount({ address, blockTag: 'latest' });
    const now = Date.now();
    if (nonce >= signed.length) return { resent };
    if (nonce > mined) {
      mined = nonce;
      progressAt = now;
    }
    if (now - started > options.timeoutMs) {
      throw new Error(
        `timed out after ${Math.round((now - started) / 1000)} s waiting for ${address} to mine nonces 0..${signed.length - 1}: the chain nonce is ${mined}, ${resent} sends were repeated${lastRefusal ? `; the node last answered "${lastRefusal}"` : ''}`,
      );
    }
    if (now - progressAt > options.stallMs) {
      options.onStall?.(mined);
      const again = signed.slice(mined, mined + options.resendCount);
      const { firstError } = await sendInNonceOrder(client, again, 1);
      resent += again.length;
      lastRefusal = firstError ?? lastRefusal;
      progressAt = Date.now();
    }
    await sleep(options.pollMs ?? 20);
  }
}
