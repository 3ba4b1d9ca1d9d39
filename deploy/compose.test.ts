// docker-compose.yml, the Dockerfile and .dockerignore held to the code (no Docker engine runs
// here): the real files pass, and each deliberately broken copy is caught with a readable reason.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { commands } from '../cli/commands/index.ts';
import { devnetChains, devToolDevnets } from '../cli/commands/devnet.ts';
import { configVariables } from '../infra/index.ts';
import { indexerRegistry } from '../indexers/index.ts';
import { checkCofferCommand, checkCompose, checkDockerfile, checkImages, composeSchema, dockerignore, importGraph, missingProductionPeers, parseDockerfile, type CodeFacts, type PackageLock } from './index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const facts: CodeFacts = { commands, configVariables, indexers: indexerRegistry, devnets: devnetChains, devToolDevnets };
const loadCompose = (text = read('docker-compose.yml')) => composeSchema.parse(parse(text, { merge: true }));
const packageJson = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
const dependencies = new Set([...Object.keys(packageJson.dependencies), ...Object.keys(packageJson.optionalDependencies ?? {})]);
const graph = importGraph(root, 'cli/coffer.ts');
const imageFacts = (shipped = dockerignore(read('.dockerignore')), loaded: ReadonlyMap<string, string> = graph.packages) => ({ configVariables, dependencies, loaded, loadedFiles: graph.files, shipped });

/** The real compose file, changed by `edit` (services by name), then checked (with the real Dockerfile's stages). */
function composeProblems(edit: (services: Record<string, Record<string, unknown>>, compose: Record<string, unknown>) => void): string[] {
  const document = parse(read('docker-compose.yml'), { merge: true }) as Record<string, unknown> & { services: Record<string, Record<string, unknown>> };
  // The merge keys share objects between services: a deep copy keeps edits to one service.
  const copy = structuredClone(document);
  edit(copy.services, copy);
  const compose = composeSchema.parse(copy);
  return [...checkCompose(compose, facts), ...checkImages(compose, parseDockerfile(read('Dockerfile')), facts)];
}

const dockerfileProblems = (text: string) => checkDockerfile(parseDockerfile(text), imageFacts());

