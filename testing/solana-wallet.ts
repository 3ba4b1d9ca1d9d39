// Test, bench and demo harness for Solana: the devnet with manual slots, and deposits sent the
// way a user's wallet sends them, through the official client (@solana/kit and the SPL token
// program's instructions). Not used by product code.
import {
  appendTransactionMessageInstructions,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createTransactionMessage,
  getBase58Encoder,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type KeyPairSigner,
  type Signature,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { findAssociatedTokenPda, getCreateAssociatedTokenIdempotentInstruction, getMintToCheckedInstruction, getTransferCheckedInstruction, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { usdcDecimals, type SolanaDevnet } from '../devnets/solana/index.ts';

export interface SolanaWallet {
  faucet: KeyPairSigner;
  rpc: ReturnType<typeof createSolanaRpc>;
  send(instructions: Instruction[]): Promise<Signature>;
  sendSol(to: string, lamports: bigint): Promise<Signature>;
  /** USDC from the faucet's own token account to `owner`'s associated token account (created if missing). */
  sendUsdc(owner: string, units: bigint): Promise<Signature>;
  associatedTokenAccount(owner: string): Promise<Address>;
}

/** The faucet as a user's wallet: it holds SOL and mints itself the USDC it sends. */
export async function solanaWallet(devnet: SolanaDevnet): Promise<SolanaWallet> {
  const rpc = createSolanaRpc(devnet.rpcUrl);
  const faucet = await createKeyPairSignerFromBytes(getBase58Encoder().encode(devnet.faucet.secretKey));
  const mint = devnet.tokens.USDC;
  const associatedTokenAccount = async (owner: string) => (await findAssociatedTokenPda({ owner: owner as Address, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint }))[0];
  const faucetAta = await associatedTokenAccount(faucet.address);
  let minted = false;
  const send = async (instructions: Instruction[]) => {
    const { value: latest } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(faucet, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    const signed = await signTransactionMessageWithSigners(message);
    return rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: 'base64', preflightCommitment: 'confirmed' }).send();
  };
  return {
    faucet,
    rpc,
    send,
    associatedTokenAccount,
    sendSol: (to, lamports) => send([getTransferSolInstruction({ source: faucet, destination: to as Address, amount: lamports })]),
    async sendUsdc(owner, units) {
      const ata = await associatedTokenAccount(owner);
      const setup: Instruction[] = minted
        ? []
        : [
            getCreateAssociatedTokenIdempotentInstruction({ payer: faucet, ata: faucetAta, owner: faucet.address, mint }),
            getMintToCheckedInstruction({ mint, token: faucetAta, mintAuthority: faucet, amount: 10n ** 15n, decimals: usdcDecimals }),
          ];
      minted = true;
      return send([
        ...setup,
        getCreateAssociatedTokenIdempotentInstruction({ payer: faucet, ata, owner: owner as Address, mint }),
        getTransferCheckedInstruction({ source: faucetAta, mint, destination: ata, authority: faucet, amount: units, decimals: usdcDecimals }),
      ]);
    },
  };
}
