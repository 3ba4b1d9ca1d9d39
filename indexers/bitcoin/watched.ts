// The deposit addresses the Bitcoin indexer watches, as scriptPubKey hex → the stored address.
// Addresses are only ever added (a user's address is derived once and kept), so the set is
// reloaded when the count grows; between reloads a batch costs one count query.
import { addressToScript, BitcoinAddressError, bitcoinNetworkNames } from '../../chains/index.ts';
import type { Logger, Queryable } from '../../infra/index.ts';
import { depositAddressCount, depositAddressesOn } from '../../users/index.ts';

export interface WatchedScripts {
  current(): Promise<ReadonlyMap<string, string>>;
}

/** Any network's spelling decodes: the script, not the prefix, identifies the address. */
export function scriptHexOf(address: string): string | null {
  for (const network of bitcoinNetworkNames) {
    try {
      return Buffer.from(addressToScript({ address, network })).toString('hex');
    } catch (error) {
      if (!(error instanceof BitcoinAddressError)) throw error;
    }
  }
  return null;
}

export function watchedDepositScripts(options: { db: Queryable; chain: string; logger: Logger }): WatchedScripts {
  const { db, chain, logger } = options;
  let scripts = new Map<string, string>();
  let loadedCount = -1;
  return {
    async current() {
      const count = await depositAddressCount(db, chain);
      if (count === loadedCount) return scripts;
      const next = new Map<string, string>();
      for (const address of await depositAddressesOn(db, chain)) {
        const script = scriptHexOf(address);
        if (script === null) logger.warn('a stored Bitcoin deposit address does not decode; it is not watched', { address });
        else next.set(script, address);
      }
      scripts = next;
      loadedCount = count;
      return scripts;
    },
  };
}
