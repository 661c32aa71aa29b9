//! Tampered inputs every verifier must reject, and the runner that checks them on chain.

use super::evm::{modulus, Chain, Outcome};
use super::reference::reference_calldata;
use alloy::primitives::{Address, U256};

/// A deployed verifier: ours (ABI `verifyProof`) or snark-verifier's (raw calldata, empty return).
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Ours(Address),
    Reference(Address),
}

impl Chain {
    pub async fn check(&self, target: Target, proof: &[u8], instances: &[U256]) -> Outcome {
        match target {
            Target::Ours(a) => self.verify(a, proof, instances).await,
            Target::Reference(a) => match self.call_raw(a, reference_calldata(instances, proof)).await {
                Ok(out) if out.is_empty() => Outcome::True,
                Ok(out) => Outcome::Revert(format!("unexpected return {out}")),
                Err(e) => Outcome::Revert(e),
            },
        }
    }
}

pub struct Case {
    pub label: String,
    /// Rejecting it needs canonical-encoding checks (scalars < r, exact proof length) that
    /// snark-verifier's verifier does not make: the instance/proof denote the same statement.
    pub encoding_only: bool,
    pub proof: Vec<u8>,
    pub instances: Vec<U256>,
}

/// Which byte positions to flip.
pub enum Flips {
    Every,
    Stride(usize),
}

/// Every tampered case for (proof, instances); `other` is a proof of a different circuit with the
/// same length (and its own valid instances, which are tried with both proofs).
pub fn tampered(
    proof: &[u8],
    instances: &[U256],
    other: Option<(&[u8], &[U256])>,
    flips: Flips,
    evals_start: usize,
) -> Vec<Case> {
    let r = modulus();
    let mut cases = Vec::new();
    let mut push = |label: String, p: Vec<u8>, i: Vec<U256>| {
        let encoding_only = label.contains("+ r") || label.contains("zero byte");
        cases.push(Case { label, encoding_only, proof: p, instances: i })
    };
    let n = instances.len();
    let picks: Vec<usize> = if n <= 8 { (0..n).collect() } else { vec![0, 1, n / 2, n - 2, n - 1] };
    for &i in &picks {
        let mut v = instances.to_vec();
        v[i] = (v[i] + U256::from(1)) % r;
        push(format!("instance {i} + 1"), proof.to_vec(), v);
        let mut v = instances.to_vec();
        v[i] += r;
        push(format!("instance {i} + r (same residue, >= modulus)"), proof.to_vec(), v);
    }
    let mut v = instances.to_vec();
    v[0] = r;
    push("instance 0 = r".into(), proof.to_vec(), v);
    let mut v = instances.to_vec();
    v[0] = U256::MAX;
    push("instance 0 = 2^256 - 1".into(), proof.to_vec(), v);
    push("one instance missing".into(), proof.to_vec(), instances[..n - 1].to_vec());
    let mut v = instances.to_vec();
    v.push(U256::ZERO);
    push("one instance extra".into(), proof.to_vec(), v);
    push("no instances".into(), proof.to_vec(), vec![]);
    push("empty proof".into(), vec![], instances.to_vec());
    // A reader that pads calldata with zeros (snark-verifier's) sees the same proof when the cut bytes are
    // zero (proofs are randomized: the last byte is 0 in one proof of 256), so such a cut is encoding-only.
    for cut in [1usize, 32] {
        let zero = if proof[proof.len() - cut..].iter().all(|b| *b == 0) { " (cut zero byte)" } else { "" };
        let label = format!("proof short by {cut} byte{}{zero}", if cut == 1 { "" } else { "s" });
        push(label, proof[..proof.len() - cut].to_vec(), instances.to_vec());
    }
    let mut p = proof.to_vec();
    p.push(0);
    push("proof + 1 zero byte".into(), p, instances.to_vec());
    let mut p = proof.to_vec();
    p.extend_from_slice(&[0u8; 32]);
    push("proof + 32 zero bytes".into(), p, instances.to_vec());
    // A scalar replaced by a non-canonical encoding of the same value (v + r).
    let mut p = proof.to_vec();
    let s = U256::from_be_slice(&p[evals_start..evals_start + 32]) + r;
    p[evals_start..evals_start + 32].copy_from_slice(&s.to_be_bytes::<32>());
    push("first evaluation + r (non-canonical)".into(), p, instances.to_vec());
    // The first advice commitment negated (a valid point, the wrong one).
    let mut p = proof.to_vec();
    let q = U256::from_str_radix("30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47", 16)
        .unwrap_or_default();
    let y = U256::from_be_slice(&p[32..64]);
    p[32..64].copy_from_slice(&(q - y).to_be_bytes::<32>());
    push("first commitment negated".into(), p, instances.to_vec());
    // The last point (W') replaced by the identity encoding (0, 0).
    let mut p = proof.to_vec();
    let l = p.len();
    p[l - 64..].fill(0);
    push("W' = (0, 0)".into(), p, instances.to_vec());
    if let Some((op, oi)) = other {
        push("other circuit's proof and instances".into(), op.to_vec(), oi.to_vec());
        push("other circuit's proof, these instances".into(), op.to_vec(), instances.to_vec());
    }
    let step = match flips {
        Flips::Every => 1,
        Flips::Stride(s) => s,
    };
    for pos in (0..proof.len()).step_by(step) {
        let mut p = proof.to_vec();
        p[pos] ^= 0x01;
        push(format!("proof byte {pos} ^ 0x01"), p, instances.to_vec());
    }
    // A few whole-byte flips at the start of each 32-byte word.
    for pos in (0..proof.len()).step_by(32 * 5) {
        let mut p = proof.to_vec();
        p[pos] ^= 0xff;
        push(format!("proof byte {pos} ^ 0xff"), p, instances.to_vec());
    }
    cases
}

