//! The verifier's fixed memory map. Every address is a compile-time constant of the generated code.
//!
//! ```text
//! 0x000 .. 0x180   scratch: keccak of `hash ‖ 0x01`, modexp, the MSM accumulator, pairing input
//! 0x180 ..         named scalars: challenges, x^n, Lagrange values, instance evaluations, h(x), …
//!                  denominators to invert (in place) and their prefix products
//!                  the verifying-key words (only when they live in a separate contract)
//!                  rounds 1.. of the transcript: [previous hash][proof bytes of the round]
//!                  round 0: [vk repr][instances][proof bytes of round 0]
//!                  expression temporaries
//! ```
//! Proof bytes are copied from calldata once, right behind a word that receives the previous
//! challenge hash, so each squeeze is one `keccak256` over contiguous memory.

use crate::plan::{Challenge, Plan};
use std::collections::BTreeMap;

/// Size of the scratch area at address 0 (the pairing input is 12 words).
pub(crate) const SCRATCH: usize = 0x180;

/// Where the denominators to invert sit (indices into the batch-inversion array).
#[derive(Clone, Debug, Default)]
pub(crate) struct Denominators {
    /// x^n − 1.
    pub(crate) xn_minus_1: usize,
    /// x·ω^{-i} − 1 for each Lagrange rotation i (l_i(x) = (x^n − 1)/n / (x·ω^{-i} − 1)).
    pub(crate) lagrange: Vec<(i32, usize)>,
    /// The instance sums' denominators, one per instance query.
    pub(crate) instance: Vec<usize>,
    /// x itself, when some rotation set interpolates over more than one point.
    pub(crate) x: Option<usize>,
    /// u − x·ω^r for the rotations of multi-point sets.
    pub(crate) u_minus_point: BTreeMap<i32, usize>,
    /// The first set's vanishing-difference product (normalises the others), if not constant.
    pub(crate) z_diff_0: Option<usize>,
    /// Number of entries.
    pub(crate) len: usize,
}

impl Denominators {
    fn push(&mut self) -> usize {
        self.len += 1;
        self.len - 1
    }
}

/// Memory of one transcript round.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RoundMem {
    /// The word that holds the previous hash (for round 0: the vk representative).
    pub(crate) prefix: usize,
    /// Where the round's proof bytes are copied.
    pub(crate) data: usize,
}

/// The whole memory map.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) challenges: BTreeMap<Challenge, usize>,
    pub(crate) xn: usize,
    pub(crate) l_0: usize,
    pub(crate) l_last: usize,
    pub(crate) l_blind: usize,
    /// 1 − (l_last + l_blind).
    pub(crate) l_active: usize,
    pub(crate) quotient_eval: usize,
    /// x^n − 1 over n: the common factor of every Lagrange value.
    pub(crate) lagrange_common: usize,
    pub(crate) instance_num: Vec<usize>,
    pub(crate) instance_eval: Vec<usize>,
    /// u − x·ω^r for every rotation r.
    pub(crate) u_minus_point: BTreeMap<i32, usize>,
    /// Lagrange basis values at u, per rotation set (empty for single-point sets).
    pub(crate) set_lagrange: Vec<Vec<usize>>,
    pub(crate) denoms: Denominators,
    /// Start of the denominators array (inverted in place).
    pub(crate) inv_start: usize,
    /// Start of the prefix-product array used by the batch inversion.
    pub(crate) inv_prefix: usize,
    /// Verifying-key words copied from the separate key contract (`None` when embedded).
    pub(crate) vk_words: Option<usize>,
    pub(crate) rounds: Vec<RoundMem>,
    /// Instances in memory (inside round 0, right after the vk representative).
    pub(crate) instances: usize,
    /// Start of the expression temporaries (the end of the fixed map).
    pub(crate) temps: usize,
}

struct Alloc {
    next: usize,
}

impl Alloc {
    fn word(&mut self) -> usize {
        self.words(1)
    }
    fn words(&mut self, n: usize) -> usize {
        let a = self.next;
        self.next += 32 * n;
        a
    }
}

