// What every chain's indexer hands the deposit core: blocks it read and transfers in them,
// in chain-neutral words. A chain's own folder (`indexers/<chain>/`) reads its RPC and decodes;
// the core decides what the ledger makes of it.

export interface BlockRef {
  height: number;
  hash: string;
  timestamp: Date;
}

export interface ObservedTransfer {
  block: BlockRef;
  /**
   * Where the transfer sits on its chain, unique there and stable across re-reads: EVM
   * `<txhash>:<logindex|value>`, Bitcoin `<txid>:<vout>`, Solana `<signature>:<instruction>`,
   * NEAR `<receipt_id>`. The deposit's idempotency keys start with `<chain>:<position>`.
   */
  position: string;
  /** The transaction's id on its chain (shown to users, the entry's source reference). */
  txRef: string;
  /** Chain-specific facts kept in the deposit entry's metadata (EVM: txHash and logIndex). */
  reference: Record<string, string | number | null>;
  /** The recipient in the chain's canonical spelling. */
  to: string;
  /** The registered asset code. */
  asset: string;
  /** The token's contract / mint, null for the native asset. */
  contract: string | null;
  amount: bigint;
}

export interface DepositObservation {
  blocks: BlockRef[];
  transfers: ObservedTransfer[];
}

/** The range of heights a batch speaks for: open deposits there not on the delivered blocks are orphaned. */
export interface OrphanScope {
  afterHeight: number;
  /** null: every height above `afterHeight` is replaced (a hot update). */
  throughHeight: number | null;
}

export interface DepositCoreSettings {
  /** The indexer's name (its cursor row): `evm`, `bitcoin`, … */
  indexer: string;
  /** The chain as deposit addresses and account paths name it: `ethereum`. */
  chain: string;
  finalityDepth: number;
  /** EVM addresses are stored checksummed and observed in lower case: compare them case-blind. */
  caseInsensitiveAddresses: boolean;
}

export interface SettleStats {
  deposits: number;
  confirmed: number;
  reversed: number;
}
