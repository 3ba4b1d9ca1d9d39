-- The chain seam (ADR 0008): tables that later chains write stop assuming Ethereum. Agent
-- wallets and relayers stay EVM by design (ERC-2771, Defender), so their CHECKs stay.
--
-- Refill targets: a NEAR predecessor that pays for MPC `sign` calls, or a Solana fee payer,
-- is topped up like a relayer. The address is checked by its chain's form where coffer knows it
-- in SQL (EVM); every other chain's address is checked by its adapter before it gets here.
ALTER TABLE refill_targets DROP CONSTRAINT refill_targets_chain_check;
ALTER TABLE refill_targets ADD CONSTRAINT refill_targets_chain_check CHECK (chain ~ '^[a-z][a-z0-9-]{0,31}$');
ALTER TABLE refill_targets DROP CONSTRAINT refill_targets_address_check;
ALTER TABLE refill_targets ADD CONSTRAINT refill_targets_address_check
  CHECK (length(address) BETWEEN 1 AND 128 AND address !~ '\s' AND (chain <> 'ethereum' OR address ~ '^0x[0-9a-fA-F]{40}$'));

-- A refill on a chain without account nonces (Bitcoin) has none to record.
ALTER TABLE refills ALTER COLUMN nonce DROP NOT NULL;
