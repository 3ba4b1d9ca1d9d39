// Registering assets. An asset's scale is fixed forever (the table is append-only), so an
// amount in minor units means the same thing for the life of the ledger.
import { run, runFirst, sqlBuilder, type Queryable } from '../infra/index.ts';
import { LedgerInputError } from './errors.ts';

export interface Asset {
  code: string;
  scale: number;
  chain: string | null;
  contract: string | null;
}

export async function listAssets(db: Queryable): Promise<Asset[]> {
  const { rows } = await db.query<Asset>('SELECT code, scale, chain, contract FROM assets ORDER BY code');
  return rows;
}

/** Registers an asset, or returns the existing one when it matches exactly. */
export async function registerAsset(db: Queryable, asset: Asset): Promise<Asset> {
  if (!/^[A-Z][A-Z0-9_.-]{0,31}$/.test(asset.code)) throw new LedgerInputError('invalid_asset', 'asset code must look like "USDC"', 'code');
  if (!Number.isInteger(asset.scale) || asset.scale < 0 || asset.scale > 36) throw new LedgerInputError('invalid_scale', 'scale must be 0 to 36', 'scale');
  await db.query(
    'INSERT INTO assets (code, scale, chain, contract) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [asset.code, asset.scale, asset.chain, asset.contract],
  );
  const { rows } = await db.query<Asset>('SELECT code, scale, chain, contract FROM assets WHERE code = $1', [asset.code]);
  const stored = rows[0];
  if (!stored || stored.scale !== asset.scale || stored.chain !== asset.chain || stored.contract !== asset.contract) {
    throw new LedgerInputError('asset_conflict', `asset ${asset.code} is already registered differently`, 'code');
  }
  return stored;
}

/** The registered asset `code`, or undefined. */
export async function getAsset(db: Queryable, code: string): Promise<Asset | undefined> {
  return runFirst(db, sqlBuilder.selectFrom('assets').select(['code', 'scale', 'chain', 'contract']).where('code', '=', code));
}
