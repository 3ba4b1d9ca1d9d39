// docker-compose.yml and the Dockerfile checked against the code, since no Docker engine runs
// here to try them: every coffer service runs a real `coffer` command with flags its usage
// names, sets only variables the configuration knows, takes secrets as files; the whole product
// is there (API, projections, workers, one indexer per chain, a devnets profile); the image is
// multi-stage Node 24, runs unprivileged, installs no devDependencies, and those it installs are
// every package the program loads. Each check returns readable problems, never throws on them.
import { z } from 'zod';
import { envNames, execForm, type Stage } from './dockerfile.ts';

/** What the code says, passed in by the caller (the CLI's command table, the config schema, …). */
export interface CodeFacts {
  /** `coffer` subcommands and their usage text (cli/commands/index.ts). */
  commands: Record<string, { usage: string }>;
  /** Every configuration variable (infra/config.ts); each may also be given as `<NAME>_FILE`. */
  configVariables: readonly string[];
  /** Indexers and the variable each needs (indexers/registry.ts). */
  indexers: readonly { name: string; needs: string }[];
  /** What `coffer devnet` starts (cli/commands/devnet.ts). */
  devnets: readonly string[];
  /** Those of them that need devDependencies (Alto), so only the dev-tools image runs them. */
  devToolDevnets: readonly string[];
}

const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]).optional(),
  environment: z.union([z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), z.array(z.string())]).optional(),
  secrets: z.array(z.union([z.string(), z.object({ source: z.string() })])).optional(),
  profiles: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.union([z.string(), z.array(z.string())]) }).optional(),
});
export const composeSchema = z.object({
  services: z.record(z.string(), serviceSchema),
  secrets: z.record(z.string(), z.object({ file: z.string().optional(), environment: z.string().optional() })).optional(),
});
type Service = z.infer<typeof serviceSchema>;
type Compose = z.infer<typeof composeSchema>;

const secretName = /(PASSWORD|PASSPHRASE|SECRET|TOKEN|PRIVATE_KEY|API_KEY)$/;
const fileSuffix = '_FILE';

/** `${VAR:-default}` → the default compose would use when VAR is unset; other text as is. */
const interpolated = (value: string) => value.replace(/\$\{[A-Z0-9_]+(?::?-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '');

function environmentOf(service: Service): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) return Object.fromEntries(environment.map((entry) => [entry.split('=')[0]!, entry.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, String(value ?? '')]));
}

const commandOf = (service: Service) => (typeof service.command === 'string' ? service.command.split(/\s+/) : (service.command ?? []).map(String));

/** The flags a usage text names, and whether each takes a value (`[--port N]`) or not (`[--json]`). */
function usageFlags(usage: string): Map<string, boolean> {
  const flags = new Map<string, boolean>();
  for (const match of usage.matchAll(/--([a-z][a-z-]*)(?:[ =]([^\s[\]|-][^\s[\]|]*))?/g)) {
    flags.set(match[1]!, (flags.get(match[1]!) ?? false) || match[2] !== undefined);
  }
  return flags;
}

/** Parses a service's `coffer` arguments against the command table: problems, and the flags given. */
export function checkCofferCommand(args: string[], facts: CodeFacts): { problems: string[]; flags: Map<string, string | true>; positionals: string[] } {
  const [name, ...rest] = args;
  const problems: string[] = [];
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  const command = name !== undefined && Object.hasOwn(facts.commands, name) ? facts.commands[name]! : undefined;
  if (!command) return { problems: [`"${name ?? ''}" is not a coffer command (commands: ${Object.keys(facts.commands).join(', ')})`], flags, positionals };
  const known = usageFlags(command.usage);
  const words = new Set(command.usage.split(/[\s|[\]]+/));
  for (let index = 0; index < rest.length; index += 1) {
    const token = rest[index]!;
    if (token.startsWith('--')) {
      const [flag, inline] = token.slice(2).split('=', 2) as [string, string | undefined];
      const takesValue = known.get(flag);
      if (takesValue === undefined) problems.push(`coffer ${name} has no flag --${flag}`);
      else if (takesValue) {
        const value = inline ?? rest[++index];
        if (value === undefined || value.startsWith('--')) problems.push(`coffer ${name} --${flag} needs a value`);
        else flags.set(flag, value);
      } else flags.set(flag, true);
    } else {
      positionals.push(token);
      if (!words.has(token)) problems.push(`coffer ${name} takes no argument "${token}"`);
    }
  }
  return { problems, flags, positionals };
}

