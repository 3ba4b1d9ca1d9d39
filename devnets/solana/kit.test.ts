// The devnet through @solana/kit's RPC client: SPL token (the planted USDC) end to end, fees,
// simulation, and the jsonParsed shapes an indexer reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendTransactionMessageInstructions,
  compileTransaction,
  createSolanaRpc,
  createKeyPairSignerFromBytes,
  createTransactionMessage,
  devnet as testClusterUrl,
  generateKeyPairSigner,
  getBase58Encoder,
  getBase64EncodedWireTransaction,
  getBase64Decoder,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Instruction,
  type KeyPairSigner,
  type RpcDevnet,
  type Signature,
  type TransactionMessageBytesBase64,
  type SolanaRpcApiDevnet,
} from '@solana/kit';
import {
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getMintToCheckedInstruction,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import { startSolanaDevnet, type SolanaDevnet } from './index.ts';

describe('the Solana devnet through @solana/kit', () => {
  let devnet: SolanaDevnet;
  let rpc: RpcDevnet<SolanaRpcApiDevnet>;
  let faucet: KeyPairSigner;
  before(async () => {
    devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
    // kit offers requestAirdrop only on an RPC whose URL is branded a test cluster's.
    rpc = createSolanaRpc(testClusterUrl(devnet.rpcUrl));
    faucet = await createKeyPairSignerFromBytes(getBase58Encoder().encode(devnet.faucet.secretKey));
  });
  after(() => devnet.stop());

  async function message(payer: KeyPairSigner, instructions: Instruction[]) {
    const { value: latest } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    return pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
  }

  async function send(payer: KeyPairSigner, instructions: Instruction[]): Promise<Signature> {
    const signed = await signTransactionMessageWithSigners(await message(payer, instructions));
    return rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: 'base64' }).send();
  }

  test('the faucet is the planted USDC mint authority and describe() gives the CLI line', async () => {
    assert.deepEqual(devnet.describe(), { chain: 'solana', rpcUrl: devnet.rpcUrl, faucet: { secretKey: devnet.faucet.secretKey }, tokens: { USDC: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v' } });
    assert.equal(faucet.address, devnet.faucet.address);
    const { value: mint } = await rpc.getAccountInfo(devnet.tokens.USDC, { encoding: 'jsonParsed' }).send();
    assert.equal(mint?.owner, TOKEN_PROGRAM_ADDRESS);
    assert.deepEqual((mint?.data as { parsed: { info: unknown } }).parsed.info, { decimals: 6, freezeAuthority: null, isInitialized: true, mintAuthority: faucet.address, supply: '0' });
    const web3Style = await fetch(devnet.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getAccountInfo', params: [devnet.tokens.USDC] }),
    });
    const { result } = (await web3Style.json()) as { result: { value: { data: unknown; space: number } } };
    assert.equal(typeof result.value.data, 'string', 'without an encoding, agave answers with legacy bare base58');
    assert.equal(result.value.space, 82);
    assert.equal(await rpc.getHealth().send(), 'ok');
    assert.equal(typeof (await rpc.getVersion().send())['solana-core'], 'string');
    assert.equal(await rpc.getMinimumBalanceForRentExemption(165n).send(), 2_039_280n);
  });

  test('create an associated token account, mint USDC, transfer it; getBlock shows the token balances by owner', async () => {
    const sender = await generateKeyPairSigner();
    const receiver = await generateKeyPairSigner();
    const mint = devnet.tokens.USDC;
    const [senderAta] = await findAssociatedTokenPda({ owner: sender.address, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint });
    const [receiverAta] = await findAssociatedTokenPda({ owner: receiver.address, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint });
    await rpc.requestAirdrop(sender.address, lamports(1_000_000_000n)).send();
    await send(faucet, [
      getCreateAssociatedTokenIdempotentInstruction({ payer: faucet, ata: senderAta, owner: sender.address, mint }),
      getMintToCheckedInstruction({ mint, token: senderAta, mintAuthority: faucet, amount: 25_000_000n, decimals: 6 }),
    ]);
    devnet.produceSlots(1);

    const signature = await send(sender, [
      getCreateAssociatedTokenIdempotentInstruction({ payer: sender, ata: receiverAta, owner: receiver.address, mint }),
      getTransferCheckedInstruction({ source: senderAta, mint, destination: receiverAta, authority: sender, amount: 10_000_000n, decimals: 6 }),
    ]);
    const slot = BigInt(devnet.slot());
    devnet.produceSlots(1);

    const block = await rpc
      .getBlock(slot, { commitment: 'confirmed', encoding: 'jsonParsed', transactionDetails: 'accounts', maxSupportedTransactionVersion: 0, rewards: false })
      .send();
    assert.ok(block);
    const [entry] = block.transactions;
    assert.ok(entry?.meta);
    assert.deepEqual(entry.transaction.signatures, [signature]);
    const keys = entry.transaction.accountKeys.map((key) => key.pubkey);
    const balance = (balances: typeof entry.meta.postTokenBalances) =>
      (balances ?? []).map((item) => [keys[item.accountIndex], item.owner, item.mint, item.programId, item.uiTokenAmount.amount, item.uiTokenAmount.uiAmountString]);
    assert.deepEqual(balance(entry.meta.preTokenBalances), [[senderAta, sender.address, mint, TOKEN_PROGRAM_ADDRESS, '25000000', '25']]);
    assert.deepEqual(
      balance(entry.meta.postTokenBalances).sort(),
      [
        [senderAta, sender.address, mint, TOKEN_PROGRAM_ADDRESS, '15000000', '15'],
        [receiverAta, receiver.address, mint, TOKEN_PROGRAM_ADDRESS, '10000000', '10'],
      ].sort(),
    );
    const senderIndex = keys.indexOf(sender.address);
    const rent = 2_039_280n;
    assert.equal(entry.meta.preBalances[senderIndex], 1_000_000_000n);
    assert.equal(entry.meta.postBalances[senderIndex], 1_000_000_000n - rent - entry.meta.fee);
    assert.equal(entry.meta.fee, 5_000n);

    const full = await rpc.getBlock(slot, { commitment: 'confirmed', maxSupportedTransactionVersion: 0, rewards: true }).send();
    assert.deepEqual(full?.transactions[0]?.transaction.signatures, [signature]);
    assert.deepEqual(full?.transactions[0]?.meta?.postTokenBalances, entry.meta.postTokenBalances);
    assert.deepEqual(full?.rewards, []);
    const encoded = await rpc.getBlock(slot, { commitment: 'confirmed', encoding: 'base64', maxSupportedTransactionVersion: 0 }).send();
    const [wire] = encoded?.transactions[0]?.transaction ?? [];
    assert.equal(typeof wire, 'string');
    const { value: held } = await rpc.getTokenAccountsByOwner(receiver.address, { mint }, { encoding: 'jsonParsed', commitment: 'confirmed' }).send();
    assert.deepEqual(
      held.map((item) => [item.pubkey, item.account.data.parsed.info.tokenAmount.amount]),
      [[receiverAta, '10000000']],
    );
    const { value: viaBase64 } = await rpc.getTokenAccountsByOwner(receiver.address, { programId: TOKEN_PROGRAM_ADDRESS }, { encoding: 'base64', commitment: 'confirmed' }).send();
    assert.equal(viaBase64.length, 1);
    const history = await rpc.getSignaturesForAddress(receiverAta, { commitment: 'confirmed' }).send();
    assert.deepEqual(history.map((item) => item.signature), [signature]);
    const landed = await rpc.getTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0, encoding: 'json' }).send();
    assert.equal(landed?.slot, slot);
    assert.equal(landed?.meta?.err, null);
  });

  test('getFeeForMessage equals the fee charged; simulation and preflight report token errors', async () => {
    const payer = await generateKeyPairSigner();
    const stranger = await generateKeyPairSigner();
    const mint = devnet.tokens.USDC;
    await rpc.requestAirdrop(payer.address, lamports(1_000_000_000n)).send();
    devnet.produceSlots(1);
    const [payerAta] = await findAssociatedTokenPda({ owner: payer.address, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint });
    const [strangerAta] = await findAssociatedTokenPda({ owner: stranger.address, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint });
    const createBoth = [
      getCreateAssociatedTokenIdempotentInstruction({ payer, ata: payerAta, owner: payer.address, mint }),
      getCreateAssociatedTokenIdempotentInstruction({ payer, ata: strangerAta, owner: stranger.address, mint }),
    ];
    const unsigned = compileTransaction(await message(payer, createBoth));
    const { value: quoted } = await rpc.getFeeForMessage(getBase64Decoder().decode(unsigned.messageBytes) as TransactionMessageBytesBase64, { commitment: 'confirmed' }).send();
    const { value: simulated } = await rpc
      .simulateTransaction(getBase64EncodedWireTransaction(unsigned), { encoding: 'base64', sigVerify: false, replaceRecentBlockhash: true })
      .send();
    assert.equal(simulated.err, null);
    assert.ok(simulated.unitsConsumed && simulated.unitsConsumed > 0n);
    assert.ok(simulated.replacementBlockhash);

    const signature = await send(payer, createBoth);
    devnet.produceSlots(1);
    const landed = await rpc.getTransaction(signature, { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 }).send();
    assert.ok(quoted !== null, 'the blockhash is valid, so there is a fee');
    assert.equal(landed?.meta?.fee, quoted);

    const overdraw = [getTransferCheckedInstruction({ source: payerAta, mint, destination: strangerAta, authority: payer, amount: 1n, decimals: 6 })];
    await assert.rejects(send(payer, overdraw), (error: Error & { context?: { __code?: number } }) => {
      assert.equal(error.context?.__code, -32002);
      // kit turns the preflight's err ({InstructionError: [0, {Custom: 1}]}) into the cause: SPL Token's InsufficientFunds.
      assert.deepEqual({ ...(error.cause as { context?: object }).context, __code: undefined }, { __code: undefined, code: 1, index: 0 });
      return true;
    });
    devnet.produceSlots(1);
    const { value: balance } = await rpc.getBalance(payer.address, { commitment: 'confirmed' }).send();
    assert.equal(balance, 1_000_000_000n - 2n * 2_039_280n - quoted, 'a refused transaction pays no fee');
  });
});
