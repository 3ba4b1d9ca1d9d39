// Throughput of the Solana devnet: slots closed per second (empty, and carrying one transfer
// each), and transfers per second through sendTransaction over HTTP (signed beforehand, so the
// number is the devnet's, not the signer's). Run: node devnets/solana/devnet.bench.ts
import { getBase58Encoder, getBase64EncodedWireTransaction, createKeyPairSignerFromBytes, generateKeyPairSigner, lamports, pipe, createTransactionMessage, setTransactionMessageFeePayerSigner, setTransactionMessageLifetimeUsingBlockhash, appendTransactionMessageInstruction, signTransactionMessageWithSigners, blockhash } from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { startSolanaDevnet } from './index.ts';

const emptySlots = 2_000;
const transfers = 2_000;
const concurrency = 8;

const devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
try {
  const faucet = await createKeyPairSignerFromBytes(getBase58Encoder().encode(devnet.faucet.secretKey));
  let started = performance.now();
  devnet.produceSlots(emptySlots);
  const emptySlotsPerSecond = emptySlots / ((performance.now() - started) / 1000);

  async function signedTransfers(count: number): Promise<string[]> {
    const { blockhash: hash, lastValidBlockHeight } = devnet.chain.latestBlockhash('processed');
    const lifetime = { blockhash: blockhash(hash), lastValidBlockHeight: BigInt(lastValidBlockHeight) };
    const wires: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const to = await generateKeyPairSigner();
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(faucet, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
        (m) => appendTransactionMessageInstruction(getTransferSolInstruction({ source: faucet, destination: to.address, amount: lamports(1_000_000n) }), m),
      );
      wires.push(getBase64EncodedWireTransaction(await signTransactionMessageWithSigners(message)));
    }
    return wires;
  }

  async function send(wire: string): Promise<void> {
    const response = await fetch(devnet.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sendTransaction', params: [wire, { encoding: 'base64' }] }),
    });
    const body = (await response.json()) as { error?: { message: string } };
    if (body.error) throw new Error(body.error.message);
  }

  const oneEach = await signedTransfers(emptySlots / 4);
  started = performance.now();
  for (const wire of oneEach) {
    devnet.chain.submit(Buffer.from(wire, 'base64'), { skipPreflight: true });
    devnet.produceSlots(1);
  }
  const busySlotsPerSecond = oneEach.length / ((performance.now() - started) / 1000);

  const wires = await signedTransfers(transfers);
  started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < wires.length) await send(wires[next++] as string);
    }),
  );
  const transfersPerSecond = transfers / ((performance.now() - started) / 1000);
  devnet.produceSlots(1);
  console.log(
    JSON.stringify({
      emptySlotsPerSecond: Math.round(emptySlotsPerSecond),
      slotsWithOneTransferPerSecond: Math.round(busySlotsPerSecond),
      sendTransactionPerSecondOverHttp: Math.round(transfersPerSecond),
      transfersInOneSlot: transfers,
      concurrency,
    }),
  );
} finally {
  await devnet.stop();
}
