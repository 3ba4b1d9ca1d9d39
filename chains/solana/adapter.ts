// Solana behind the seam. A sweep is one transaction with two signatures: the fee payer's
// (an operational keystore key, account 0, pays the fee and any rent) and the deposit key's
// (ed25519 over the message bytes, through the MPC signer).
//   SOL    system transfer of everything the address holds (a system account may go to 0)
//   token  create the treasury's associated token account (idempotent), transferChecked to it,
//          and close the deposit's token account when it is emptied: its rent goes to the fee
//          payer, which reports it as `rentReclaimed` (net of rent it put into a new account).
// Final means the chain's `finalized` commitment: `status` counts 1 confirmation only then.
import {
  appendTransactionMessageInstructions,
  blockhash as toBlockhash,
  compileTransaction,
  createNoopSigner,
  createSolanaRpc,
  createTransactionMessage,
  getBase58Decoder,
  getBase64Decoder,
  getBase64Encoder,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  signature as toSignature,
  type Address,
  type Base64EncodedWireTransaction,
  type Instruction,
  type SignatureBytes,
  type TransactionMessageBytesBase64,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import {
  findAssociatedTokenPda,
  getCloseAccountInstruction,
  getCreateAssociatedTokenIdempotentInstruction,
  getTokenDecoder,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import type { Signature } from '../../signer/index.ts';
import { ChainError, type AssetSpec, type ChainAdapter, type ChainClient, type PlanOutcome, type TransactionStatus, type TransferRequest } from '../types.ts';
import { solanaAddressCodec } from './codec.ts';

const sol: AssetSpec = { code: 'SOL', scale: 9, contract: null };
const tokenAccountBytes = 165n;
const systemAccountBytes = 0n;
const base58 = getBase58Decoder();
const base64Text = getBase64Decoder();
const base64Bytes = getBase64Encoder();
const transactionEncoder = getTransactionEncoder();

type Rpc = ReturnType<typeof createSolanaRpc>;

async function associatedTokenAccount(owner: string, mint: string): Promise<Address> {
  return (await findAssociatedTokenPda({ owner: owner as Address, mint: mint as Address, tokenProgram: TOKEN_PROGRAM_ADDRESS }))[0];
}

async function tokenAmount(rpc: Rpc, account: Address): Promise<bigint | null> {
  const { value } = await rpc.getAccountInfo(account, { encoding: 'base64', commitment: 'confirmed' }).send();
  if (!value) return null;
  return getTokenDecoder().decode(base64Bytes.encode(value.data[0])).amount;
}

function solanaClient(rpcUrl: string, feePayer: () => Promise<string>, feePayerKey: string): ChainClient {
  const rpc = createSolanaRpc(rpcUrl);

  async function plan(request: TransferRequest, amount: bigint, instructions: (payer: Address) => Instruction[], rentPaid: bigint): Promise<PlanOutcome> {
    const payer = (await feePayer()) as Address;
    const { value: latest } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayer(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
      (m) => appendTransactionMessageInstructions(instructions(payer), m),
    );
    const compiled = compileTransaction(message);
    const messageBase64 = base64Text.decode(compiled.messageBytes);
    const { value: fee } = await rpc.getFeeForMessage(messageBase64 as TransactionMessageBytesBase64, { commitment: 'confirmed' }).send();
    if (fee === null) throw new ChainError('blockhash_expired', 'the node no longer knows the blockhash it just gave; plan again');
    const { value: payerLamports } = await rpc.getBalance(payer, { commitment: 'confirmed' }).send();
    if (payerLamports < fee + rentPaid) {
      throw new ChainError('fee_payer_short', `the Solana fee payer ${payer} holds ${payerLamports} lamports and needs ${fee + rentPaid} (fee ${fee}, rent ${rentPaid}); fund it`);
    }
    const signers = Object.keys(compiled.signatures);
    return {
      status: 'planned',
      unsigned: {
        chain: 'solana',
        amount,
        asset: request.asset,
        feeMax: fee + rentPaid,
        payloads: signers.map((signer) => ({ signer: signer === payer ? { operational: feePayerKey } : { derived: request.from.key }, bytes: new Uint8Array(compiled.messageBytes) })),
        body: { message: messageBase64, signers: signers.join(','), feePayer: payer, blockhash: latest.blockhash, lastValidBlockHeight: Number(latest.lastValidBlockHeight) },
      },
    };
  }

  return {
    async balance(address, asset) {
      if (!asset.contract) return (await rpc.getBalance(address as Address, { commitment: 'confirmed' }).send()).value;
      return (await tokenAmount(rpc, await associatedTokenAccount(address, asset.contract))) ?? 0n;
    },

    async planTransfer(request) {
      const from = request.from.address as Address;
      const to = request.to as Address;
      const deposit = createNoopSigner(from);
      const cap = (held: bigint) => (typeof request.amount === 'bigint' ? request.amount : request.amount.cap !== undefined && request.amount.cap < held ? request.amount.cap : held);

      if (!request.asset.contract) {
        const { value: held } = await rpc.getBalance(from, { commitment: 'confirmed' }).send();
        let amount = cap(held);
        // What stays must be nothing or rent-exempt: an account between the two is refused.
        const rentExempt = await rpc.getMinimumBalanceForRentExemption(systemAccountBytes).send();
        if (held - amount > 0n && held - amount < rentExempt) amount = held - rentExempt;
        if (amount <= 0n) return { status: 'not_worth_it', reason: `${from} holds ${held} lamports; nothing can leave it` };
        if (amount > held) throw new ChainError('insufficient_balance', `${from} holds ${held} lamports, not ${amount}`);
        return plan(request, amount, () => [getTransferSolInstruction({ source: deposit, destination: to, amount })], 0n);
      }

      const mint = request.asset.contract as Address;
      const source = await associatedTokenAccount(from, mint);
      const held = (await tokenAmount(rpc, source)) ?? 0n;
      const amount = cap(held);
      if (amount <= 0n) return { status: 'not_worth_it', reason: `${from} holds none of ${request.asset.code} on chain` };
      if (amount > held) throw new ChainError('insufficient_balance', `${from} holds ${held} of ${request.asset.code}, not ${amount}`);
      const destination = await associatedTokenAccount(to, mint);
      const treasuryAccount = await rpc.getAccountInfo(destination, { encoding: 'base64', commitment: 'confirmed' }).send();
      const rentPaid = treasuryAccount.value ? 0n : await rpc.getMinimumBalanceForRentExemption(tokenAccountBytes).send();
      return plan(
        request,
        amount,
        (payer) => [
          getCreateAssociatedTokenIdempotentInstruction({ payer: createNoopSigner(payer), ata: destination, owner: to, mint }),
          getTransferCheckedInstruction({ source, mint, destination, authority: deposit, amount, decimals: request.asset.scale }),
          // Emptied, the deposit's token account is closed and its rent goes back to the fee payer.
          ...(amount === held ? [getCloseAccountInstruction({ account: source, destination: payer, owner: deposit })] : []),
        ],
        rentPaid,
      );
    },

    async broadcast(signed) {
      const id = toSignature(signed.id);
      const known = async () => (await rpc.getSignatureStatuses([id], { searchTransactionHistory: true }).send()).value[0] !== null;
      if (await known()) return { status: 'sent' };
      const wire = Buffer.from(signed.raw, 'hex');
      const blockhash = compiledBlockhash(wire);
      // Re-signing is safe only once this transaction can never land: its blockhash has expired
      // (checked first) and it is not on the chain (checked after).
      const { value: valid } = await rpc.isBlockhashValid(toBlockhash(blockhash), { commitment: 'processed' }).send();
      if (!valid) return (await known()) ? { status: 'sent' } : { status: 'refused', message: `blockhash ${blockhash} expired before the transaction landed; plan and sign again` };
      try {
        await rpc.sendTransaction(wire.toString('base64') as Base64EncodedWireTransaction, { encoding: 'base64', preflightCommitment: 'confirmed' }).send();
        return { status: 'sent' };
      } catch (error) {
        if (await known()) return { status: 'sent' };
        return { status: 'refused', message: (error as Error).message };
      }
    },

    async status(id): Promise<TransactionStatus> {
      const { value } = await rpc.getSignatureStatuses([toSignature(id)], { searchTransactionHistory: true }).send();
      const found = value[0];
      if (!found) return { status: 'unknown' };
      if (found.confirmationStatus === 'processed') return { status: 'mempool' };
      const landed = await rpc.getTransaction(toSignature(id), { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 }).send();
      if (!landed?.meta) return { status: 'mempool' };
      const { fee, preBalances, postBalances, err } = landed.meta;
      return {
        status: 'included',
        height: landed.slot,
        confirmations: found.confirmationStatus === 'finalized' ? 1 : 0,
        success: err === null,
        fee,
        // The fee payer is account 0: what it got back beyond paying the fee is rent.
        rentReclaimed: postBalances[0]! - preBalances[0]! + fee,
      };
    },
  };
}

/** The recent blockhash of a wire transaction (after the signatures, the message's header and keys). */
function compiledBlockhash(wire: Uint8Array): string {
  const compact = (at: number): [number, number] => {
    let value = 0;
    for (let shift = 0, index = at; ; shift += 7, index += 1) {
      const byte = wire[index]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return [value, index + 1];
    }
  };
  const [signatureCount, afterCount] = compact(0);
  let at = afterCount + signatureCount * 64;
  if ((wire[at]! & 0x80) !== 0) at += 1; // versioned message prefix
  at += 3; // header
  const [keyCount, afterKeys] = compact(at);
  at = afterKeys + keyCount * 32;
  return base58.decode(wire.subarray(at, at + 32));
}

export function solanaAdapter(options: { feePayer?: () => Promise<string>; feePayerKey?: string } = {}): ChainAdapter {
  const feePayer = options.feePayer ?? (() => Promise.reject(new ChainError('no_operational_key', 'no Solana fee payer is configured (SOLANA_FEE_PAYER_KEY in the keystore)')));
  return {
    chain: 'solana',
    nativeAsset: sol,
    feeAsset: sol,
    curve: 'ed25519',
    address: solanaAddressCodec,
    finality: { kind: 'finalized-commitment' },
    connect: ({ rpcUrl }) => solanaClient(rpcUrl, feePayer, options.feePayerKey ?? 'solana-fee-payer'),
    assemble(unsigned, signatures: Signature[]) {
      const signers = String(unsigned.body.signers).split(',');
      if (signatures.length !== signers.length) throw new ChainError('wrong_signature_count', `this Solana transaction takes ${signers.length} signatures, got ${signatures.length}`);
      const bytes = signatures.map((signature) => {
        if (signature.curve !== 'ed25519') throw new ChainError('wrong_curve', 'Solana signatures are ed25519');
        return signature.signature as SignatureBytes;
      });
      const messageBytes = base64Bytes.encode(String(unsigned.body.message));
      const wire = transactionEncoder.encode({ messageBytes: messageBytes as never, signatures: Object.fromEntries(signers.map((signer, index) => [signer, bytes[index]!])) });
      return { id: base58.decode(bytes[0]!), raw: Buffer.from(wire).toString('hex') };
    },
  };
}
