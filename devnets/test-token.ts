// The 6-decimal test token (contracts/src/TestToken.sol) on a devnet: minted by its deployer,
// moved with plain ERC-20 calldata. The demo and the tests use it as their USDC-like token.
import { createWalletClient, encodeFunctionData, http, parseAbi, type Address, type Hex } from 'viem';
import type { DeployedContracts } from '../contracts/index.ts';

/** The asset code the demo and the tests register the test token under. */
export const testTokenAsset = 'TUSDC';
export const testTokenScale = 6;
const tokenAbi = parseAbi(['function mint(address to, uint256 amount)', 'function transfer(address to, uint256 amount) returns (bool)']);

/** Calldata of a test-token transfer. */
export const testTokenTransfer = (to: Address, units: bigint): Hex => encodeFunctionData({ abi: tokenAbi, functionName: 'transfer', args: [to, units] });

/** Mints test tokens to `holder` (the deployer owns the token, and anvil holds the deployer unlocked). */
export async function mintTestToken(rpcUrl: string, contracts: Pick<DeployedContracts, 'deployer' | 'testToken'>, holder: Address, units: bigint): Promise<Hex> {
  return createWalletClient({ account: contracts.deployer, transport: http(rpcUrl) }).sendTransaction({
    to: contracts.testToken,
    data: encodeFunctionData({ abi: tokenAbi, functionName: 'mint', args: [holder, units] }),
    chain: null,
  });
}
