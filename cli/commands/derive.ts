// `coffer derive`: the deposit address of (predecessor, path) on a chain, offline.
import { chains, DerivationError, deriveAddress, type BitcoinNetwork, type Chain } from '../../signer/index.ts';
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
  if (!values.chain || !chains.includes(values.chain as Chain)) throw new DerivationError(`--chain must be one of ${chains.join(', ')}`);
  if (values.network !== 'mainnet' && values.network !== 'testnet') throw new DerivationError('--network must be mainnet or testnet');
  if (!values.predecessor) throw new DerivationError('--predecessor (the NEAR account that calls the signer contract) is required');
  if (values.path === undefined) throw new DerivationError('--path is required (for example ethereum-1)');
  const bitcoinNetwork = values['bitcoin-network'];
  if (bitcoinNetwork !== undefined && !['mainnet', 'testnet', 'regtest'].includes(bitcoinNetwork)) {
    throw new DerivationError('--bitcoin-network must be mainnet, testnet or regtest');
  }
  const derived = deriveAddress({
    chain: values.chain as Chain,
    network: values.network,
    predecessor: values.predecessor,
    path: values.path,
    ...(values.root ? { root: values.root } : {}),
    ...(bitcoinNetwork ? { bitcoinNetwork: bitcoinNetwork as BitcoinNetwork } : {}),
  });
  printJson(derived);
  return Promise.resolve(0);
}