const isCoffer = (service: Service) => service.build !== undefined || /^coffer(:|$)/.test(service.image ?? '');

export function checkCompose(compose: Compose, facts: CodeFacts): string[] {
  const problems: string[] = [];
  const known = new Set(facts.configVariables);
  const services = Object.entries(compose.services);
  const runs: { service: string; args: string[]; flags: Map<string, string | true>; positionals: string[]; profiles: string[] }[] = [];

  for (const [name, service] of services) {
    const environment = environmentOf(service);
    const secrets = new Set((service.secrets ?? []).map((secret) => (typeof secret === 'string' ? secret : secret.source)));
    for (const [variable, value] of Object.entries(environment)) {
      const base = variable.endsWith(fileSuffix) ? variable.slice(0, -fileSuffix.length) : variable;
      if (isCoffer(service) && !known.has(base)) problems.push(`${name}: ${variable} is not a configuration variable (infra/config.ts)`);
      if (secretName.test(variable)) problems.push(`${name}: ${variable} puts a secret in the environment; use ${variable}${fileSuffix} and a compose secret`);
      if (/^[a-z+]+:\/\/[^/@\s]*:[^/@\s]+@/.test(interpolated(value))) problems.push(`${name}: ${variable} carries a password in its URL; use ${base}${fileSuffix} and a compose secret`);
      if (variable.endsWith(fileSuffix)) {
        const secret = /^\/run\/secrets\/([^/]+)$/.exec(value)?.[1];
        if (!secret) problems.push(`${name}: ${variable} should name a compose secret (/run/secrets/<name>)`);
        else if (!secrets.has(secret)) problems.push(`${name}: ${variable} reads secret "${secret}", which the service does not mount`);
        else if (!compose.secrets?.[secret]?.file) problems.push(`${name}: secret "${secret}" is not declared as a file under top-level secrets`);
      }
    }
    if (!isCoffer(service)) continue;
    const args = commandOf(service);
    const checked = checkCofferCommand(args, facts);
    problems.push(...checked.problems.map((problem) => `${name}: ${problem}`));
    runs.push({ service: name, args, flags: checked.flags, positionals: checked.positionals, profiles: service.profiles ?? [] });
    // An indexer without its chain's URL would exit at once with a usage error.
    const indexers = checked.flags.get('indexers');
    for (const indexerName of typeof indexers === 'string' ? indexers.split(',') : []) {
      const indexer = facts.indexers.find((candidate) => candidate.name === indexerName);
      if (!indexer) problems.push(`${name}: there is no indexer "${indexerName}"`);
      else if (!(indexer.needs in environment) && !(`${indexer.needs}${fileSuffix}` in environment)) problems.push(`${name}: the ${indexerName} indexer needs ${indexer.needs}`);
    }
    if (args[0] === 'start' && (checked.flags.has('api') || args.length === 1)) {
      const test = service.healthcheck ? [service.healthcheck.test].flat().join(' ') : '';
      if (!/\/(ready|health)\b/.test(test)) problems.push(`${name}: the API has no healthcheck on /ready or /health`);
    }
    // A URL default naming another service must reach it on the port that service listens on.
    for (const [variable, value] of Object.entries(environment)) {
      const target = /^https?:\/\/(?:[^@/]*@)?([a-z][a-z0-9-]*):(\d+)/.exec(interpolated(value));
      const other = target ? compose.services[target[1]!] : undefined;
      if (!target || !other || !isCoffer(other)) continue;
      const port = checkCofferCommand(commandOf(other), facts).flags.get('port');
      if (port !== target[2]) problems.push(`${name}: ${variable} expects ${target[1]} on port ${target[2]}, but it listens on ${String(port ?? 'a free port')}`);
    }
  }

  // The whole product: each part runs somewhere.
  const running = (what: string, match: (run: (typeof runs)[number]) => boolean) => {
    if (!runs.some(match)) problems.push(`no service runs ${what}`);
  };
  running('the migrations (coffer migrate)', (run) => run.args[0] === 'migrate');
  running('the API (coffer start --api)', (run) => run.args[0] === 'start' && run.flags.has('api'));
  running('the projection followers (coffer start --projections)', (run) => run.args[0] === 'start' && run.flags.has('projections'));
  running('the workers (coffer start --workers)', (run) => run.args[0] === 'start' && run.flags.has('workers'));
  for (const indexer of facts.indexers) {
    const services = runs.filter((run) => run.args[0] === 'start' && String(run.flags.get('indexers') ?? '').split(',').includes(indexer.name));
    if (services.length !== 1) problems.push(`the ${indexer.name} indexer runs in ${services.length} services, not one (one cursor per chain)`);
    else if (!services[0]!.profiles.includes('devnets')) problems.push(`the ${indexer.name} indexer is not in the devnets profile`);
  }
  for (const devnet of facts.devnets) {
    if (!runs.some((run) => run.args[0] === 'devnet' && run.positionals[0] === devnet && run.profiles.includes('devnets'))) problems.push(`the devnets profile does not run coffer devnet ${devnet}`);
  }
  return problems;
}