/// Runs `cases` against `target`; panics listing every accepted case, and for our verifier every case
/// rejected by returning false instead of reverting (EZKL's clients treat "did not revert" as success).
pub async fn assert_all_rejected(chain: &Chain, target: Target, cases: &[Case]) -> usize {
    let mut accepted = Vec::new();
    let mut returned_false = Vec::new();
    let mut reverted = 0;
    for c in cases {
        match chain.check(target, &c.proof, &c.instances).await {
            Outcome::True => accepted.push(c.label.clone()),
            Outcome::False => returned_false.push(c.label.clone()),
            Outcome::Revert(_) => reverted += 1,
        }
    }
    assert!(accepted.is_empty(), "{target:?} accepted tampered inputs: {accepted:?}");
    if matches!(target, Target::Ours(_)) {
        assert!(
            returned_false.is_empty(),
            "{target:?} returned false instead of reverting: {returned_false:?}"
        );
    }
    reverted
}

/// Calldata that carries the right proof and instances in a non-canonical ABI layout, which our verifier
/// must refuse (a client reading instances at EZKL's fixed offsets would read other words).
pub fn non_canonical_layouts(canonical: &[u8]) -> Vec<(String, Vec<u8>)> {
    let word = |v: usize| U256::from(v).to_be_bytes::<32>().to_vec();
    let head = |data: &[u8], at: usize| U256::from_be_slice(&data[at..at + 32]).to::<usize>();
    let (proof_at, inst_at) = (head(canonical, 4), head(canonical, 36));
    let mut cases = vec![];
    let mut trailing = canonical.to_vec();
    trailing.push(0);
    cases.push(("one trailing byte".into(), trailing));
    let mut trailing = canonical.to_vec();
    trailing.extend(word(0));
    cases.push(("one trailing word".into(), trailing));
    // A gap word between the head and the proof: both offsets move on by 32, the decoded values are equal.
    let mut gap = canonical[..4].to_vec();
    gap.extend(word(proof_at + 32));
    gap.extend(word(inst_at + 32));
    gap.extend(word(0));
    gap.extend(&canonical[68..]);
    cases.push(("a gap word before the proof".into(), gap));
    // The instances first, then the proof (offsets swapped accordingly).
    let (proof_part, inst_part) = (&canonical[4 + proof_at..4 + inst_at], &canonical[4 + inst_at..]);
    let mut swapped = canonical[..4].to_vec();
    swapped.extend(word(0x40 + inst_part.len()));
    swapped.extend(word(0x40));
    swapped.extend(inst_part);
    swapped.extend(proof_part);
    cases.push(("instances before the proof".into(), swapped));
    cases
}
