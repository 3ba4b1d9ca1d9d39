// Bitcoin behind the chain seam (ADR 0008): P2WPKH deposit addresses, consolidation
// transactions whose inputs are each signed through the Signer (a BIP143 digest per input),
// broadcast that counts only once the node holds the transaction, and status by block depth.
//
// A Bitcoin node has no address index (Core without -txindex/scantxoutset, bcoin without
// --index-address), and coffer already knows every deposit UTXO from its own ledger. So custody
// leaves through `planConsolidation` with the UTXOs named by the caller (sweeps/consolidation.ts),
// not through the account-style `planTransfer`/`balance`, which refuse with a ChainError.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Signature } from '../../signer/index.ts';
import { ChainError, InvalidAddressError, type AddressCodec, type AssetSpec, type ChainAdapter, type ChainClient, type TransactionStatus, type UnsignedTransaction } from '../types.ts';
import { addressToScript, bip21Uri, BitcoinAddressError, bitcoinNetworks, p2wpkhAddress, type BitcoinNetwork } from './address.ts';
import { broadcastTransaction, BitcoinBroadcastError } from './broadcast.ts';
import { assembleConsolidation, BitcoinTransactionError, consolidationDigests, planConsolidation, type ConsolidationPlan, type P2wpkhUtxo, type UneconomicUtxo } from './consolidation.ts';
import { chooseFeeRate, type FeeRatePolicy } from './fee.ts';
import { createBitcoinRpc, isNotFound, type BitcoinRpc } from './rpc.ts';

export const bitcoinAsset: AssetSpec = { code: 'BTC', scale: 8, contract: null };
const halfOrder = secp256k1.Point.Fn.ORDER >> 1n;

export interface BitcoinAdapterOptions {
  network: BitcoinNetwork;
  finalityDepth: number;
  feePolicy: FeeRatePolicy;
}

/** A deposit UTXO to spend, with the derived key that controls its address. */
export interface ConsolidationInput extends P2wpkhUtxo {
  key: { predecessor: string; path: string };
}

export type ConsolidationOutcome =
  | { status: 'planned'; unsigned: UnsignedTransaction; inputs: ConsolidationInput[]; uneconomic: UneconomicUtxo[]; deferred: P2wpkhUtxo[] }
  | { status: 'not_worth_it'; reason: string; uneconomic: UneconomicUtxo[] };

export interface BitcoinChainClient extends ChainClient {
  /** Every economic UTXO (up to the input bound) into `to`, less the fee at the node's rate. */
  planConsolidation(request: { inputs: ConsolidationInput[]; to: string }): Promise<ConsolidationOutcome>;
}

export function bitcoinAddressCodec(network: BitcoinNetwork): AddressCodec {
  const script = (text: string) => {
    try {
      return addressToScript({ address: text, network });
    } catch (error) {
      if (error instanceof BitcoinAddressError) throw new InvalidAddressError(`"${text.slice(0, 90)}" is not a ${network} address: ${error.message}`);
      throw error;
    }
  };
  return {
    fromPublicKey: (publicKey, addressNetwork) =>
      p2wpkhAddress({ publicKey: publicKey.length === 65 ? secp256k1.Point.fromBytes(publicKey).toBytes(true) : publicKey, network: addressNetwork === undefined ? network : knownNetwork(addressNetwork) }),
    isValid(text) {
      try {
        script(text);
        return true;
      } catch {
        return false;
      }
    },
    // Bech32 is case-insensitive and shown lower case; base58 is case-sensitive and kept as is.
    canonical(text) {
      script(text);
      const lower = text.toLowerCase();
      return lower.startsWith(`${bitcoinNetworks[network].hrp}1`) ? lower : text;
    },
    paymentUri: ({ address, amount }) => bip21Uri({ address, ...(amount !== undefined ? { amountSat: amount } : {}) }),
  };
}

function knownNetwork(name: string): BitcoinNetwork {
  if (!Object.hasOwn(bitcoinNetworks, name)) throw new ChainError('unknown_network', `Bitcoin has no network "${name.slice(0, 40)}" (one of ${Object.keys(bitcoinNetworks).join(', ')})`);
  return name as BitcoinNetwork;
}

function planOf(unsigned: Pick<UnsignedTransaction, 'body'>): ConsolidationPlan {
  const body = unsigned.body;
  const inputs = (JSON.parse(String(body.inputs)) as { txid: string; vout: number; valueSat: string; publicKey: string }[]).map((input) => ({
    txid: input.txid,
    vout: input.vout,
    valueSat: BigInt(input.valueSat),
    publicKey: Uint8Array.from(Buffer.from(input.publicKey, 'hex')),
  }));
  return {
    inputs,
    outputs: [],
    feeSat: BigInt(String(body.feeSat)),
    feeRateSatKvb: BigInt(String(body.feeRateSatKvb)),
    vsizeEstimate: Number(body.vsizeEstimate),
    uneconomic: [],
    deferred: [],
    unsignedHex: String(body.unsignedHex),
  };
}

