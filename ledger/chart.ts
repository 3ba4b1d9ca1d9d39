// The chart of accounts: every account path coffer writes is built here, so a path has one
// spelling everywhere (writers, projections, views, tests) and a newcomer finds them all in one
// place. Paths are `kind:…` segments (accounts.ts); `world`, `issuer` and `receivables` may go
// negative (migrations/0001's floors), every other account has a floor of zero.
export const chart = {
  /** The outside world of a chain: deposits come from it, spends and fees go to it. */
  world: (chain: string) => `world:${chain}`,
  /** A deposit seen on chain, below the chain's finality. */
  depositPending: (chain: string, address: string) => `deposits:${chain}:${address}:pending`,
  /** Confirmed deposits still on their deposit address. */
  custody: (chain: string, address: string) => `custody:${chain}:${address}`,
  /** Custody in a sweep transaction that is signed but not yet confirmed. */
  sweeping: (chain: string, address: string) => `custody:${chain}:${address}:sweeping`,
  /** True for a deposit address's custody account (a user's confirmed deposit), not an agent wallet's. */
  isCustody: (path: string) => path.startsWith('custody:'),
  treasury: (chain: string) => `treasury:${chain}`,
  /** The treasury hot wallet that pays refills. */
  treasuryHot: (chain: string) => `treasury:${chain}:hot`,
  /** A rotated-in treasury hot key (the first key books to `treasuryHot`): one account per address, so each equals its chain balance. */
  treasuryHotKey: (chain: string, address: string) => `treasury:${chain}:hot:${address.toLowerCase()}`,
  /** Network fees paid on a chain (gas, miner fees). */
  fees: (chain: string) => `fees:${chain}`,
  /** An agent wallet's money: `pending` (deposit below finality), `available`, `held` (reserved by an allowed spend). */
  wallet: (walletId: string, part: 'pending' | 'available' | 'held') => `wallets:${walletId}:${part}`,
  /** A selector (not a path) matching all three of a wallet's accounts, for `getBalances`. */
  walletAccounts: (walletId: string) => `wallets:${walletId}:*`,
  relayer: (chain: string, address: string) => `relayers:${chain}:${address.toLowerCase()}`,
  /** An operational balance topped up by refills (a bundler EOA, a paymaster's EntryPoint deposit, which sponsorship.gas entries draw down). */
  operations: (chain: string, name: string) => `operations:${chain}:${name}`,
  userChoco: (userId: string) => `users:${userId}:choco`,
  /** What a user owes back when a credit is taken back after the CHOCO was spent. */
  userReceivable: (userId: string) => `receivables:choco:${userId}`,
  /** Where CHOCO comes from. */
  issuerChoco: 'issuer:choco',
} as const;