impl Layout {
    /// Lays out memory for `plan`; `vk_words` is the number of verifying-key words to hold when
    /// they come from a separate contract.
    pub(crate) fn new(plan: &Plan, vk_words: Option<usize>) -> Self {
        let mut m = Alloc { next: SCRATCH };
        let mut challenges = BTreeMap::new();
        for r in &plan.rounds {
            for c in &r.squeezes {
                challenges.insert(*c, m.word());
            }
        }
        let xn = m.word();
        let l_0 = m.word();
        let l_last = m.word();
        let l_blind = m.word();
        let l_active = m.word();
        let quotient_eval = m.word();
        let lagrange_common = m.word();
        let instance_num = plan.instance_queries.iter().map(|_| m.word()).collect();
        let instance_eval = plan.instance_queries.iter().map(|_| m.word()).collect();
        let u_minus_point = plan.all_rots.iter().map(|r| (*r, m.word())).collect();
        let set_lagrange = plan
            .rotation_sets
            .iter()
            .map(|s| if s.rots.len() > 1 { s.rots.iter().map(|_| m.word()).collect() } else { vec![] })
            .collect();

        let mut d = Denominators::default();
        d.xn_minus_1 = d.push();
        let last = -(plan.blinding_factors as i32 + 1);
        d.lagrange = (last..=0).map(|i| (i, d.push())).collect();
        d.instance = plan.instance_queries.iter().map(|_| d.push()).collect();
        let multi = plan.rotation_sets.iter().any(|s| s.rots.len() > 1);
        if multi {
            d.x = Some(d.push());
            for s in plan.rotation_sets.iter().filter(|s| s.rots.len() > 1) {
                for r in &s.rots {
                    if !d.u_minus_point.contains_key(r) {
                        let i = d.push();
                        d.u_minus_point.insert(*r, i);
                    }
                }
            }
        }
        if plan.rotation_sets.first().is_some_and(|s| s.rots.len() < plan.all_rots.len()) {
            d.z_diff_0 = Some(d.push());
        }
        let inv_start = m.words(d.len);
        let inv_prefix = m.words(d.len);
        let vk_words = vk_words.map(|n| m.words(n));

        let mut rounds = Vec::with_capacity(plan.rounds.len());
        // Round 0 goes last: its size grows with the number of instances.
        rounds.push(RoundMem { prefix: 0, data: 0 });
        for r in plan.rounds.iter().skip(1) {
            let prefix = m.word();
            let data = m.next;
            m.next += r.len;
            rounds.push(RoundMem { prefix, data });
        }
        let prefix = m.word();
        let instances = m.words(plan.num_instances);
        let data = m.next;
        m.next += plan.rounds.first().map_or(0, |r| r.len);
        rounds[0] = RoundMem { prefix, data };
        let temps = m.next;

        Layout {
            challenges,
            xn,
            l_0,
            l_last,
            l_blind,
            l_active,
            quotient_eval,
            lagrange_common,
            instance_num,
            instance_eval,
            u_minus_point,
            set_lagrange,
            denoms: d,
            inv_start,
            inv_prefix,
            vk_words,
            rounds,
            instances,
            temps,
        }
    }

    /// The memory address of proof byte `offset` (after the transcript copied it).
    pub(crate) fn proof(&self, plan: &Plan, offset: usize) -> usize {
        for (r, mem) in plan.rounds.iter().zip(&self.rounds) {
            if offset >= r.start && offset < r.start + r.len {
                return mem.data + (offset - r.start);
            }
        }
        // Every proof byte belongs to a round (the plan builds rounds from the same offsets).
        unreachable!("proof offset {offset} outside every round")
    }

    /// The address of a challenge.
    pub(crate) fn challenge(&self, c: Challenge) -> usize {
        self.challenges.get(&c).copied().unwrap_or_else(|| unreachable!("challenge {c:?} never squeezed"))
    }

    /// The address of denominator `i` (its inverse after the batch inversion).
    pub(crate) fn inv(&self, i: usize) -> usize {
        self.inv_start + 32 * i
    }
}
