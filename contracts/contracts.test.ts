import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicClient, getAddress, http, type Abi } from 'viem';
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
      const deployed = await deployContracts({ rpcUrl: anvil.url, treasury });
      const client = createPublicClient({ transport: http(anvil.url) });
      const artifacts = await readArtifacts();
      const read = (address: `0x${string}`, name: string, functionName: string, args: unknown[] = []) =>
        client.readContract({ address, abi: artifacts[name]!.abi as Abi, functionName, args });
      for (const address of [deployed.entryPoint, deployed.forwarder, deployed.testToken, deployed.paymentGateway, deployed.paymaster]) {
        assert.ok(((await client.getCode({ address })) ?? '0x').length > 2, `no code at ${address}`);
      }
      assert.equal(await read(deployed.testToken, 'TestToken', 'decimals'), 6);
      assert.equal(await read(deployed.paymentGateway, 'PaymentGateway', 'isTrustedForwarder', [deployed.forwarder]), true);
      assert.equal(getAddress((await read(deployed.paymentGateway, 'PaymentGateway', 'treasury')) as string), getAddress(treasury));
      assert.equal(((await read(deployed.paymaster, 'CofferPaymaster', 'entryPoint')) as string).toLowerCase(), deployed.entryPoint.toLowerCase());
      const domain = (await read(deployed.forwarder, 'ERC2771Forwarder', 'eip712Domain')) as unknown[];
      assert.equal(domain[1], 'CofferForwarder');
    } finally {
      await anvil.stop();
    }
  });
});
