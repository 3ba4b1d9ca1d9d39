// Devnets for tests and the demo, each on a free loopback port. Later issues add bcoin,
// LiteSVM behind our JSON-RPC, and our NEAR devnet.
export { startAnvil, anvilBinary, type Anvil } from './anvil.ts';
export { freePort } from './ports.ts';
export { startHermesReplay, type HermesReplay, type Misbehaviour } from './hermes.ts';
export { startSolanaDevnet, usdcMainnetMint, type SolanaDevnet, type SolanaDevnetDescription, type SolanaDevnetOptions } from './solana/index.ts';
