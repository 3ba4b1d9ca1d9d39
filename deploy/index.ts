// The deployment (docker-compose.yml, the Dockerfile, deploy/make-secrets.sh) and the checks
// that hold it to the code, since no Docker engine runs where the tests do.
export { checkCompose, checkCofferCommand, checkImages, checkDockerfile, composeSchema, dockerignore, type CodeFacts } from './check.ts';
export { parseDockerfile, type Stage, type Instruction } from './dockerfile.ts';
export { importGraph, type ImportGraph } from './imports.ts';
export { missingProductionPeers, type PackageLock } from './lockfile.ts';
