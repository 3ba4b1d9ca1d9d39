// Solana's indexer (ADR 0008): blocks read over JSON-RPC in their "accounts" form, SOL and SPL
// deposits decoded from balance changes, settled by the chain-neutral deposit core.
export { SolanaBlockSource } from './source.ts';
export { decodeBlock, type AccountsBlock, type TokenList } from './decode.ts';
export { solanaRpc, SolanaRpcError, type SolanaRpc } from './rpc.ts';
export { runSolanaIndexer, rewindSolanaIndexer, registerSolanaTokens, solanaTokens, solanaFollowSettings, solanaIndexer, solanaFinalityDepthSlots } from './run.ts';
export { recordSolanaFeePayerFunding, SolanaFundingError, feePayerAccount } from './funding.ts';
