// The EVM chain behind the seam: EIP-1559 transactions of ETH or an ERC-20, signed by a
// secp256k1 key derived for the sender, followed by receipt and depth.
import { encodeFunctionData, erc20Abi, type Address, type Hex, type TransactionSerializableEIP1559 } from 'viem';
import type { Signature } from '../../signer/index.ts';
import { ChainError, type AssetSpec, type ChainAdapter, type ChainClient, type PlanOutcome, type TransferRequest, type UnsignedTransaction } from '../types.ts';
import { evmPublicClient } from './client.ts';
import { evmAddressCodec } from './codec.ts';
import { evmSigningDigest, sealEvmTransaction } from './signing.ts';
import { broadcastStored, evmTransactionStatus } from './transactions.ts';

export const nativeTransferGas = 21_000n;
/** A token transfer's gas estimate is raised by this much (percent) for the state it may find. */
export const tokenGasHeadroomPercent = 120n;
/** Gas kept back by a "send everything" of ETH for each token still to leave the same address. */
export const tokenTransferGasReserve = 80_000n;

const ether: AssetSpec = { code: 'ETH', scale: 18, contract: null };

function unsignedBody(tx: TransactionSerializableEIP1559): UnsignedTransaction['body'] {
  return {
    chainId: tx.chainId,
    nonce: tx.nonce!,
    to: tx.to ?? null,
    value: (tx.value ?? 0n).toString(),
    data: tx.data ?? null,
    gas: tx.gas!.toString(),
    maxFeePerGas: tx.maxFeePerGas!.toString(),
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas!.toString(),
  };
}

/** The transaction an unsigned body describes (the inverse of `unsignedBody`). */
export function evmTransactionOf(unsigned: Pick<UnsignedTransaction, 'body'>): TransactionSerializableEIP1559 {
  const b = unsigned.body;
  return {
    type: 'eip1559',
    chainId: Number(b.chainId),
    nonce: Number(b.nonce),
    to: (b.to ?? undefined) as Address | undefined,
    value: BigInt(String(b.value)),
    ...(b.data ? { data: b.data as Hex } : {}),
    gas: BigInt(String(b.gas)),
    maxFeePerGas: BigInt(String(b.maxFeePerGas)),
    maxPriorityFeePerGas: BigInt(String(b.maxPriorityFeePerGas)),
  };
}

function evmClient(rpcUrl: string): ChainClient {
  const client = evmPublicClient(rpcUrl);
  return {
    async balance(address, asset) {
      if (!asset.contract) return client.getBalance({ address: address as Address });
      return client.readContract({ address: asset.contract as Address, abi: erc20Abi, functionName: 'balanceOf', args: [address as Address] });
    },

    async planTransfer(request: TransferRequest): Promise<PlanOutcome> {
      const from = request.from.address as Address;
      const to = request.to as Address;
      const chainId = await client.getChainId();
      const { maxFeePerGas, maxPriorityFeePerGas } = await client.estimateFeesPerGas();
      const nonce = await client.getTransactionCount({ address: from, blockTag: 'pending' });
      const feeOnChain = await client.getBalance({ address: from });
      const feeFunds = request.feeFundsMax !== undefined && request.feeFundsMax < feeOnChain ? request.feeFundsMax : feeOnChain;
      const wanted = (held: bigint) => (typeof request.amount === 'bigint' ? request.amount : request.amount.cap !== undefined && request.amount.cap < held ? request.amount.cap : held);
      const base = { chain: 'ethereum', asset: request.asset, payloads: [] as UnsignedTransaction['payloads'] };
      const planned = (tx: TransactionSerializableEIP1559, amount: bigint): PlanOutcome => ({
        status: 'planned',
        unsigned: { ...base, amount, feeMax: tx.gas! * maxFeePerGas, payloads: [{ signer: { derived: request.from.key }, bytes: evmSigningDigest(tx) }], body: unsignedBody(tx) },
      });

      if (!request.asset.contract) {
        const reserve = typeof request.amount === 'bigint' ? 0n : BigInt(request.amount.keepFeesForTransfers ?? 0) * tokenTransferGasReserve * maxFeePerGas;
        const fee = nativeTransferGas * maxFeePerGas;
        const held = wanted(feeFunds);
        const amount = typeof request.amount === 'bigint' ? request.amount : held - fee - reserve;
        if (amount <= 0n) return { status: 'not_worth_it', reason: `the ${held} wei held do not cover the gas (${fee + reserve} wei at most)` };
        if (amount + fee > feeFunds) return { status: 'needs_fee_funds', reason: `needs ${amount + fee} wei, holds ${feeFunds}`, shortfall: amount + fee - feeFunds };
        return planned({ type: 'eip1559', chainId, nonce, to, value: amount, gas: nativeTransferGas, maxFeePerGas, maxPriorityFeePerGas }, amount);
      }

      const token = request.asset.contract as Address;
      const onChain = await client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [from] });
      const amount = typeof request.amount === 'bigint' ? request.amount : wanted(onChain);
      if (amount <= 0n) return { status: 'not_worth_it', reason: `the address holds none of ${request.asset.code} on chain` };
      if (amount > onChain) throw new ChainError('insufficient_balance', `${from} holds ${onChain} of ${request.asset.code}, not ${amount}`);
      const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] });
      const gas = ((await client.estimateGas({ account: from, to: token, data })) * tokenGasHeadroomPercent) / 100n;
      const needed = gas * maxFeePerGas;
      if (feeFunds < needed) {
        return { status: 'needs_fee_funds', reason: `needs ${needed} wei of gas, holds ${feeFunds} (on chain ${feeOnChain})`, shortfall: needed - feeFunds };
      }
      return planned({ type: 'eip1559', chainId, nonce, to: token, value: 0n, data, gas, maxFeePerGas, maxPriorityFeePerGas }, amount);
    },

    broadcast: (signed) => broadcastStored(client, signed.raw as Hex, signed.id as Hex),
    status: (id) => evmTransactionStatus(client, id as Hex),
  };
}

export function evmAdapter(options: { chainId?: number; finalityDepth?: number } = {}): ChainAdapter {
  return {
    chain: 'ethereum',
    nativeAsset: ether,
    feeAsset: ether,
    curve: 'secp256k1',
    address: evmAddressCodec(options.chainId ?? 1),
    finality: { kind: 'depth', blocks: options.finalityDepth ?? 12 },
    connect: ({ rpcUrl }) => evmClient(rpcUrl),
    assemble(unsigned, signatures: Signature[]) {
      if (signatures.length !== 1) throw new ChainError('wrong_signature_count', `an EVM transaction takes one signature, got ${signatures.length}`);
      const { raw, hash } = sealEvmTransaction(evmTransactionOf(unsigned), signatures[0]!);
      return { id: hash, raw };
    },
  };
}
