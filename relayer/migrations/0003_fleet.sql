-- zkoracle relayer schema v3: several relayer instances on one database (issue #20). Written once for both
-- dialects: PostgreSQL gets it with BIGINT for INTEGER and BYTEA for BLOB.

-- The instance holding a request (the signer address it proves for and submits from) and until when its
-- lease runs (unix milliseconds). A live instance renews its leases; a request in `proving` or `proved`
-- whose lease ran out goes back to `seen` for any instance, one in `submitted` once its deadline nears.
ALTER TABLE requests ADD COLUMN owner TEXT;
ALTER TABLE requests ADD COLUMN lease_until INTEGER;
CREATE INDEX requests_by_owner ON requests(owner, state);

-- Nonces belong to a signing key: submissions and signed transactions are keyed by (sender, nonce). Rows
-- written before v3 get the sender '' and are adopted by the first instance that opens the database.
CREATE TABLE submissions_v3 (
    sender        TEXT NOT NULL,
    nonce         INTEGER NOT NULL,
    request_id    TEXT NOT NULL,
    state         TEXT NOT NULL,
    mined_tx      TEXT,
    mined_block   INTEGER,
    success       INTEGER,
    revert_reason TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (sender, nonce)
);
INSERT INTO submissions_v3 (sender, nonce, request_id, state, mined_tx, mined_block, success, revert_reason,
    created_at, updated_at)
SELECT '', nonce, request_id, state, mined_tx, mined_block, success, revert_reason, created_at, updated_at
FROM submissions;

-- seq orders the attempts of one nonce (oldest first).
CREATE TABLE tx_attempts_v3 (
    hash                     TEXT PRIMARY KEY NOT NULL,
    sender                   TEXT NOT NULL,
    nonce                    INTEGER NOT NULL,
    seq                      INTEGER NOT NULL,
    raw                      BLOB NOT NULL,
    max_fee_per_gas          TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    gas_limit                INTEGER NOT NULL,
    created_at               INTEGER NOT NULL,
    broadcast_at             INTEGER,
    cancel                   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tx_attempts_v3 (hash, sender, nonce, seq, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit,
    created_at, broadcast_at, cancel)
SELECT hash, '', nonce,
    ROW_NUMBER() OVER (PARTITION BY nonce ORDER BY created_at, LENGTH(max_fee_per_gas), max_fee_per_gas),
    raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, created_at, broadcast_at, cancel
FROM tx_attempts;

DROP TABLE tx_attempts;
DROP TABLE submissions;
ALTER TABLE submissions_v3 RENAME TO submissions;
ALTER TABLE tx_attempts_v3 RENAME TO tx_attempts;
CREATE INDEX submissions_by_request ON submissions(request_id);
CREATE INDEX submissions_by_state ON submissions(sender, state);
CREATE INDEX tx_attempts_by_nonce ON tx_attempts(sender, nonce);

-- Fleet membership: every instance's signer address and its last lease renewal (unix milliseconds).
CREATE TABLE instances (
    address      TEXT PRIMARY KEY NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
