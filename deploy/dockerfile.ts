// A Dockerfile read into stages and instructions: enough of the format to check coffer's own
// image (continuation lines, comments, `FROM image AS name`, exec-form JSON arrays). No Docker
// engine runs here, so this is how the image is checked against the code.

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | null;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const start = index;
    let logical = lines[index]!.trim();
    if (logical === '' || logical.startsWith('#')) continue;
    // A trailing backslash continues the instruction; comment lines inside it are dropped.
    while (logical.endsWith('\\') && index + 1 < lines.length) {
      index += 1;
      const next = lines[index]!.trim();
      logical = logical.slice(0, -1).trimEnd() + (next.startsWith('#') ? ' \\' : ` ${next}`);
    }
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(logical) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args, line: start + 1 };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' && name ? name : null, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form argument list (`["node", "cli/coffer.ts"]`), or the shell form split on spaces. */
export function execForm(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

/** `ENV A=1 B=2` (and the legacy `ENV A 1`) as names. */
export function envNames(args: string): string[] {
  if (!args.includes('=')) return [args.split(/\s+/)[0]!];
  return [...args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((match) => match[1]!);
}
