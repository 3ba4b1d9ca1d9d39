// `coffer webhooks rotate-root`: a new webhook root, the old one signing beside it for the
// overlap (wallets/webhook-roots.ts). Running processes read the root files at each delivery.
import { loadConfig } from '../../infra/index.ts';
import { parseOverlapSeconds, recordRotation, RotationError } from '../../rotations/index.ts';
import { rotateWebhookRoot, WalletError } from '../../wallets/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

export async function webhooksCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { overlap: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals[0] !== 'rotate-root' || positionals.length !== 1) throw new UsageError('webhooks takes "rotate-root [--overlap 24h]"');
  let overlapSeconds: number;
  try {
    overlapSeconds = parseOverlapSeconds(values.overlap);
  } catch (error) {
    throw error instanceof RotationError ? new UsageError(`--overlap: ${error.message}`) : error;
  }
  const config = loadConfig();
  let rotated: Awaited<ReturnType<typeof rotateWebhookRoot>>;
  try {
    rotated = await rotateWebhookRoot(config.WEBHOOK_ROOT_FILE, { overlapSeconds });
  } catch (error) {
    if (error instanceof WalletError) throw new RotationError('rotation_refused', error.message);
    throw error;
  }
  await withDatabase(1, (pool) =>
    recordRotation(pool, {
      kind: 'webhook_root',
      subject: config.WEBHOOK_ROOT_FILE,
      step: 'rotated',
      oldRef: rotated.oldFingerprint,
      newRef: rotated.newFingerprint,
      overlapUntil: rotated.validUntil,
      actor: 'cli',
    }),
  );
  const out = { oldFingerprint: rotated.oldFingerprint, newFingerprint: rotated.newFingerprint, previousValidUntil: rotated.validUntil.toISOString() };
  if (values.json) printJson(out);
  else process.stdout.write(`webhook root rotated (${out.oldFingerprint} → ${out.newFingerprint}); both sign until ${out.previousValidUntil}\n`);
  process.stderr.write('receivers fetch their new secret with PUT /v1/wallets/<id>/webhook and switch before the overlap ends\n');
  return 0;
}
