// The devnet through @solana/web3.js v1's Connection, which checks every response's shape strictly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  SystemProgram,
  Transaction,
  type VersionedAccountsModeBlockResponse,
  type VersionedNoneModeBlockResponse,
} from '@solana/web3.js';
import { startSolanaDevnet, type SolanaDevnet } from './index.ts';

describe('the Solana devnet through @solana/web3.js v1', () => {
  let devnet: SolanaDevnet;
  let connection: Connection;
  before(async () => {
    devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
    connection = new Connection(devnet.rpcUrl, 'confirmed');
  });
  after(() => devnet.stop());

  async function transfer(from: Keypair, to: Keypair, lamports: number, options: { skipPreflight?: boolean; blockhash?: string } = {}) {
    const transaction = new Transaction().add(SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to.publicKey, lamports }));
    transaction.recentBlockhash = options.blockhash ?? (await connection.getLatestBlockhash()).blockhash;
    transaction.feePayer = from.publicKey;
    transaction.sign(from);
    return connection.sendRawTransaction(transaction.serialize(), { skipPreflight: options.skipPreflight ?? false });
  }

  async function statusOf(signature: string) {
    return (await connection.getSignatureStatuses([signature])).value[0];
  }

  test('airdrop, a SOL transfer, and the transfer seen through getTransaction and every getBlock form', async () => {
    const alice = Keypair.generate();
    const bob = Keypair.generate();
    const airdrop = await connection.requestAirdrop(alice.publicKey, 2 * LAMPORTS_PER_SOL);
    assert.equal((await statusOf(airdrop))?.confirmationStatus, 'processed');
    devnet.produceSlots(1);
    assert.equal(await connection.getBalance(alice.publicKey), 2 * LAMPORTS_PER_SOL);

    const signature = await transfer(alice, bob, 1_000_000_000);
    const slot = devnet.slot();
    assert.equal(await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 }), null, 'a processed transaction is not visible at confirmed');
    assert.equal(await connection.getBalance(bob.publicKey, 'processed'), 1_000_000_000);
    assert.equal(await connection.getBalance(bob.publicKey, 'confirmed'), 0, 'the confirmed bank does not have the open slot yet');
    assert.equal(await connection.getBalance(alice.publicKey, 'confirmed'), 2 * LAMPORTS_PER_SOL);
    devnet.produceSlots(1);
    assert.equal(await connection.getBalance(bob.publicKey), 1_000_000_000);
    assert.equal(await connection.getBalance(alice.publicKey), LAMPORTS_PER_SOL - 5_000);

    const landed = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
    assert.ok(landed?.meta);
    assert.equal(landed.slot, slot);
    assert.equal(landed.meta.fee, 5_000);
    assert.equal(landed.meta.err, null);
    const keys = landed.transaction.message.staticAccountKeys.map((key) => key.toBase58());
    const [aliceIndex, bobIndex] = [keys.indexOf(alice.publicKey.toBase58()), keys.indexOf(bob.publicKey.toBase58())];
    assert.equal(landed.meta.preBalances[aliceIndex], 2 * LAMPORTS_PER_SOL);
    assert.equal(landed.meta.postBalances[aliceIndex], LAMPORTS_PER_SOL - 5_000);
    assert.equal(landed.meta.preBalances[bobIndex], 0);
    assert.equal(landed.meta.postBalances[bobIndex], 1_000_000_000);

    const full = await connection.getBlock(slot, { maxSupportedTransactionVersion: 0, rewards: false, commitment: 'confirmed', transactionDetails: 'full' });
    assert.deepEqual(full?.transactions.map((entry) => entry.transaction.signatures[0]), [signature]);
    assert.deepEqual(full?.transactions[0]?.meta?.postBalances, landed.meta.postBalances);
    // web3.js's typings pick its general overload before the per-mode ones, hence the casts.
    const accounts = (await connection.getBlock(slot, {
      maxSupportedTransactionVersion: 0,
      rewards: false,
      commitment: 'confirmed',
      transactionDetails: 'accounts',
    })) as VersionedAccountsModeBlockResponse | null;
    const annotated = accounts?.transactions[0]?.transaction.accountKeys;
    assert.deepEqual(annotated?.map((key) => [key.pubkey.toBase58(), key.signer, key.writable]), [
      [alice.publicKey.toBase58(), true, true],
      [bob.publicKey.toBase58(), false, true],
      [SystemProgram.programId.toBase58(), false, false],
    ]);
    assert.deepEqual(accounts?.transactions[0]?.meta?.preBalances, landed.meta.preBalances);
    // web3.js v1 asks for the signatures form through getBlockSignatures (its getBlock has no such overload).
    const signatures = await connection.getBlockSignatures(slot, 'confirmed');
    assert.deepEqual(signatures.signatures, [signature]);
    const none = (await connection.getBlock(slot, {
      maxSupportedTransactionVersion: 0,
      rewards: false,
      commitment: 'confirmed',
      transactionDetails: 'none',
    })) as VersionedNoneModeBlockResponse | null;
    assert.equal(none?.blockhash, full?.blockhash);
    assert.equal(none && 'transactions' in none, false);
    assert.equal(none?.parentSlot, slot - 1);
    const parsed = await connection.getParsedBlock(slot, { maxSupportedTransactionVersion: 0, rewards: false, commitment: 'confirmed', transactionDetails: 'full' });
    assert.equal(parsed.transactions[0]?.meta?.fee, 5_000);

    const history = await connection.getSignaturesForAddress(bob.publicKey, {}, 'confirmed');
    assert.deepEqual(history.map((entry) => [entry.signature, entry.slot, entry.err]), [[signature, slot, null]]);
    assert.deepEqual(await connection.getBlocks(slot - 1, slot, 'confirmed'), [slot - 1, slot]);
  });

  test('a signature status goes processed, then confirmed, then finalized 32 slots later', async () => {
    const alice = Keypair.generate();
    const signature = await connection.requestAirdrop(alice.publicKey, LAMPORTS_PER_SOL);
    const seen: (string | undefined)[] = [(await statusOf(signature))?.confirmationStatus];
    devnet.produceSlots(1);
    const confirmed = await statusOf(signature);
    seen.push(confirmed?.confirmationStatus);
    assert.equal(confirmed?.confirmations, 1);
    devnet.produceSlots(31);
    seen.push((await statusOf(signature))?.confirmationStatus);
    assert.equal(await connection.getBalance(alice.publicKey, 'finalized'), 0, 'not finalized yet: the finalized bank has no airdrop');
    devnet.produceSlots(1);
    const finalized = await statusOf(signature);
    seen.push(finalized?.confirmationStatus);
    assert.equal(finalized?.confirmations, null);
    assert.deepEqual(seen, ['processed', 'confirmed', 'confirmed', 'finalized']);
    assert.equal(await connection.getBalance(alice.publicKey, 'finalized'), LAMPORTS_PER_SOL);
    assert.ok((await connection.getSlot('finalized')) < (await connection.getSlot('confirmed')));
  });

  test('a blockhash expires after 150 blocks, and a transaction using it is refused', async () => {
    const alice = Keypair.generate();
    const bob = Keypair.generate();
    await connection.requestAirdrop(alice.publicKey, LAMPORTS_PER_SOL);
    const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
    devnet.produceSlots(1);
    assert.equal((await connection.isBlockhashValid(blockhash)).value, true);
    devnet.produceSlots(lastValidBlockHeight - (await connection.getBlockHeight('processed')));
    assert.equal((await connection.isBlockhashValid(blockhash)).value, true, 'still valid at lastValidBlockHeight');
    devnet.produceSlots(1);
    assert.equal((await connection.isBlockhashValid(blockhash)).value, false);
    await assert.rejects(transfer(alice, bob, 1_000_000_000, { blockhash }), /Blockhash not found|BlockhashNotFound/);
    const dropped = await transfer(alice, bob, 1_000_000_000, { blockhash, skipPreflight: true });
    devnet.produceSlots(1);
    assert.equal(await statusOf(dropped), null, 'a leader drops a transaction whose blockhash expired');
    assert.equal(await connection.getBalance(alice.publicKey), LAMPORTS_PER_SOL);
  });

  test('a dropped slot takes its confirmed transaction with it, and later slots build on its parent', async () => {
    const alice = Keypair.generate();
    const bob = Keypair.generate();
    await connection.requestAirdrop(alice.publicKey, LAMPORTS_PER_SOL);
    devnet.produceSlots(1);
    const signature = await transfer(alice, bob, 500_000_000);
    const slot = devnet.slot();
    devnet.produceSlots(2);
    assert.equal((await statusOf(signature))?.confirmationStatus, 'confirmed');
    assert.equal(await connection.getBalance(bob.publicKey), 500_000_000);

    assert.deepEqual(devnet.dropSlot(slot), [signature]);
    assert.equal(await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 }), null);
    assert.equal(await statusOf(signature), null);
    assert.equal(await connection.getBalance(bob.publicKey, 'processed'), 0);
    assert.equal(await connection.getBalance(alice.publicKey, 'processed'), LAMPORTS_PER_SOL);
    assert.deepEqual(await connection.getSignaturesForAddress(bob.publicKey, {}, 'confirmed'), []);

    const next = devnet.slot();
    devnet.produceSlots(1);
    await assert.rejects(connection.getBlock(slot, { maxSupportedTransactionVersion: 0 , commitment: 'confirmed' }), /skipped/);
    const block = (await connection.getBlock(next, {
      maxSupportedTransactionVersion: 0,
      commitment: 'confirmed',
      transactionDetails: 'none',
    })) as VersionedNoneModeBlockResponse | null;
    assert.equal(block?.parentSlot, slot - 1);
    assert.deepEqual(await connection.getBlocks(slot - 1, next, 'confirmed'), [slot - 1, next]);

    const again = await transfer(alice, bob, 250_000_000);
    devnet.produceSlots(1);
    assert.equal((await statusOf(again))?.err, null);
    assert.equal(await connection.getBalance(bob.publicKey), 250_000_000);
    devnet.produceSlots(32);
    assert.throws(() => devnet.dropSlot(next), /finalized/);
  });
});

describe('the Solana devnet on a slot interval', () => {
  test('closes slots by itself and lands a transaction in the slot it was sent in', async () => {
    const devnet = await startSolanaDevnet({ slotIntervalMs: 20 });
    try {
      const connection = new Connection(devnet.rpcUrl, 'confirmed');
      const alice = Keypair.generate();
      const first = await connection.getSlot('processed');
      const airdrop = await connection.requestAirdrop(alice.publicKey, LAMPORTS_PER_SOL);
      const landedIn = (await connection.getSignatureStatuses([airdrop])).value[0]?.slot;
      const deadlineMs = Date.now() + 5_000;
      while ((await connection.getSlot('confirmed')) < first + 3) {
        if (Date.now() > deadlineMs) assert.fail('waited 5 s for the devnet to close 3 slots at a 20 ms interval');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const landed = await connection.getTransaction(airdrop, { maxSupportedTransactionVersion: 0 });
      assert.ok(landedIn !== undefined && landedIn >= first);
      assert.equal(landed?.slot, landedIn);
      assert.equal(await connection.getBalance(alice.publicKey), LAMPORTS_PER_SOL);
    } finally {
      await devnet.stop();
    }
  });
});