/** A service's build target: null when it builds the Dockerfile's default (last) stage. */
function buildTarget(service: Service): string | null {
  const build = service.build;
  if (typeof build !== 'object' || build === null) return null;
  const target = (build as { target?: unknown }).target;
  return typeof target === 'string' ? target : null;
}

/**
 * Which image each coffer service runs: product services the production image (the Dockerfile's
 * final stage, without devDependencies), dev tools such as Alto an image built from another
 * target, each target a real stage, and no image tag shared by two builds that differ (the
 * second build would replace the first under the same tag).
 */
export function checkImages(compose: Compose, stages: Stage[], facts: CodeFacts): string[] {
  const problems: string[] = [];
  const final = stages.at(-1)?.name ?? null;
  const names = stages.map((stage) => stage.name).filter((name): name is string => name !== null);
  const tags = new Map<string, { service: string; target: string | null }>();
  for (const [name, service] of Object.entries(compose.services)) {
    if (!isCoffer(service) || service.build === undefined) continue;
    const target = buildTarget(service);
    const production = target === null || target === final;
    if (target !== null && !names.includes(target)) problems.push(`${name}: build target "${target}" is not a stage of the Dockerfile (stages: ${names.join(', ')})`);
    const args = commandOf(service);
    const devTool = args[0] === 'devnet' && facts.devToolDevnets.includes(checkCofferCommand(args, facts).positionals[0] ?? '');
    if (devTool && production) problems.push(`${name}: coffer ${args.slice(0, 2).join(' ')} needs devDependencies, which the production image does not have: build it from the dev-tools target`);
    if (!devTool && !production) problems.push(`${name}: builds the Dockerfile target ${target}, not the production image (${final ?? 'the last stage'}); only dev tools run from another image`);
    const tag = service.image;
    if (tag === undefined) continue;
    const seen = tags.get(tag);
    if (!seen) tags.set(tag, { service: name, target: production ? null : target });
    else if (seen.target !== (production ? null : target)) problems.push(`${name}: shares the image ${tag} with ${seen.service} but builds ${target ?? 'the default stage'}, not ${seen.target ?? 'the default stage'}`);
  }
  return problems;
}

