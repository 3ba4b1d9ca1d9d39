// The contracts' front door: compiled artifacts and deployment. Deploys, in order: the ERC-4337
// EntryPoint v0.8 and SimpleAccountFactory at their canonical addresses (through the
// deterministic CREATE2 deployer, from the package's own bytecode, as bundlers such as Alto
// expect them), OpenZeppelin's ERC2771Forwarder as published, the test token, the payment
// gateway (trusting the forwarder), the allowlist paymaster and the verifying paymaster (both on
// the EntryPoint; the verifying one staked, since it reads its signer set during validation).
import { concatHex, createPublicClient, createWalletClient, encodeAbiParameters, getAddress, getContractAddress, http, keccak256, pad, parseAbi, type Abi, type Address, type Hex, type PublicClient } from 'viem';
import { readArtifacts, readPackagedArtifact, type Artifact } from './compile.ts';

export { compileContracts, readArtifacts, readPackagedArtifact, writeArtifacts, contractSources, type Artifact } from './compile.ts';

export const forwarderName = 'CofferForwarder';

/** The deterministic deployment proxy (Arachnid's), predeployed by anvil and present on most chains. */
export const create2Deployer: Address = '0x4e59b44847b379578588920ca78fbf26c0b4956c';
/** The salts that give EntryPoint v0.8 and its SimpleAccountFactory their canonical addresses (research §A3). */
const entryPointSalt: Hex = '0x0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9';
const factorySalt: Hex = pad('0x0', { size: 32 });
export const canonicalEntryPoint: Address = '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108';
export const canonicalSimpleAccountFactory: Address = '0x13E9ed32155810FDbd067D4522C492D6f68E5944';

/** A staked paymaster may read its own storage during validation (ERC-7562); devnet amounts. */
const paymasterStakeWei = 10n ** 17n;
const paymasterUnstakeDelaySeconds = 86_400;
const stakeAbi = parseAbi(['function addStake(uint32 unstakeDelaySec) payable']);

export interface DeployedContracts {
  chainId: number;
  deployer: Address;
  entryPoint: Address;
  simpleAccountFactory: Address;
  forwarder: Address;
  testToken: Address;
  paymentGateway: Address;
  /** The allowlist paymaster (senders the owner sponsors). */
  paymaster: Address;
  /** The verifying paymaster: sponsors what coffer's sponsor service signed. */
  verifyingPaymaster: Address;
  verifyingPaymasterSigners: Address[];
}

/**
 * Deploys with an account the node holds unlocked (anvil's development accounts). Keys held by
 * coffer's keystore sign through signer/ in the relayer issue; no key material passes here.
 * `paymasterSigners` are the addresses the verifying paymaster accepts (the sponsor key's).
 */
export async function deployContracts(options: { rpcUrl: string; deployer?: Address; treasury?: Address; paymasterSigners?: Address[] }): Promise<DeployedContracts> {
  const transport = http(options.rpcUrl);
  const publicClient = createPublicClient({ transport });
  const chainId = await publicClient.getChainId();
  const deployer = options.deployer ?? (await createWalletClient({ transport }).getAddresses())[0];
  if (!deployer) throw new Error('the node has no unlocked account to deploy from; pass a deployer it holds');
  const wallet = createWalletClient({ account: deployer, transport });
  const artifacts = await readArtifacts();
  const mined = async (hash: Hex, what: string) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== 'success') throw new Error(`${what} failed in ${hash}`);
    return receipt;
  };
  const deploy = async (name: string, args: unknown[] = []): Promise<Address> => {
    const artifact: Artifact | undefined = artifacts[name];
    if (!artifact) throw new Error(`no artifact for ${name}; run npm run contracts:compile`);
    const hash = await wallet.deployContract({ abi: artifact.abi as Abi, bytecode: artifact.bytecode, args, chain: null });
    const receipt = await mined(hash, `deploying ${name}`);
    if (!receipt.contractAddress) throw new Error(`deploying ${name} created no contract in ${hash}`);
    return getAddress(receipt.contractAddress);
  };
  /** CREATE2 through the deterministic deployer; a contract already there (a second deploy on the chain) is kept. */
  const deployCanonical = async (name: string, salt: Hex, constructorArguments: Hex, expected: Address): Promise<Address> => {
    const initCode = concatHex([(await readPackagedArtifact(name)).bytecode, constructorArguments]);
    const address = getContractAddress({ opcode: 'CREATE2', from: create2Deployer, salt, bytecodeHash: keccak256(initCode) });
    if (address !== expected) throw new Error(`${name} from @account-abstraction/contracts would land at ${address}, not at its canonical ${expected}: is the package 0.8.0?`);
    if (await hasCode(publicClient, address)) return address;
    if (!(await hasCode(publicClient, create2Deployer))) throw new Error(`this chain has no deterministic deployment proxy at ${create2Deployer}; ${name} cannot get its canonical address`);
    await mined(await wallet.sendTransaction({ to: create2Deployer, data: concatHex([salt, initCode]), gas: 15_000_000n, chain: null }), `deploying ${name}`);
    if (!(await hasCode(publicClient, address))) throw new Error(`deploying ${name} through ${create2Deployer} left no code at ${address}`);
    return address;
  };
  const entryPoint = await deployCanonical('EntryPoint', entryPointSalt, '0x', canonicalEntryPoint);
  const simpleAccountFactory = await deployCanonical('SimpleAccountFactory', factorySalt, encodeAbiParameters([{ type: 'address' }], [entryPoint]), canonicalSimpleAccountFactory);
  const forwarder = await deploy('ERC2771Forwarder', [forwarderName]);
  const testToken = await deploy('TestToken');
  const paymentGateway = await deploy('PaymentGateway', [forwarder, options.treasury ?? deployer]);
  const paymaster = await deploy('CofferPaymaster', [entryPoint]);
  const verifyingPaymasterSigners = (options.paymasterSigners ?? []).map((signer) => getAddress(signer));
  const verifyingPaymaster = await deploy('CofferVerifyingPaymaster', [entryPoint, verifyingPaymasterSigners]);
  await mined(
    await wallet.writeContract({ address: verifyingPaymaster, abi: stakeAbi, functionName: 'addStake', args: [paymasterUnstakeDelaySeconds], value: paymasterStakeWei, chain: null }),
    'staking the verifying paymaster',
  );
  return { chainId, deployer: getAddress(deployer), entryPoint, simpleAccountFactory, forwarder, testToken, paymentGateway, paymaster, verifyingPaymaster, verifyingPaymasterSigners };
}

async function hasCode(client: PublicClient, address: Address): Promise<boolean> {
  return ((await client.getCode({ address })) ?? '0x').length > 2;
}
