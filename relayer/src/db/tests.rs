//! Unit tests of the database.

#![allow(clippy::unwrap_used)]

use super::*;
use rusqlite::{Connection, TransactionBehavior};

fn req(id: u64, block: u64, input: &[i64]) -> NewRequest {
    NewRequest {
        request_id: U256::from(id),
        model_id: U256::from(1),
        requester: Address::repeat_byte(7),
        input: input.iter().map(|&v| I256::try_from(v).unwrap()).collect(),
        callback_gas_limit: 100_000,
        fee: U256::from(10),
        deadline: 1_000,
        block_number: block,
        block_hash: B256::repeat_byte(block as u8),
        tx_hash: B256::repeat_byte(0xaa),
        log_index: 0,
    }
}

fn scan(db: &Db, to: u64, requests: Vec<NewRequest>) -> ScanBatch {
    let after = db.cursor().unwrap();
    ScanBatch {
        after,
        to_block: to,
        blocks: vec![(to, B256::repeat_byte(to as u8))],
        requests,
        prune_below: 0,
    }
}

const ME: Address = Address::repeat_byte(0x11);

fn claim_one(db: &Db, id: U256) {
    let claimed = db.claim(ME, 60_000, 16).unwrap();
    assert!(claimed.iter().any(|r| r.req.request_id == id), "claimed {id}");
}

#[test]
fn migrates_once_and_checks_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/r.sqlite");
    let db = Db::open(&path).unwrap();
    db.check_identity(1, Address::repeat_byte(1)).unwrap();
    drop(db);
    let db = Db::open(&path).unwrap();
    db.check_identity(1, Address::repeat_byte(1)).unwrap();
    let e = db.check_identity(2, Address::repeat_byte(1)).unwrap_err();
    assert!(e.to_string().contains("chain_id"), "{e}");
}

#[test]
fn concurrent_first_opens_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..8 {
        let path = dir.path().join(format!("r{i}.sqlite"));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Db::open(&p).map(|_| ()))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    }
}

/// A write that reads first must wait for another connection's write lock (busy timeout) instead of
/// failing at once with "database is locked", and an operator opening the database takes no lock.
#[test]
fn writes_wait_for_another_connections_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let db = Db::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        other.execute_batch("COMMIT").unwrap();
    });
    // check_identity reads the meta row, then inserts it.
    db.check_identity(1, Address::repeat_byte(1)).unwrap();
    release.join().unwrap();

    let mut reader = Connection::open(&path).unwrap();
    let held = reader.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
    // A second open of an up-to-date database (as an operator's reader) needs no write lock.
    let started = std::time::Instant::now();
    let _second = Db::open(&path).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    held.rollback().unwrap();
}

#[test]
fn scan_rewind_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("r.sqlite")).unwrap();
    let r = req(5, 10, &[1, -2]);
    assert_eq!(db.apply_scan(scan(&db, 12, vec![r.clone()])).unwrap(), Some(vec![Upsert::New]));
    assert_eq!(db.cursor().unwrap(), Some(12));
    let stale = ScanBatch { after: Some(3), ..scan(&db, 14, vec![]) };
    assert_eq!(db.apply_scan(stale).unwrap(), None, "another instance moved the cursor");
    assert_eq!(db.apply_scan(scan(&db, 12, vec![r.clone()])).unwrap(), Some(vec![Upsert::Known]));
    let row = db.request(U256::from(5)).unwrap().unwrap();
    assert_eq!(row.state, State::Seen);
    assert_eq!(row.req, r);

    claim_one(&db, r.request_id);
    assert_eq!(db.rewind(9, Some(3)).unwrap(), None, "the cursor moved meanwhile");
    assert_eq!(db.rewind(9, Some(12)).unwrap(), Some(vec![U256::from(5)]));
    assert_eq!(db.cursor().unwrap(), Some(9));
    // A proof finishing after the drop is discarded.
    assert!(!db.save_proof(r.request_id, ME, vec![3], b"p".to_vec(), 5).unwrap());
    assert_eq!(db.request(r.request_id).unwrap().unwrap().state, State::Dropped);

    let mut again = r.clone();
    again.block_number = 11;
    again.block_hash = B256::repeat_byte(0x77);
    assert_eq!(db.apply_scan(scan(&db, 12, vec![again])).unwrap(), Some(vec![Upsert::Restored(State::Seen)]));
    let row = db.request(r.request_id).unwrap().unwrap();
    assert_eq!((row.state, row.req.block_number), (State::Seen, 11));
}

