// What `npm ci --omit=dev` leaves out that the production tree needs. The repository installs
// with legacy-peer-deps (.npmrc), so npm installs no peer dependency by itself: a required peer
// of a production package is only there if something in production brings it. A development
// install hides the gap (axios, the peer of hermes-client's HTTP layer, came from a dev tool).

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface PackageLock {
  packages: Record<string, LockEntry>;
}

/** Where Node would find `name` from the package installed at `location` (nearest node_modules up). */
function resolveFrom(lock: PackageLock, location: string, name: string): string | null {
  let base = location;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/** Required peers of production packages that a production install does not provide. */
export function missingProductionPeers(lock: PackageLock): string[] {
  const problems: string[] = [];
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (!location || entry.dev) continue;
    for (const peer of Object.keys(entry.peerDependencies ?? {})) {
      if (entry.peerDependenciesMeta?.[peer]?.optional) continue;
      const resolved = resolveFrom(lock, location, peer);
      if (!resolved) problems.push(`${location.replace(/^.*node_modules\//, '')} needs ${peer}, which no install provides`);
      else if (lock.packages[resolved]!.dev) problems.push(`${location.replace(/^.*node_modules\//, '')} needs ${peer}, which only a development install provides`);
    }
  }
  return [...new Set(problems)].sort();
}
