export { createTestDatabase, serverUrl, adminUrl, type TestDatabase } from './database.ts';
export { solanaWallet, type SolanaWallet } from './solana-wallet.ts';
export { createTestPki, type TestPki } from './certificates.ts';