describe('docker-compose.yml', () => {
  test('runs the whole product with real coffer commands, known variables and secrets as files', () => {
    assert.deepEqual(checkCompose(loadCompose(), facts), []);
    const services = loadCompose().services;
    assert.deepEqual(Object.keys(services).filter((name) => name.startsWith('indexer-')).sort(), indexerRegistry.map((indexer) => `indexer-${indexer.name}`).sort());
  });

  test('a command or flag the CLI does not have is caught', () => {
    assert.deepEqual(composeProblems((s) => (s.workers!.command = ['start', '--wrokers'])), ['workers: coffer start has no flag --wrokers', 'no service runs the workers (coffer start --workers)']);
    assert.ok(composeProblems((s) => (s.migrate!.command = ['migrations'])).includes('migrate: "migrations" is not a coffer command (commands: ' + Object.keys(commands).join(', ') + ')'));
    assert.ok(composeProblems((s) => (s['indexer-evm']!.command = ['start', '--indexers', 'ethereum'])).includes('indexer-evm: there is no indexer "ethereum"'));
    assert.ok(composeProblems((s) => (s.ethereum!.command = ['devnet', 'ethereum', '--port'])).includes('ethereum: coffer devnet --port needs a value'));
    assert.ok(composeProblems((s) => (s.ethereum!.command = ['devnet', 'dogecoin', '--port', '8545'])).includes('ethereum: coffer devnet takes no argument "dogecoin"'));
  });

  test('a variable the configuration does not know, or a secret in the environment, is caught', () => {
    assert.deepEqual(composeProblems((s) => (s.api!.environment = { ...(s.api!.environment as object), DATABASE_ULR: 'postgres://postgres/coffer' })), ['api: DATABASE_ULR is not a configuration variable (infra/config.ts)']);
    assert.ok(composeProblems((s) => (s.workers!.environment = { COFFER_KEYSTORE_PASSPHRASE: 'hunter2hunter2', REDIS_URL: 'redis://redis:6379' })).includes('workers: COFFER_KEYSTORE_PASSPHRASE puts a secret in the environment; use COFFER_KEYSTORE_PASSPHRASE_FILE and a compose secret'));
    assert.ok(composeProblems((s) => (s.api!.environment = { DATABASE_URL: 'postgres://coffer:hunter2@postgres:5432/coffer' })).includes('api: DATABASE_URL carries a password in its URL; use DATABASE_URL_FILE and a compose secret'));
    assert.ok(composeProblems((s) => (s.postgres!.environment = { POSTGRES_PASSWORD: 'coffer' })).some((problem) => problem.startsWith('postgres: POSTGRES_PASSWORD puts a secret')));
    assert.ok(composeProblems((s) => (s.api!.secrets = ['database_url'])).includes('api: COFFER_KEYSTORE_PASSPHRASE_FILE reads secret "keystore_passphrase", which the service does not mount'));
  });

  test('a missing part, a second cursor on a chain, an API without healthcheck or a URL to the wrong port is caught', () => {
    assert.ok(composeProblems((s) => delete s.projections).includes('no service runs the projection followers (coffer start --projections)'));
    assert.ok(composeProblems((s) => (s['indexer-solana']!.command = ['start', '--indexers', 'evm'])).includes('the evm indexer runs in 2 services, not one (one cursor per chain)'));
    assert.ok(composeProblems((s) => delete s.api!.healthcheck).includes('api: the API has no healthcheck on /ready or /health'));
    assert.ok(composeProblems((s) => delete s.hermes).includes('the devnets profile does not run coffer devnet hermes'));
    assert.ok(composeProblems((s) => (s.near!.command = ['devnet', 'near', '--host', '0.0.0.0', '--port', '3031'])).includes('api: NEAR_RPC_URL expects near on port 3030, but it listens on 3031'));
  });

  test('Alto runs in the devnets profile from the dev-tools image, on the EVM devnet, its executor key a file secret', () => {
    const compose = loadCompose();
    assert.deepEqual(checkImages(compose, parseDockerfile(read('Dockerfile')), facts), []);
    const alto = compose.services.alto!;
    assert.deepEqual(alto.profiles, ['devnets']);
    assert.deepEqual(alto.command, ['devnet', 'alto', '--host', '0.0.0.0', '--port', '4337']);
    assert.ok(composeProblems((s) => delete s.alto).includes('the devnets profile does not run coffer devnet alto'));
    assert.ok(composeProblems((s) => (s.alto!.command = ['devnet', 'alto', '--prot', '4337'])).includes('alto: coffer devnet has no flag --prot'));
    assert.ok(composeProblems((s) => (s.alto!.environment = { EVM_RPC_URL: 'http://ethereum:8545', ALTO_EXECUTOR_PRIVATE_KEY: `0x${'11'.repeat(32)}` })).includes(
      'alto: ALTO_EXECUTOR_PRIVATE_KEY puts a secret in the environment; use ALTO_EXECUTOR_PRIVATE_KEY_FILE and a compose secret',
    ));
    assert.ok(composeProblems((s) => (s.alto!.secrets = [])).includes('alto: ALTO_EXECUTOR_PRIVATE_KEY_FILE reads secret "alto_executor_key", which the service does not mount'));
    assert.ok(composeProblems((s, c) => delete (c.secrets as Record<string, unknown>).alto_executor_key).includes('alto: secret "alto_executor_key" is not declared as a file under top-level secrets'));
    assert.ok(composeProblems((s) => (s.alto!.environment = { EVM_RPC_URL: 'http://ethereum:8546', ALTO_EXECUTOR_PRIVATE_KEY_FILE: '/run/secrets/alto_executor_key' })).includes('alto: EVM_RPC_URL expects ethereum on port 8546, but it listens on 8545'));
  });

  test('dev tools run from the dev-tools image and the product from the production image, each tag one build', () => {
    assert.deepEqual(composeProblems((s) => (s.alto!.build = '.')), ['alto: coffer devnet alto needs devDependencies, which the production image does not have: build it from the dev-tools target']);
    assert.deepEqual(composeProblems((s) => (s.api!.build = { context: '.', target: 'devtools' })), [
      'api: builds the Dockerfile target devtools, not the production image (runtime); only dev tools run from another image',
      'api: shares the image coffer:local with migrate but builds devtools, not the default stage',
    ]);
    assert.deepEqual(composeProblems((s) => (s.alto!.image = 'coffer:local')), ['alto: shares the image coffer:local with migrate but builds devtools, not the default stage']);
    assert.ok(composeProblems((s) => (s.alto!.build = { context: '.', target: 'devtols' })).includes('alto: build target "devtols" is not a stage of the Dockerfile (stages: dependencies, dev-dependencies, devtools, runtime)'));
  });

  test('commands are read the way the CLI reads them: values, booleans, positionals', () => {
    assert.deepEqual(checkCofferCommand(['indexer', 'rewind', '--chain', 'evm', '--to', '5', '--json'], facts).problems, []);
    assert.deepEqual([...checkCofferCommand(['start', '--port=3001', '--api'], facts).flags], [['port', '3001'], ['api', true]]);
  });
});

