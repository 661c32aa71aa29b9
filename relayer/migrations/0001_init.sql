-- zkoracle relayer schema v1. Applied once, inside a transaction, by `Db::open`.

-- Identity of the chain and oracle this database belongs to, and the scan cursor.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Hashes of recently processed blocks (range ends and blocks with logs), for reorg detection.
CREATE TABLE blocks (
    number INTEGER PRIMARY KEY NOT NULL,
    hash   TEXT NOT NULL
);

-- One row per InferenceRequested request id.
-- state: seen | proving | proved | submitted | confirmed | failed | skipped | dropped
CREATE TABLE requests (
    request_id         TEXT PRIMARY KEY NOT NULL,   -- 0x + 64 hex digits (sorts numerically)
    model_id           TEXT NOT NULL,               -- 0x + 64 hex digits
    requester          TEXT NOT NULL,
    input              TEXT NOT NULL,               -- JSON array of decimal int256 strings
    callback_gas_limit INTEGER NOT NULL,
    fee                TEXT NOT NULL,               -- decimal wei
    deadline           INTEGER NOT NULL,
    block_number       INTEGER NOT NULL,
    block_hash         TEXT NOT NULL,
    log_tx_hash        TEXT NOT NULL,
    log_index          INTEGER NOT NULL,
    state              TEXT NOT NULL,
    reason             TEXT,
    output             TEXT,                        -- JSON array of quantized outputs (proved)
    proof              BLOB,                        -- proof bytes (proved)
    proving_ms         INTEGER,
    prove_attempts     INTEGER NOT NULL DEFAULT 0,
    submit_attempts    INTEGER NOT NULL DEFAULT 0,
    nonce              INTEGER,                     -- nonce of the current submission
    fulfil_tx          TEXT,                        -- hash of the mined fulfilment
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX requests_by_state ON requests(state, request_id);
CREATE INDEX requests_by_block ON requests(block_number);

-- One row per nonce the relayer signed a fulfilment with.
-- state: pending (not mined) | mined (receipt seen, still inside the reorg window) | final | abandoned
CREATE TABLE submissions (
    nonce         INTEGER PRIMARY KEY NOT NULL,
    request_id    TEXT NOT NULL REFERENCES requests(request_id),
    state         TEXT NOT NULL,
    mined_tx      TEXT,
    mined_block   INTEGER,
    success       INTEGER,
    revert_reason TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX submissions_by_request ON submissions(request_id);
CREATE INDEX submissions_by_state ON submissions(state);

-- Every signed transaction, persisted before it is broadcast (fee bumps add rows with the same nonce).
CREATE TABLE tx_attempts (
    hash                     TEXT PRIMARY KEY NOT NULL,
    nonce                    INTEGER NOT NULL REFERENCES submissions(nonce),
    raw                      BLOB NOT NULL,
    max_fee_per_gas          TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    gas_limit                INTEGER NOT NULL,
    created_at               INTEGER NOT NULL,
    broadcast_at             INTEGER              -- NULL until a node accepted it
);
CREATE INDEX tx_attempts_by_nonce ON tx_attempts(nonce);
