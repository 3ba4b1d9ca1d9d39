// `coffer derive`: the deposit address of (predecessor, path) on a chain, offline.
import { derivedChains, deriveAddress } from '../../chains/index.ts';
import { DerivationError, type BitcoinNetwork } from '../../signer/index.ts';
import { parse, printJson } from './index.ts';

export function derive(args: string[]): Promise<number> {
  const { values } = parse(args, {
    predecessor: { type: 'string' },
    path: { type: 'string' },
    chain: { type: 'string' },
    network: { type: 'string', default: 'testnet' },
    root: { type: 'string' },
    'bitcoin-network': { type: 'string' },
  });
  if (!values.chain || !derivedChains.includes(values.chain)) throw new DerivationError('invalid_chain', `--chain must be one of ${derivedChains.join(', ')}`);
  if (values.network !== 'mainnet' && values.network !== 'testnet') throw new DerivationError('invalid_option', '--network must be mainnet or testnet');
  if (!values.predecessor) throw new DerivationError('invalid_option', '--predecessor (the NEAR account that calls the signer contract) is required');
  if (values.path === undefined) throw new DerivationError('invalid_option', '--path is required (for example ethereum-1)');
  const bitcoinNetwork = values['bitcoin-network'];
  if (bitcoinNetwork !== undefined && !['mainnet', 'testnet', 'regtest'].includes(bitcoinNetwork)) {
    throw new DerivationError('invalid_option', '--bitcoin-network must be mainnet, testnet or regtest');
  }
  const derived = deriveAddress({
    chain: values.chain,
    network: values.network,
    predecessor: values.predecessor,
    path: values.path,
    ...(values.root ? { root: values.root } : {}),
    ...(bitcoinNetwork ? { bitcoinNetwork: bitcoinNetwork as BitcoinNetwork } : {}),
  });
  // The printed object keeps the shape it was published with (the address network is implied by the address).
  printJson({ chain: derived.chain, network: derived.network, predecessor: derived.predecessor, path: derived.path, publicKey: derived.publicKey, address: derived.address });
  return Promise.resolve(0);
}
