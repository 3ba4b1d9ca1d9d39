// `coffer contracts deploy --rpc <url>`: deploys coffer's contracts and prints their addresses as JSON.
import { isAddress, type Address } from 'viem';
import { deployContracts } from '../../contracts/index.ts';
import { parse, printJson, UsageError } from './index.ts';

export async function contracts(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { rpc: { type: 'string' }, treasury: { type: 'string' }, deployer: { type: 'string' } });
  if (positionals[0] !== 'deploy') throw new UsageError('contracts takes "deploy --rpc <url> [--treasury <address>] [--deployer <address>]"');
  if (!values.rpc || !/^https?:\/\//.test(values.rpc)) throw new UsageError('--rpc must be an http(s) JSON-RPC URL');
  for (const [flag, value] of [['--treasury', values.treasury], ['--deployer', values.deployer]] as const) {
    if (value !== undefined && !isAddress(value)) throw new UsageError(`${flag} must be an 0x address`);
  }
  const deployed = await deployContracts({
    rpcUrl: values.rpc,
    ...(values.treasury ? { treasury: values.treasury as Address } : {}),
    ...(values.deployer ? { deployer: values.deployer as Address } : {}),
  });
  printJson(deployed);
  return 0;
}
