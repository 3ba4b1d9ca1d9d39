// The packages the running program loads: every static import reachable from an entry file, and
// every dynamic import of a string literal (the CLI loads each command's module that way),
// following relative imports through the source tree. Type-only imports (`import type`,
// `export type`) are erased by Node's type stripping and load nothing, so they do not count.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const importPattern = /^\s*(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

export interface ImportGraph {
  /** Source files reached, relative to the root. */
  files: string[];
  /** Package name → the first file (relative) that imports it. */
  packages: Map<string, string>;
}

const packageName = (specifier: string) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);

export function importGraph(root: string, entry: string): ImportGraph {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const pending = [resolve(root, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        // JSON and other assets are loaded too; only TypeScript is followed further.
        if (!existsSync(target)) throw new Error(`${relative(root, file)} imports ${specifier}, which does not exist`);
        if (target.endsWith('.ts')) pending.push(target);
        else seen.add(target);
      } else if (!specifier.startsWith('node:')) {
        const name = packageName(specifier);
        if (!packages.has(name)) packages.set(name, relative(root, file));
      }
    }
  }
  return { files: [...seen].map((file) => relative(root, file)).sort(), packages };
}
