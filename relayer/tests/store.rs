//! The state machine on both backends — embedded SQLite and a real PostgreSQL server — from one set of
//! scenarios: the same migrations, the same transitions, and the fleet's claims and leases.
//!
//! Run: `cargo test -p zkoracle-relayer --test store` (needs Debian's `postgresql` package).

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use alloy::primitives::{Address, B256, I256, U256};
use std::{collections::BTreeSet, time::Duration};
use zkoracle_relayer::{Attempt, Db, Mined, NewRequest, ScanBatch, State, Store, Upsert};

const A: Address = Address::repeat_byte(0xa1);
const B: Address = Address::repeat_byte(0xb2);

fn req(id: u64, block: u64) -> NewRequest {
    NewRequest {
        request_id: U256::from(id),
        model_id: U256::from(1),
        requester: Address::repeat_byte(7),
        input: vec![I256::try_from(id as i64).unwrap(), I256::try_from(-2).unwrap()],
        callback_gas_limit: 100_000,
        fee: U256::from(10),
        deadline: 10_000_000_000,
        block_number: block,
        block_hash: B256::repeat_byte(block as u8),
        tx_hash: B256::repeat_byte(0xaa),
        log_index: 0,
    }
}

async fn scan(s: &Store, to: u64, requests: Vec<NewRequest>) -> Option<Vec<Upsert>> {
    let after = s.cursor().await.unwrap();
    let batch = ScanBatch {
        after,
        to_block: to,
        blocks: vec![(to, B256::repeat_byte(to as u8))],
        requests,
        prune_below: 0,
    };
    s.apply_scan(batch).await.unwrap()
}

fn attempt(byte: u8) -> Attempt {
    Attempt {
        hash: B256::repeat_byte(byte),
        raw: vec![byte, 2],
        max_fee_per_gas: 10 + u128::from(byte),
        max_priority_fee_per_gas: 1,
        gas_limit: 21_000,
        broadcast_at: None,
        created_at: 1,
        cancel: byte.is_multiple_of(2),
    }
}

/// Intake, claim, proof, submission, receipt, reorg: the single-instance lifecycle.
async fn lifecycle(s: &Store) {
    s.check_identity(31337, Address::repeat_byte(1)).await.unwrap();
    assert!(s.check_identity(1, Address::repeat_byte(1)).await.is_err());
    let r = req(5, 10);
    assert_eq!(scan(s, 12, vec![r.clone()]).await, Some(vec![Upsert::New]));
    assert_eq!(scan(s, 12, vec![r.clone()]).await, Some(vec![Upsert::Known]));
    let stale = ScanBatch { after: Some(1), to_block: 20, ..Default::default() };
    assert_eq!(s.apply_scan(stale).await.unwrap(), None, "the cursor moved meanwhile: nothing written");
    assert_eq!(s.cursor().await.unwrap(), Some(12));
    assert_eq!(s.request(r.request_id).await.unwrap().unwrap().req, r);

    let claimed = s.claim(A, 60_000, 8).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].state, claimed[0].owner), (State::Proving, Some(A)));
    assert!(!s.save_proof(r.request_id, B, vec![1], vec![9], 3).await.unwrap(), "only the owner");
    assert!(s.save_proof(r.request_id, A, vec![1], vec![9, 9], 3).await.unwrap());
    assert!(s.owned_in(State::Proved, B, 8).await.unwrap().is_empty());
    assert!(!s.record_submission(r.request_id, B, 0, attempt(1)).await.unwrap(), "only the owner");
    assert!(s.record_submission(r.request_id, A, 4, attempt(1)).await.unwrap());
    s.record_attempt(A, 4, attempt(2)).await.unwrap();
    assert_eq!(s.max_nonce(A).await.unwrap(), Some(4));
    assert_eq!(s.max_nonce(B).await.unwrap(), None, "nonces are per key");
    let open = s.open_submissions(A).await.unwrap();
    assert_eq!(open.len(), 1);
    let hashes: Vec<_> = open[0].attempts.iter().map(|a| (a.hash, a.cancel)).collect();
    assert_eq!(hashes, vec![(B256::repeat_byte(1), false), (B256::repeat_byte(2), true)], "oldest first");
    s.mark_broadcast(B256::repeat_byte(2)).await.unwrap();
    assert!(s.open_submissions(A).await.unwrap()[0].attempts[1].broadcast_at.is_some());
    let mined = |success, skip| Mined {
        sender: A,
        nonce: 4,
        request_id: r.request_id,
        tx_hash: B256::repeat_byte(1),
        block: 13,
        success,
        revert_reason: (!success).then(|| "AlreadyFulfilled".to_string()),
        settle: true,
        finalize: false,
        skip,
    };
    s.record_mined(mined(false, Some(("lost".into(), "lost_race")))).await.unwrap();
    let row = s.request(r.request_id).await.unwrap().unwrap();
    assert_eq!(
        (row.state, s.skip_code(r.request_id).await.unwrap().as_deref()),
        (State::Skipped, Some("lost_race"))
    );
    s.unmine(A, 4, r.request_id).await.unwrap();
    s.record_mined(mined(true, None)).await.unwrap();
    let row = s.request(r.request_id).await.unwrap().unwrap();
    assert_eq!((row.state, row.owner), (State::Confirmed, Some(A)));

    // A reorg dropping the request, guarded by the cursor.
    assert_eq!(s.rewind(9, Some(3)).await.unwrap(), None);
    assert_eq!(s.rewind(9, Some(12)).await.unwrap(), Some(vec![r.request_id]));
    assert_eq!(s.request(r.request_id).await.unwrap().unwrap().state, State::Dropped);
    let counts = s.state_counts().await.unwrap();
    assert_eq!(counts, vec![(State::Dropped, 1)]);
}

