// The devnet's faucet: a funded system account whose key is handed to tests and the demo, which
// answers requestAirdrop with a real, signed transfer (it lands in a block like any other).
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  address,
  appendTransactionMessageInstructions,
  blockhash as toBlockhash,
  compileTransaction,
  createNoopSigner,
  createTransactionMessage,
  getBase58Decoder,
  getBase58Encoder,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type Address,
  type SignatureBytes,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';

const memoProgramAddress = address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const seedBytes = 32;
const secretKeyBytes = 64;

export interface Faucet {
  address: Address;
  /** base58 of seed ‖ public key, the 64-byte form Solana's CLI and web3.js keypairs use. */
  secretKey: string;
  /** A signed transfer, made unique by a memo so that equal airdrops in one blockhash do not collide. */
  airdrop(to: Address, lamports: bigint, blockhash: string, lastValidBlockHeight: number): Uint8Array;
}

export function createFaucet(secretKey?: string): Faucet {
  const bytes = secretKey ? getBase58Encoder().encode(secretKey) : undefined;
  if (bytes && bytes.length !== secretKeyBytes) throw new Error(`a Solana secret key is ${secretKeyBytes} bytes in base58; this one has ${bytes.length}`);
  const seed = bytes ? new Uint8Array(bytes.subarray(0, seedBytes)) : new Uint8Array(randomBytes(seedBytes));
  const publicKey = ed25519.getPublicKey(seed);
  const base58 = getBase58Decoder();
  const faucetAddress = address(base58.decode(publicKey));
  let airdrops = 0;
  const transactionEncoder = getTransactionEncoder();
  return {
    address: faucetAddress,
    secretKey: base58.decode(new Uint8Array([...seed, ...publicKey])),
    airdrop(to, lamports, blockhash, lastValidBlockHeight) {
      airdrops += 1;
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayer(faucetAddress, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: toBlockhash(blockhash), lastValidBlockHeight: BigInt(lastValidBlockHeight) }, m),
        (m) =>
          appendTransactionMessageInstructions(
            [
              getTransferSolInstruction({ source: createNoopSigner(faucetAddress), destination: to, amount: lamports }),
              { programAddress: memoProgramAddress, data: new TextEncoder().encode(`airdrop ${airdrops}`) },
            ],
            m,
          ),
      );
      const transaction = compileTransaction(message);
      const signature = ed25519.sign(new Uint8Array(transaction.messageBytes), seed) as SignatureBytes;
      return new Uint8Array(transactionEncoder.encode({ ...transaction, signatures: { ...transaction.signatures, [faucetAddress]: signature } }));
    },
  };
}
