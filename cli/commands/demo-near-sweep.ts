// The NEAR MVP's sweep for `coffer demo` (seed 004): the user's NEAR key goes into a throwaway
// keystore (as `coffer users import-near-key` puts it), the sweep job moves the account's custody
// to the treasury account, leaving the 0.01 NEAR reserve, and each deposit's history then reads
// deposit → confirmed → credited → sweep.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { accessKeyKind, nearAdapter, sweepReserveYoctoDefault } from '../../chains/index.ts';
import type { NearDevnet } from '../../devnets/index.ts';
import { silentLogger, type Pool } from '../../infra/index.ts';
import { sweepDeposit } from '../../sweeps/index.ts';
import { formatUnits, type LedgerWriter } from '../../ledger/index.ts';
import { ChainSignaturesEmulator, EmulatorSigner, importNearKey, Keystore, keystoreSigner, storedNearPublicKey } from '../../signer/index.ts';

const treasuryId = 'treasury.devnet';
/** The demo keystore lives for a minute and guards a devnet key: a light Argon2id keeps the demo quick. */
const demoKdf = { m: 256, t: 1, p: 1 };

/** Sweeps the deposit; true when it confirmed and the account holds exactly the reserve. */
export async function nearSweepDemo(options: { pool: Pool; writer: LedgerWriter; devnet: NearDevnet; accountId: string; privateKey: string; depositEntryId: bigint; say: (line: string) => void }): Promise<boolean> {
  const { devnet, accountId, say } = options;
  const provider = new JsonRpcProvider({ url: devnet.rpcUrl });
  const faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
  await faucet.createAccount({ newAccountId: treasuryId, publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('1') });
  const directory = await mkdtemp(join(tmpdir(), 'coffer-demo-near-'));
  try {
    const keystore = new Keystore({ directory, passphrase: 'coffer demo near keystore', kdf: demoKdf });
    const imported = await importNearKey({ keystore, accountId, privateKey: options.privateKey, accessKeyKind: (a, p) => accessKeyKind(devnet.rpcUrl, a, p) });
    say(`imported the user's full-access key ${imported.publicKey.slice(0, 20)}… into the keystore (encrypted; never in the database)`);
    const adapter = nearAdapter({ keyOf: (id) => storedNearPublicKey(directory, id), reserveYocto: sweepReserveYoctoDefault });
    const swept = await sweepDeposit(
      {
        pool: options.pool,
        writer: options.writer,
        // A NEAR sweep is signed by the account's own key (`operational`); the derived-key signer is never asked.
        signer: new EmulatorSigner(new ChainSignaturesEmulator({ secp256k1: 1n, ed25519: 1n })),
        operational: keystoreSigner(keystore),
        chains: new Map([['near', { adapter, rpcUrl: devnet.rpcUrl, treasury: treasuryId, confirmations: 1, trackTimeoutMs: 30_000, pollIntervalMs: 100 }]]),
        logger: silentLogger,
      },
      options.depositEntryId,
    );
    const left = BigInt((await provider.viewAccount({ accountId, blockQuery: { finality: 'final' } })).amount);
    if (swept.status !== 'confirmed') {
      say(`NEAR sweep: ${swept.status} (${swept.reason})`);
      return false;
    }
    say(`swept ${formatUnits(swept.amount, 24)} NEAR to ${treasuryId} (fee ${formatUnits(swept.fee, 24)} NEAR, tx ${swept.txHash.slice(0, 10)}…); the account keeps ${formatUnits(left, 24)} NEAR`);
    return left === sweepReserveYoctoDefault;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
