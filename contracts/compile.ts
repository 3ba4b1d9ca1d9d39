// Compiles coffer's contracts with solc from npm (no download: the compiler is inside the
// package) into contracts/artifacts/. Deterministic: the same sources, compiler and settings
// give byte-identical artifacts, which contracts.test.ts checks against the committed ones.
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const contractsDirectory = fileURLToPath(new URL('.', import.meta.url));
export const artifactsDirectory = fileURLToPath(new URL('./artifacts/', import.meta.url));

/**
 * What gets compiled: our sources, plus OpenZeppelin's forwarder as published. The ERC-4337
 * EntryPoint and SimpleAccountFactory are not compiled here: they are deployed from the
 * package's own artifacts (readPackagedArtifact), whose bytecode gives their canonical addresses.
 */
export const contractSources: Record<string, string> = {
  TestToken: 'src/TestToken.sol',
  PaymentGateway: 'src/PaymentGateway.sol',
  CofferPaymaster: 'src/CofferPaymaster.sol',
  CofferVerifyingPaymaster: 'src/CofferVerifyingPaymaster.sol',
  ERC2771Forwarder: '@openzeppelin/contracts/metatx/ERC2771Forwarder.sol',
};

export const compilerSettings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

export interface Artifact {
  contractName: string;
  sourceName: string;
  compiler: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
}

function findImport(path: string): { contents: string } | { error: string } {
  const candidates = [() => `${contractsDirectory}${path}`, () => require.resolve(path)];
  for (const candidate of candidates) {
    try {
      return { contents: readFileSync(candidate(), 'utf8') };
    } catch {
      // try the next place: our sources first, then packages
    }
  }
  return { error: `not found: ${path}` };
}

export function compileContracts(): Artifact[] {
  const solc = require('solc') as { compile(input: string, callbacks: { import: typeof findImport }): string; version(): string };
  const sources: Record<string, { content: string }> = {};
  for (const sourceName of Object.values(contractSources)) {
    const found = findImport(sourceName);
    if ('error' in found) throw new Error(found.error);
    sources[sourceName] = { content: found.contents };
  }
  const output = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: compilerSettings }), { import: findImport })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  return Object.entries(contractSources).map(([contractName, sourceName]) => {
    const compiled = output.contracts[sourceName]?.[contractName];
    if (!compiled) throw new Error(`solc produced no ${contractName} in ${sourceName}`);
    return {
      contractName,
      sourceName,
      compiler: solc.version(),
      abi: compiled.abi,
      bytecode: `0x${compiled.evm.bytecode.object}`,
      deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
    };
  });
}

export async function writeArtifacts(artifacts: Artifact[]): Promise<void> {
  await mkdir(artifactsDirectory, { recursive: true });
  for (const artifact of artifacts) await writeFile(`${artifactsDirectory}${artifact.contractName}.json`, JSON.stringify(artifact, null, 2) + '\n');
}

export async function readArtifacts(): Promise<Record<string, Artifact>> {
  const names = (await readdir(artifactsDirectory)).filter((name) => name.endsWith('.json'));
  const entries = await Promise.all(names.map(async (name) => JSON.parse(await readFile(`${artifactsDirectory}${name}`, 'utf8')) as Artifact));
  return Object.fromEntries(entries.map((artifact) => [artifact.contractName, artifact]));
}

/** A hardhat artifact shipped by @account-abstraction/contracts (EntryPoint, SimpleAccountFactory, …). */
export async function readPackagedArtifact(name: string): Promise<Pick<Artifact, 'contractName' | 'abi' | 'bytecode'>> {
  const path = require.resolve(`@account-abstraction/contracts/artifacts/${name}.json`);
  const artifact = JSON.parse(await readFile(path, 'utf8')) as { contractName: string; abi: unknown[]; bytecode: `0x${string}` };
  return { contractName: artifact.contractName, abi: artifact.abi, bytecode: artifact.bytecode };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  const artifacts = compileContracts();
  await writeArtifacts(artifacts);
  console.error(`compiled ${artifacts.length} contracts in ${Math.round(performance.now() - started)} ms`);
}
