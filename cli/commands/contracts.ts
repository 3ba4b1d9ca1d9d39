// `coffer contracts deploy --rpc <url>`: deploys coffer's contracts and prints their addresses as JSON.
import { chainAdapter, evmChain } from '../../chains/index.ts';
import { deployContracts } from '../../contracts/index.ts';
import { parse, printJson, UsageError } from './index.ts';

export async function contracts(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { rpc: { type: 'string' }, treasury: { type: 'string' }, deployer: { type: 'string' }, 'paymaster-signer': { type: 'string', multiple: true } });
  if (positionals[0] !== 'deploy') throw new UsageError('contracts takes "deploy --rpc <url> [--treasury <address>] [--deployer <address>] [--paymaster-signer <address>]…"');
  if (!values.rpc || !/^https?:\/\//.test(values.rpc)) throw new UsageError('--rpc must be an http(s) JSON-RPC URL');
  // The EVM adapter's codec is the one rule for what an address is; it hands back the stored (lower-case) spelling.
  const codec = chainAdapter(evmChain).address;
  const address = (flag: string, value: string): `0x${string}` => {
    if (!codec.isValid(value)) throw new UsageError(`${flag} must be an 0x address`);
    return codec.canonical(value) as `0x${string}`;
  };
  const deployed = await deployContracts({
    rpcUrl: values.rpc,
    ...(values.treasury !== undefined ? { treasury: address('--treasury', values.treasury) } : {}),
    ...(values.deployer !== undefined ? { deployer: address('--deployer', values.deployer) } : {}),
    paymasterSigners: (values['paymaster-signer'] ?? []).map((signer) => address('--paymaster-signer', signer)),
  });
  printJson(deployed);
  return 0;
}