/// Two instances claiming at once take disjoint sets; an expired lease hands the request to the other.
async fn claims_and_leases(a: &Store, b: &Store) {
    let reqs: Vec<_> = (1..=40).map(|i| req(i, 3)).collect();
    assert_eq!(scan(a, 3, reqs).await.unwrap().len(), 40);
    let (ca, cb) = tokio::join!(
        async {
            let mut got = vec![];
            for _ in 0..10 {
                let c = a.claim(A, 60_000, 3).await.unwrap();
                assert!(c.len() <= 3, "a claim takes at most its limit: {}", c.len());
                got.extend(c);
            }
            got
        },
        async {
            let mut got = vec![];
            for _ in 0..10 {
                let c = b.claim(B, 60_000, 3).await.unwrap();
                assert!(c.len() <= 3, "a claim takes at most its limit: {}", c.len());
                got.extend(c);
            }
            got
        }
    );
    let ia: BTreeSet<_> = ca.iter().map(|r| r.req.request_id).collect();
    let ib: BTreeSet<_> = cb.iter().map(|r| r.req.request_id).collect();
    assert_eq!(ia.len() + ib.len(), 40, "every request claimed once: {} + {}", ia.len(), ib.len());
    assert!(ia.is_disjoint(&ib));
    assert!(!ia.is_empty() && !ib.is_empty(), "both instances got work: {} / {}", ia.len(), ib.len());
    assert_eq!(a.renew(A, 60_000).await.unwrap(), ia.len() as u64);

    // A dies: its leases run out (renewed with a lease of 1 ms) and B gets its requests.
    a.renew(A, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reaped = b.reap_expired().await.unwrap();
    assert_eq!(reaped.iter().copied().collect::<BTreeSet<_>>(), ia);
    let first = *ia.iter().next().unwrap();
    assert!(!a.save_proof(first, A, vec![1], vec![1], 1).await.unwrap(), "A's late proof is discarded");
    let again = b.claim(B, 60_000, 64).await.unwrap();
    assert_eq!(again.iter().map(|r| r.req.request_id).collect::<BTreeSet<_>>(), ia);
    assert_eq!(b.reset_in_flight(B).await.unwrap(), 40, "B restarted: its own claims go back");

    // An orphaned submission is taken over only once its lease expired.
    let c = b.claim(B, 60_000, 1).await.unwrap().remove(0).req.request_id;
    assert!(b.save_proof(c, B, vec![1], vec![1], 1).await.unwrap());
    assert!(b.record_submission(c, B, 0, attempt(7)).await.unwrap());
    assert!(a.orphaned_submissions(u64::MAX).await.unwrap().is_empty());
    assert!(!a.take_over(c).await.unwrap());
    b.renew(B, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(a.orphaned_submissions(u64::MAX).await.unwrap().len(), 1);
    assert!(a.take_over(c).await.unwrap());
    let row = a.request(c).await.unwrap().unwrap();
    assert_eq!((row.state, row.owner, row.proof), (State::Seen, None, None));
    let stats = a.fleet_stats(60_000).await.unwrap();
    assert!(stats.instances.iter().any(|i| i.address == B.to_checksum(None)), "{stats:?}");
}

fn sqlite_pair() -> (tempfile::TempDir, Store, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let a = Store::sqlite(Db::open(&path).unwrap());
    let b = Store::sqlite(Db::open(&path).unwrap());
    (dir, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_sqlite_and_postgres() {
    let (_dir, s, _) = sqlite_pair();
    lifecycle(&s).await;
    let pg = common::pg::Postgres::start();
    let s = Store::connect(&pg.database()).await.unwrap();
    lifecycle(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_leases_on_sqlite_and_postgres() {
    let (_dir, a, b) = sqlite_pair();
    claims_and_leases(&a, &b).await;
    let pg = common::pg::Postgres::start();
    let url = pg.database();
    let (a, b) = tokio::join!(Store::connect(&url), Store::connect(&url));
    claims_and_leases(&a.unwrap(), &b.unwrap()).await;
}

/// A fleet starting at once on an empty database applies each migration once; a v2 SQLite database (one
/// relayer, one key) migrates to v3 with its submissions adopted by the first instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_per_database() {
    let pg = common::pg::Postgres::start();
    let url = pg.database();
    let opens = futures::future::join_all((0..4).map(|_| Store::connect(&url))).await;
    for s in opens {
        s.unwrap().check_identity(1, Address::repeat_byte(1)).await.unwrap();
    }
    let s = Store::connect(&url).await.unwrap();
    assert_eq!(s.cursor().await.unwrap(), None);
}
