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

const assetColumns = ['code', 'scale', 'chain', 'contract'] as const;

export async function listAssets(db: Queryable): Promise<Asset[]> {
  return run(db, sqlBuilder.selectFrom('assets').select(assetColumns).orderBy('code'));
}

/** Registers an asset, or returns the existing one when it matches exactly. */
export async function registerAsset(db: Queryable, asset: Asset): Promise<Asset> {
  if (!/^[A-Z][A-Z0-9_.-]{0,31}$/.test(asset.code)) throw new LedgerInputError('invalid_asset', 'asset code must look like "USDC"', 'code');
  if (!Number.isInteger(asset.scale) || asset.scale < 0 || asset.scale > 36) throw new LedgerInputError('invalid_scale', 'scale must be 0 to 36', 'scale');
  await run(db, sqlBuilder.insertInto('assets').values({ code: asset.code, scale: asset.scale, chain: asset.chain, contract: asset.contract }).onConflict((conflict) => conflict.doNothing()));
  const stored = await getAsset(db, asset.code);
  if (!stored || stored.scale !== asset.scale || stored.chain !== asset.chain || stored.contract !== asset.contract) {
    throw new LedgerInputError('asset_conflict', `asset ${asset.code} is already registered differently`, 'code');
  }
  return stored;
}

/** The registered asset `code`, or undefined. */
export async function getAsset(db: Queryable, code: string): Promise<Asset | undefined> {
  return runFirst(db, sqlBuilder.selectFrom('assets').select(assetColumns).where('code', '=', code));
}
