-- zkoracle relayer schema v2.

-- Why a request was skipped, as a stable code (the `reason` column keeps the text). Some skips are final
-- (expired, bad input); `unknown_model` is re-checked whenever the relayer starts with other models.
ALTER TABLE requests ADD COLUMN skip_code TEXT;
UPDATE requests SET skip_code = 'unknown_model' WHERE state = 'skipped' AND reason LIKE 'unknown model %';

-- 1 for a cancellation: a zero-value self-transfer that replaces, at the same nonce, a fulfilment that can
-- only revert (request fulfilled elsewhere or expired).
ALTER TABLE tx_attempts ADD COLUMN cancel INTEGER NOT NULL DEFAULT 0;