/** `dependencies`: packages installed with --omit=dev; `loaded`: package → a file that imports it; `shipped`: whether the image holds a source file. */
export function checkDockerfile(stages: Stage[], facts: Pick<CodeFacts, 'configVariables'> & { dependencies: ReadonlySet<string>; loaded: ReadonlyMap<string, string>; loadedFiles: readonly string[]; shipped: (file: string) => boolean }): string[] {
  const problems: string[] = [];
  const final = stages.at(-1);
  if (!final) return ['the Dockerfile has no FROM'];
  if (stages.length < 2) problems.push('the image is not multi-stage: dependencies should install in a stage of their own');
  for (const stage of stages) if (!/^node:24([.-]|$)/.test(stage.image)) problems.push(`stage ${stage.name ?? stage.image} is not built FROM node:24 (Node 24 LTS)`);
  const user = final.instructions.filter((instruction) => instruction.keyword === 'USER').at(-1);
  if (!user) problems.push('the final stage sets no USER: the process would run as root');
  else if (/^(root|0)(:|$)/.test(user.args.trim())) problems.push(`the final stage runs as ${user.args.trim()}`);
  // Stages whose files reach the final one: itself and those it copies from.
  const copiedFrom = new Set(final.instructions.filter((i) => i.keyword === 'COPY').map((i) => /--from=(\S+)/.exec(i.args)?.[1]).filter((name): name is string => name !== undefined));
  for (const stage of stages.filter((candidate) => candidate === final || (candidate.name !== null && copiedFrom.has(candidate.name)))) {
    for (const instruction of stage.instructions.filter((i) => i.keyword === 'RUN' && /\b(npm|yarn|pnpm)\s+(ci|install|i|add)\b/.test(i.args))) {
      if (!/--omit[= ]dev|--production\b|--prod\b/.test(instruction.args)) problems.push(`line ${instruction.line}: "${instruction.args}" installs devDependencies into the image`);
    }
  }
  for (const instruction of stages.flatMap((stage) => stage.instructions).filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
    for (const name of instruction.keyword === 'ENV' ? envNames(instruction.args) : [instruction.args.split('=')[0]!.trim()]) {
      if (secretName.test(name) || /PASSWORD|PASSPHRASE/.test(name)) problems.push(`line ${instruction.line}: ${instruction.keyword} ${name} bakes a secret into the image`);
      else if (instruction.keyword === 'ENV' && !facts.configVariables.includes(name)) problems.push(`line ${instruction.line}: ENV ${name} is not a configuration variable`);
    }
  }
  const entrypoint = final.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  if (!entrypoint || !execForm(entrypoint.args).includes('cli/coffer.ts')) problems.push('the ENTRYPOINT is not the coffer CLI (cli/coffer.ts), so compose commands would not be coffer commands');
  for (const [name, file] of facts.loaded) if (!facts.dependencies.has(name)) problems.push(`${file} loads ${name}, which --omit=dev does not install (not in dependencies)`);
  for (const file of facts.loadedFiles) if (!facts.shipped(file)) problems.push(`${file} is loaded by coffer but .dockerignore keeps it out of the image`);
  return problems;
}

/** .dockerignore patterns as a predicate: `dir`, `dir/sub`, `**\/*.ext` (what this repository uses). */
export function dockerignore(text: string): (file: string) => boolean {
  const patterns = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const matches = (pattern: string, file: string) => {
    const anyDirectories = '\u0000';
    const body = pattern.replace(/[.+^$()|{}]/g, '\\$&').replace(/\*\*\//g, anyDirectories).replace(/\*/g, '[^/]*').replaceAll(anyDirectories, '(.*/)?');
    const regex = new RegExp(`^${body}(/.*)?$`);
    return regex.test(file);
  };
  return (file) => !patterns.some((pattern) => matches(pattern, file));
}
