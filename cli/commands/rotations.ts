// `coffer rotations`: the audit log of key rotations, as the operator API shows it.
import { listRotations, rotationKinds, rotationPageMax, rotationView, type RotationKind } from '../../rotations/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

export async function rotationsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { kind: { type: 'string' }, subject: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`rotations takes only options; got "${positionals[0]!.slice(0, 40)}"`);
  if (values.kind !== undefined && !rotationKinds.includes(values.kind as RotationKind)) throw new UsageError(`--kind must be one of ${rotationKinds.join(', ')}`);
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > rotationPageMax) throw new UsageError(`--limit is a whole number from 1 to ${rotationPageMax}`);
  return withDatabase(1, async (pool) => {
    const events = (await listRotations(pool, { limit, ...(values.kind ? { kind: values.kind as RotationKind } : {}), ...(values.subject ? { subject: values.subject } : {}) })).map(rotationView);
    if (values.json) printJson(events);
    else for (const e of events) process.stdout.write(`${e.at}  ${e.kind.padEnd(19)} ${e.step.padEnd(8)} ${e.subject}  ${e.oldRef ?? '-'} → ${e.newRef ?? '-'}${e.overlapUntil ? `  overlap until ${e.overlapUntil}` : ''}  by ${e.actor}\n`);
    return 0;
  });
}
