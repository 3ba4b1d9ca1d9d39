import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicClient, getAddress, http, parseAbi, type Abi } from 'viem';
import { startAnvil } from '../devnets/index.ts';
import { compileContracts, deployContracts, readArtifacts } from './index.ts';

describe('contracts', () => {
  test('the committed artifacts are exactly what the sources compile to', async () => {
    const committed = await readArtifacts();
    const compiled = compileContracts();
    assert.deepEqual(Object.keys(committed).sort(), compiled.map((a) => a.contractName).sort());
    for (const artifact of compiled) {
      assert.equal(committed[artifact.contractName]?.bytecode, artifact.bytecode, `${artifact.contractName}: run npm run contracts:compile and commit`);
      assert.deepEqual(committed[artifact.contractName]?.abi, artifact.abi);
    }
  });

  test('deploy puts every contract on chain, wired to each other', async () => {
    const anvil = await startAnvil();
    try {
      const treasury = anvil.accounts[9]!;
      const deployed = await deployContracts({ rpcUrl: anvil.url, treasury, paymasterSigners: [anvil.accounts[5]!] });
      const client = createPublicClient({ transport: http(anvil.url) });
      const artifacts = await readArtifacts();
      const read = (address: `0x${string}`, name: string, functionName: string, args: unknown[] = []) =>
        client.readContract({ address, abi: artifacts[name]!.abi as Abi, functionName, args });
      for (const address of [deployed.entryPoint, deployed.simpleAccountFactory, deployed.forwarder, deployed.testToken, deployed.paymentGateway, deployed.paymaster, deployed.verifyingPaymaster]) {
        assert.ok(((await client.getCode({ address })) ?? '0x').length > 2, `no code at ${address}`);
      }
      // EntryPoint v0.8 and its account factory where bundlers look for them.
      assert.deepEqual([deployed.entryPoint, deployed.simpleAccountFactory], ['0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108', '0x13E9ed32155810FDbd067D4522C492D6f68E5944']);
      assert.equal(await read(deployed.testToken, 'TestToken', 'decimals'), 6);
      assert.equal(await read(deployed.paymentGateway, 'PaymentGateway', 'isTrustedForwarder', [deployed.forwarder]), true);
      assert.equal(getAddress((await read(deployed.paymentGateway, 'PaymentGateway', 'treasury')) as string), getAddress(treasury));
      assert.equal(((await read(deployed.paymaster, 'CofferPaymaster', 'entryPoint')) as string).toLowerCase(), deployed.entryPoint.toLowerCase());
      const domain = (await read(deployed.forwarder, 'ERC2771Forwarder', 'eip712Domain')) as unknown[];
      assert.equal(domain[1], 'CofferForwarder');
      assert.equal(await read(deployed.verifyingPaymaster, 'CofferVerifyingPaymaster', 'isSigner', [anvil.accounts[5]!]), true);
      assert.equal(await read(deployed.verifyingPaymaster, 'CofferVerifyingPaymaster', 'isSigner', [anvil.accounts[6]!]), false);
      const stake = (await client.readContract({ address: deployed.entryPoint, abi: parseAbi(['function getDepositInfo(address) view returns ((uint256 deposit, bool staked, uint112 stake, uint32 unstakeDelaySec, uint48 withdrawTime))']), functionName: 'getDepositInfo', args: [deployed.verifyingPaymaster] }));
      assert.equal(stake.staked, true, 'the verifying paymaster is staked: it reads its signer set during validation');
      // A second deploy on the same chain keeps the canonical contracts where they are.
      const again = await deployContracts({ rpcUrl: anvil.url, treasury });
      assert.equal(again.entryPoint, deployed.entryPoint);
      assert.notEqual(again.verifyingPaymaster, deployed.verifyingPaymaster);
    } finally {
      await anvil.stop();
    }
  });
});
