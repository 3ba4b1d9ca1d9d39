// The adapter's blockhash rule against the devnet: a signed sweep whose blockhash expired before
// it landed is refused (the caller re-plans and re-signs); one that landed is `sent` however old.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockhashLifetimeBlocks, startSolanaDevnet, type SolanaDevnet } from '../../devnets/solana/index.ts';
import { solanaWallet } from '../../testing/solana-wallet.ts';
import { ChainSignaturesEmulator, EmulatorSigner, Keystore } from '../../signer/index.ts';
import { deriveAddress } from '../deposit-address.ts';
import { signTransfer } from '../transfers.ts';
import { solanaAdapter } from './adapter.ts';
import { solanaAddressCodec } from './codec.ts';
import { keystoreFeePayer } from './fee-payer.ts';

const emulator = new ChainSignaturesEmulator({ secp256k1: 1n, ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen });
let devnet: SolanaDevnet;
let directory: string;

before(async () => {
  devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
  directory = await mkdtemp(join(tmpdir(), 'coffer-solana-adapter-'));
});
after(async () => {
  await devnet?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

test('an expired blockhash is refused only when the transaction did not land', async () => {
  const keystore = new Keystore({ directory, passphrase: 'adapter-test-passphrase', kdf: { m: 256, t: 1, p: 1 } });
  const feePayer = keystoreFeePayer(keystore, 'solana-fee-payer');
  await keystore.create('solana-fee-payer', 'ed25519');
  const wallet = await solanaWallet(devnet);
  const key = { predecessor: 'adapter.testnet', path: 'solana-1', curve: 'ed25519' as const };
  const from = deriveAddress({ chain: 'solana', network: 'testnet', predecessor: key.predecessor, path: key.path, root: emulator.rootKey('ed25519') }).address;
  await wallet.sendSol(await feePayer.address(), 1_000_000_000n);
  await wallet.sendSol(from, 300_000_000n);
  devnet.produceSlots(1);
  const adapter = solanaAdapter({ feePayer: feePayer.address, feePayerKey: feePayer.name });
  const client = adapter.connect({ rpcUrl: devnet.rpcUrl });
  const sign = async () => {
    const outcome = await client.planTransfer({ from: { address: from, key }, to: solanaAddressCodec.fromPublicKey(randomBytes(32)), asset: adapter.nativeAsset, amount: { all: true } });
    assert.equal(outcome.status, 'planned');
    return signTransfer({ adapter, unsigned: (outcome).unsigned, signer: new EmulatorSigner(emulator), operational: feePayer.sign });
  };

  const stale = await sign();
  devnet.produceSlots(blockhashLifetimeBlocks + 2);
  const refused = await client.broadcast(stale);
  assert.equal(refused.status, 'refused');
  assert.match(refused.status === 'refused' ? refused.message : '', /expired/);
  assert.deepEqual(await client.status(stale.id), { status: 'unknown' });

  const fresh = await sign();
  assert.deepEqual(await client.broadcast(fresh), { status: 'sent' });
  devnet.produceSlots(blockhashLifetimeBlocks + 2);
  assert.deepEqual(await client.broadcast(fresh), { status: 'sent' }, 'landed, so never refused');
  const landed = await client.status(fresh.id);
  assert.equal(landed.status === 'included' && landed.success && landed.confirmations, 1);
  assert.equal(await client.balance(from, adapter.nativeAsset), 0n, 'a system account may go to 0');
});