/** The signer's (r, s) as low-s compact bytes: (r, n − s) is the same signature, and relay policy accepts only low s. */
function lowS(signature: Signature): Uint8Array {
  if (signature.curve !== 'secp256k1') throw new ChainError('wrong_curve', 'a Bitcoin input is signed with secp256k1');
  const s = signature.s > halfOrder ? secp256k1.Point.Fn.ORDER - signature.s : signature.s;
  return new secp256k1.Signature(signature.r, s).toBytes('compact');
}

function bitcoinClient(rpc: BitcoinRpc, options: BitcoinAdapterOptions): BitcoinChainClient {
  return {
    balance: () => Promise.reject(new ChainError('no_address_index', 'a Bitcoin node keeps no balance per address; the ledger knows each deposit UTXO')),
    planTransfer: () => Promise.reject(new ChainError('consolidation_only', 'Bitcoin custody leaves through consolidation (planConsolidation), with the UTXOs the ledger knows')),

    async planConsolidation({ inputs, to }) {
      const rate = await chooseFeeRate({ rpc, policy: options.feePolicy });
      const sweepToScript = addressToScript({ address: to, network: options.network });
      let plan: ConsolidationPlan;
      try {
        plan = planConsolidation({ utxos: inputs, sweepToScript, feeRateSatKvb: rate.feeRateSatKvb });
      } catch (error) {
        // Only "not worth it at this rate" waits for a lower rate; malformed inputs are a bug to surface.
        if (!(error instanceof BitcoinTransactionError && error.code === 'uneconomic')) throw error;
        const uneconomic = inputs.map((utxo) => ({ utxo, inputFeeSat: 0n }));
        return { status: 'not_worth_it', reason: `${error.message} (fee rate ${rate.feeRateSatKvb} sat/kvB, ${rate.source})`, uneconomic };
      }
      const byOutpoint = new Map(inputs.map((input) => [`${input.txid}:${input.vout}`, input]));
      const spent = plan.inputs.map((utxo) => byOutpoint.get(`${utxo.txid}:${utxo.vout}`)!);
      const unsigned: UnsignedTransaction = {
        chain: 'bitcoin',
        amount: plan.outputs[0]!.valueSat,
        asset: bitcoinAsset,
        feeMax: plan.feeSat,
        payloads: consolidationDigests(plan).map(({ inputIndex, digest }) => ({ signer: { derived: { ...spent[inputIndex]!.key, curve: 'secp256k1' as const } }, bytes: digest })),
        body: {
          unsignedHex: plan.unsignedHex,
          inputs: JSON.stringify(plan.inputs.map((utxo) => ({ txid: utxo.txid, vout: utxo.vout, valueSat: utxo.valueSat.toString(), publicKey: Buffer.from(utxo.publicKey).toString('hex') }))),
          feeSat: plan.feeSat.toString(),
          feeRateSatKvb: plan.feeRateSatKvb.toString(),
          feeRateSource: rate.source,
          vsizeEstimate: plan.vsizeEstimate,
        },
      };
      return { status: 'planned', unsigned, inputs: spent, uneconomic: plan.uneconomic, deferred: plan.deferred };
    },

    async broadcast(signed) {
      try {
        await broadcastTransaction({ rpc, hex: signed.raw, txid: signed.id });
        return { status: 'sent' };
      } catch (error) {
        if (!(error instanceof BitcoinBroadcastError)) throw error;
        // "Not in the mempool" may mean already mined: a stored transaction the chain has is sent.
        if ((await this.status(signed.id)).status === 'included') return { status: 'sent' };
        return { status: 'refused', message: error.message };
      }
    },

    async status(id): Promise<TransactionStatus> {
      if (await rpc.getMempoolEntry(id)) return { status: 'mempool' };
      let found: { blockhash?: string } | null;
      try {
        found = await rpc.call<{ blockhash?: string }>('getrawtransaction', [id, true]);
      } catch (error) {
        if (isNotFound(error)) return { status: 'unknown' };
        throw error;
      }
      if (!found?.blockhash) return { status: 'unknown' };
      // A node may keep serving a stale block's transaction: it counts only on the active chain.
      const header = await rpc.getBlockHeader(found.blockhash);
      if ((await rpc.getBlockHash(header.height).catch(() => null)) !== found.blockhash) return { status: 'unknown' };
      const tip = await rpc.getBlockCount();
      // The fee is the caller's to know (inputs − outputs of the transaction it stored).
      return { status: 'included', height: BigInt(header.height), confirmations: tip - header.height + 1, success: true, fee: 0n };
    },
  };
}

/** An adapter whose client can spend named UTXOs in one consolidation. */
export interface UtxoChainAdapter extends ChainAdapter {
  connect(settings: { rpcUrl: string }): BitcoinChainClient;
}

export function bitcoinAdapter(options: BitcoinAdapterOptions): UtxoChainAdapter {
  return {
    chain: 'bitcoin',
    nativeAsset: bitcoinAsset,
    feeAsset: bitcoinAsset,
    curve: 'secp256k1',
    address: bitcoinAddressCodec(options.network),
    finality: { kind: 'depth', blocks: options.finalityDepth },
    connect: ({ rpcUrl }) => bitcoinClient(createBitcoinRpc({ url: rpcUrl }), options),
    assemble(unsigned, signatures) {
      const signed = assembleConsolidation({ plan: planOf(unsigned), signatures: signatures.map(lowS) });
      return { id: signed.txid, raw: signed.hex };
    },
  };
}
