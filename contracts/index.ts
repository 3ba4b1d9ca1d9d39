// The contracts' front door: compiled artifacts and deployment. Deploys, in order: the ERC-4337
// EntryPoint, OpenZeppelin's ERC2771Forwarder as published, the test token, the payment gateway
// (trusting the forwarder) and the paymaster (on the EntryPoint).
import { createPublicClient, createWalletClient, getAddress, http, type Abi, type Address } from 'viem';
import { readArtifacts, type Artifact } from './compile.ts';

export { compileContracts, readArtifacts, writeArtifacts, contractSources, type Artifact } from './compile.ts';

export const forwarderName = 'CofferForwarder';

export interface DeployedContracts {
  chainId: number;
  deployer: Address;
  entryPoint: Address;
  forwarder: Address;
  testToken: Address;
  paymentGateway: Address;
  paymaster: Address;
}

/**
 * Deploys with an account the node holds unlocked (anvil's development accounts). Keys held by
 * coffer's keystore sign through signer/ in the relayer issue; no key material passes here.
 */
export async function deployContracts(options: { rpcUrl: string; deployer?: Address; treasury?: Address }): Promise<DeployedContracts> {
  const transport = http(options.rpcUrl);
  const publicClient = createPublicClient({ transport });
  const chainId = await publicClient.getChainId();
  const deployer = options.deployer ?? (await createWalletClient({ transport }).getAddresses())[0];
  if (!deployer) throw new Error('the node has no unlocked account to deploy from; pass a deployer it holds');
  const wallet = createWalletClient({ account: deployer, transport });
  const artifacts = await readArtifacts();
  const deploy = async (name: string, args: unknown[] = []): Promise<Address> => {
    const artifact: Artifact | undefined = artifacts[name];
    if (!artifact) throw new Error(`no artifact for ${name}; run npm run contracts:compile`);
    const hash = await wallet.deployContract({ abi: artifact.abi as Abi, bytecode: artifact.bytecode, args, chain: null });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploying ${name} failed in ${hash}`);
    return getAddress(receipt.contractAddress);
  };
  const entryPoint = await deploy('EntryPoint');
  const forwarder = await deploy('ERC2771Forwarder', [forwarderName]);
  const testToken = await deploy('TestToken');
  const paymentGateway = await deploy('PaymentGateway', [forwarder, options.treasury ?? deployer]);
  const paymaster = await deploy('CofferPaymaster', [entryPoint]);
  return { chainId, deployer: getAddress(deployer), entryPoint, forwarder, testToken, paymentGateway, paymaster };
}
