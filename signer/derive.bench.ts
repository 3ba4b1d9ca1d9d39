// `coffer bench derive`: derivations per second for each curve, nothing cached between
// iterations (each one parses the root, hashes the tweak and does the point arithmetic), against
// the tweak's SHA3 alone as the same-run baseline.
import type { BenchResult } from '../bench/index.ts';
import { bitcoinP2wpkhAddress, derivePublicKey, deriveTweak, ethereumAddress, rootKeys, solanaAddress } from './index.ts';

function rate(iterations: number, work: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < iterations; i += 1) work(i);
  return Math.round(iterations / ((performance.now() - started) / 1000));
}

export function deriveBench(options: { quick: boolean; progress: (line: string) => void }): BenchResult {
  const iterations = options.quick ? 200 : 5_000;
  options.progress(`${iterations} derivations per case`);
  const tweak = rate(iterations * 10, (i) => deriveTweak('bench.testnet', `path-${i}`));
  const key = (curve: 'secp256k1' | 'ed25519', path: string) => derivePublicKey({ root: rootKeys.testnet[curve], predecessor: 'bench.testnet', path }).publicKey;
  const ethereum = rate(iterations, (i) => ethereumAddress(key('secp256k1', `ethereum-${i}`)));
  const bitcoin = rate(iterations, (i) => bitcoinP2wpkhAddress(key('secp256k1', `bitcoin-${i}`), 'testnet'));
  const solana = rate(iterations, (i) => solanaAddress(key('ed25519', `solana-${i}`)));
  return {
    bench: 'derive',
    metrics: {
      tweak: { perSec: tweak },
      secp256k1_ethereum: { perSec: ethereum },
      secp256k1_bitcoin: { perSec: bitcoin },
      ed25519_solana: { perSec: solana },
    },
    ratios: {
      secp256k1_vs_tweak: Math.round((ethereum / tweak) * 1000) / 1000,
      ed25519_vs_tweak: Math.round((solana / tweak) * 1000) / 1000,
    },
  };
}