describe('the Dockerfile', () => {
  test('multi-stage Node 24, unprivileged, production dependencies only, the coffer CLI as entry point', () => {
    assert.deepEqual(checkDockerfile(parseDockerfile(read('Dockerfile')), imageFacts()), []);
  });

  test('every package coffer loads is a production dependency, and .dockerignore keeps no loaded file out', () => {
    assert.ok(graph.files.includes('cli/commands/start.ts') && graph.packages.has('bullmq'), 'the import graph reaches the product');
    assert.ok(!graph.files.some((file) => file.endsWith('.test.ts')), 'no test file is loaded by coffer');
    assert.deepEqual(checkDockerfile(parseDockerfile(read('Dockerfile')), imageFacts(undefined, new Map([['bitcoinjs-lib', 'chains/bitcoin/consolidation.ts'], ['solc', 'contracts/compile.ts']]))), [
      'contracts/compile.ts loads solc, which --omit=dev does not install (not in dependencies)',
    ]);
    const withoutChains = dockerignore(`${read('.dockerignore')}\nchains\n`);
    assert.ok(checkDockerfile(parseDockerfile(read('Dockerfile')), imageFacts(withoutChains)).some((problem) => /^chains\/.* is loaded by coffer but \.dockerignore keeps it out of the image$/.test(problem)));
    assert.equal(dockerignore('**/*.test.ts\ndocs')('ledger/append.test.ts'), false);
    assert.equal(dockerignore('**/*.test.ts\ndocs')('docs/adr/0001-ledger-model.md'), false);
    assert.equal(dockerignore('**/*.test.ts\ndocs')('ledger/append.ts'), true);
  });

  test('a production install (npm ci --omit=dev, no automatic peers) provides every peer the production tree needs', () => {
    const lock = JSON.parse(read('package-lock.json')) as PackageLock;
    assert.deepEqual(missingProductionPeers(lock), []);
    // As it was before axios became a production dependency: only a dev tool brought it.
    const broken = structuredClone(lock);
    broken.packages['node_modules/axios']!.dev = true;
    assert.deepEqual(missingProductionPeers(broken), ['@zodios/core needs axios, which only a development install provides']);
  });

  test('root, a devDependencies install, Node 20, one stage, a baked secret or another entry point is caught', () => {
    const good = read('Dockerfile');
    // In the final stage (the dev-tools stage before it sets its own USER).
    const inRuntime = (from: string, to: string) => good.slice(0, good.lastIndexOf(from)) + to + good.slice(good.lastIndexOf(from) + from.length);
    assert.deepEqual(dockerfileProblems(inRuntime('USER node', 'USER root')), ['the final stage runs as root']);
    assert.deepEqual(dockerfileProblems(inRuntime('USER node\n', '')), ['the final stage sets no USER: the process would run as root']);
    assert.ok(dockerfileProblems(good.replace('npm ci --omit=dev', 'npm ci')).some((problem) => /installs devDependencies into the image/.test(problem)));
    assert.ok(dockerfileProblems(`${good}\nRUN npm install --no-audit\n`).some((problem) => /RUN|installs devDependencies/.test(problem)));
    assert.ok(dockerfileProblems(good.replaceAll('node:24-bookworm-slim', 'node:20-bookworm-slim')).includes('stage dependencies is not built FROM node:24 (Node 24 LTS)'));
    assert.ok(dockerfileProblems(good.replace('ENV COFFER_KEYSTORE_DIR', 'ENV COFFER_KEYSTORE_PASSPHRASE=hunter2hunter2 COFFER_KEYSTORE_DIR')).some((problem) => /ENV COFFER_KEYSTORE_PASSPHRASE bakes a secret/.test(problem)));
    assert.ok(dockerfileProblems(inRuntime('["node", "cli/coffer.ts"]', '["node", "server.js"]')).some((problem) => /ENTRYPOINT is not the coffer CLI/.test(problem)));
    const singleStage = 'FROM node:24-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nENTRYPOINT ["node", "cli/coffer.ts"]\n';
    assert.deepEqual(dockerfileProblems(singleStage), ['the image is not multi-stage: dependencies should install in a stage of their own']);
    // The dev-tools stages install devDependencies; the runtime copying from them would ship them.
    assert.ok(dockerfileProblems(good.replace('COPY --from=dependencies /app/node_modules', 'COPY --from=dev-dependencies /app/node_modules')).some((problem) => /npm ci --ignore-scripts --no-audit --no-fund" installs devDependencies into the image/.test(problem)));
    // Nor may the dev-tools image become the default build (the last stage).
    assert.ok(dockerfileProblems(good.replace(/\n# Stage 4: the runtime[\s\S]*$/, '\n')).some((problem) => /npm ci --ignore-scripts --no-audit --no-fund" installs devDependencies into the image/.test(problem)));
  });
});
