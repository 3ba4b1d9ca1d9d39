// `coffer treasury record-funding --chain solana|near`: books money an operator sent to one of
// coffer's own spending accounts on those chains, read from the chain (the EVM treasury hot
// wallet's is in relayers.ts):
//   solana  SOL sent to the sweeps' fee payer (SOLANA_FEE_PAYER_KEY)  → operations:solana:fee-payer
//   near    NEAR sent to coffer's hot account (COFFER_NEAR_ACCOUNT)  → treasury:near:hot
// Recording the same transaction twice books it once; one that does not fund the account is refused.
import { keystoreFeePayer } from '../../chains/index.ts';
import { recordSolanaFeePayerFunding, solanaRpc } from '../../indexers/index.ts';
import { createLogger, type Config } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { NearFundingError, recordNearHotFunding } from '../../sweeps/index.ts';
import { operationalKeystore } from './keystore.ts';
import { printJson, UsageError, withDatabase } from './index.ts';

export const fundedChains = ['solana', 'near'] as const;

export async function recordChainFunding(config: Config, chain: string, options: { tx?: string | undefined; from?: string | undefined; json?: boolean | undefined }): Promise<number> {
  if (chain === 'solana') {
    if (!config.SOLANA_RPC_URL) throw new UsageError('set SOLANA_RPC_URL: the funding is read from the chain');
    const rpcUrl = config.SOLANA_RPC_URL;
    if (!options.tx || !/^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(options.tx)) throw new UsageError('record-funding --chain solana needs --tx <base58 transaction signature>');
    const { keystore } = await operationalKeystore(config, createLogger({ level: 'warn' }));
    if (!keystore) throw new UsageError('set COFFER_KEYSTORE_PASSPHRASE (or _FILE): the fee payer key lives in the encrypted keystore');
    const feePayer = await keystoreFeePayer(keystore, config.SOLANA_FEE_PAYER_KEY).address();
    return book(async (writer) => {
      const { lamports, entryId } = await recordSolanaFeePayerFunding({ writer, rpc: solanaRpc(rpcUrl), feePayer }, options.tx!);
      return { json: { chain, feePayer, lamports, entryId }, line: `booked ${lamports} lamports to the fee payer ${feePayer} (operations:solana:fee-payer, entry ${entryId})` };
    }, options.json);
  }
  if (chain === 'near') {
    if (!config.NEAR_RPC_URL) throw new UsageError('set NEAR_RPC_URL: the funding is read from the chain');
    const rpcUrl = config.NEAR_RPC_URL;
    if (!options.tx || !/^[1-9A-HJ-NP-Za-km-z]{43,44}$/.test(options.tx)) throw new UsageError('record-funding --chain near needs --tx <base58 transaction hash>');
    // nearcore finds a transaction by its hash and its sender's account.
    if (!options.from) throw new UsageError('record-funding --chain near needs --from <the sending account>');
    const from = options.from;
    return book(async (writer) => {
      const { yocto, entryId } = await recordNearHotFunding({ writer, rpcUrl, hotAccount: config.COFFER_NEAR_ACCOUNT }, options.tx!, from);
      return { json: { chain, account: config.COFFER_NEAR_ACCOUNT, yocto, entryId }, line: `booked ${yocto} yoctoNEAR to ${config.COFFER_NEAR_ACCOUNT} (treasury:near:hot, entry ${entryId})` };
    }, options.json);
  }
  throw new UsageError(`record-funding --chain takes ethereum, ${fundedChains.join(' or ')}`);
}

async function book(record: (writer: LedgerWriter) => Promise<{ json: Record<string, unknown>; line: string }>, json: boolean | undefined): Promise<number> {
  return withDatabase(2, async (pool) => {
    const writer = new LedgerWriter({ pool });
    try {
      const booked = await record(writer);
      if (json) printJson(booked.json);
      else process.stdout.write(`${booked.line}\n`);
      return 0;
    } catch (error) {
      // Refusals name the transaction and why; they are the operator's to correct, not a crash.
      if (error instanceof NearFundingError || (error instanceof Error && error.name === 'SolanaFundingError')) throw new UsageError(error.message);
      throw error;
    } finally {
      await writer.close();
    }
  });
}
