// Devnets for tests and the demo, each on a free loopback port: anvil (EVM), bcoin regtest
// (Bitcoin), LiteSVM behind our Solana JSON-RPC, our NEAR devnet, and a Hermes replay server.
// Product code never imports these; it speaks each chain's RPC to whatever URL it is given.
export { startAnvil, anvilBinary, type Anvil } from './anvil.ts';
export { freePort, type DevnetListen } from './ports.ts';
export { startBitcoinDevnet, describeBitcoinDevnet, bitcoinSegwitActivationHeight, coinbaseMaturityBlocks, type BitcoinDevnet } from './bitcoin.ts';
export { startHermesReplay, type HermesReplay, type Misbehaviour } from './hermes.ts';
export { startNearDevnet, ftStorageDepositYocto, type NearDevnet, type NearDevnetOptions, type NearDevnetDescription } from './near/index.ts';
export { startSolanaDevnet, usdcMainnetMint, type SolanaDevnet, type SolanaDevnetDescription, type SolanaDevnetOptions } from './solana/index.ts';
export { testTokenAsset, testTokenScale, testTokenTransfer, mintTestToken } from './test-token.ts';