#[test]
fn submission_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("r.sqlite")).unwrap();
    let r = req(1, 3, &[4]);
    db.apply_scan(scan(&db, 3, vec![r.clone()])).unwrap();
    claim_one(&db, r.request_id);
    assert!(db.save_proof(r.request_id, ME, vec![9], b"proof".to_vec(), 12).unwrap());
    let a = Attempt {
        hash: B256::repeat_byte(1),
        raw: vec![1, 2],
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 1,
        gas_limit: 21_000,
        broadcast_at: None,
        created_at: 1,
        cancel: false,
    };
    assert!(db.record_submission(r.request_id, ME, 7, a.clone()).unwrap());
    assert!(!db.record_submission(r.request_id, ME, 8, a.clone()).unwrap(), "only from proved");
    assert!(db.has_open_submission(r.request_id, ME).unwrap());
    assert_eq!(db.max_nonce(ME).unwrap(), Some(7));
    assert_eq!(db.max_nonce(Address::ZERO).unwrap(), None, "nonces are per key");
    let open = db.open_submissions(ME).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].attempts[0].raw, vec![1, 2]);
    let m = Mined {
        sender: ME,
        nonce: 7,
        request_id: r.request_id,
        tx_hash: a.hash,
        block: 5,
        success: true,
        revert_reason: None,
        settle: true,
        finalize: false,
        skip: None,
    };
    db.record_mined(m).unwrap();
    assert_eq!(db.request(r.request_id).unwrap().unwrap().state, State::Confirmed);
    db.unmine(ME, 7, r.request_id).unwrap();
    assert_eq!(db.request(r.request_id).unwrap().unwrap().state, State::Submitted);
    db.abandon(ME, 7, r.request_id, State::Proved, "nonce used elsewhere".into()).unwrap();
    let row = db.request(r.request_id).unwrap().unwrap();
    assert_eq!((row.state, row.reason), (State::Proved, None));
    assert!(!db.has_open_submission(r.request_id, ME).unwrap());
}

/// Issue #14: a request skipped because its model was not served goes back to `seen` once a config serves
/// the model; other skips stay final.
#[test]
fn unknown_model_skips_are_requeued_when_the_model_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("r.sqlite")).unwrap();
    let old = req(1, 3, &[4]);
    db.apply_scan(scan(&db, 3, vec![old.clone()])).unwrap();
    let skip = |id, s: crate::policy::Skip| db.skip(id, vec![State::Seen], s.to_string(), s.code()).unwrap();
    assert!(skip(old.request_id, crate::policy::Skip::UnknownModel(old.model_id)));
    let mut new = req(2, 4, &[5]);
    new.model_id = U256::from(9);
    let mut expired = req(3, 4, &[5]);
    expired.model_id = U256::from(9);
    db.apply_scan(scan(&db, 4, vec![new.clone(), expired.clone()])).unwrap();
    assert!(skip(new.request_id, crate::policy::Skip::UnknownModel(new.model_id)));
    assert!(skip(
        expired.request_id,
        crate::policy::Skip::BadInput(crate::policy::BadInput::Refused("too long".into()))
    ));
    assert_eq!(db.skip_code(new.request_id).unwrap().as_deref(), Some("unknown_model"));

    assert!(db.requeue_unknown_models(vec![U256::from(5)]).unwrap().is_empty());
    assert_eq!(
        db.requeue_unknown_models(vec![U256::from(1), U256::from(9)]).unwrap(),
        vec![old.request_id, new.request_id]
    );
    for id in [old.request_id, new.request_id] {
        let r = db.request(id).unwrap().unwrap();
        assert_eq!((r.state, r.reason), (State::Seen, None));
    }
    assert_eq!(
        db.request(expired.request_id).unwrap().unwrap().state,
        State::Skipped,
        "other skips stay final"
    );
}

/// The v2 migration gives skip codes to v1 databases' unknown-model skips.
#[test]
fn migration_two_codes_old_unknown_model_skips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_init.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO requests (request_id, model_id, requester, input, callback_gas_limit, fee, deadline, \
             block_number, block_hash, log_tx_hash, log_index, state, reason, created_at, updated_at) \
             VALUES (?1, ?2, ?3, '[]', 0, '1', 9, 1, ?4, ?4, 0, 'skipped', \
             'unknown model 2 (not in this relayer''s config)', 0, 0)",
            rusqlite::params![
                u256_key(U256::from(1)),
                u256_key(U256::from(2)),
                Address::repeat_byte(7).to_checksum(None),
                B256::repeat_byte(1).to_string()
            ],
        )
        .unwrap();
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(db.skip_code(U256::from(1)).unwrap().as_deref(), Some("unknown_model"));
    assert_eq!(db.requeue_unknown_models(vec![U256::from(2)]).unwrap(), vec![U256::from(1)]);
}
