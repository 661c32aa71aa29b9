//! Full-width commitments over a fixed set of bases, with the bases' window multiples precomputed.
//!
//! Every commitment of a proof is an MSM over the same SRS points (the Lagrange basis for the permutation and
//! lookup products, the monomial basis for the quotient pieces and the vanishing argument's random
//! polynomial), and the warm prover makes many proofs. halo2curves' bucket MSM cuts each 254-bit scalar into
//! `⌈254/c⌉` windows of `c` bits and runs one bucket pass per window, summing `2^(c−1)` buckets in each and
//! doubling between windows, so `c` stays near `ln n` (10 at 2^13 points). [`FixedBaseMsm`] keeps
//! `2^(c·j)·B_i` for every window `j` and base `B_i`: every digit of every scalar then lands in one shared set
//! of buckets (`Σ_i Σ_j d_ij·(2^(c·j)·B_i)`), so a wider window (13 bits) pays the bucket summation once.
//! The buckets are filled without collisions: the signed digits are sorted by bucket (a counting sort), and
//! each bucket's points are added pairwise, level by level, in affine coordinates with one batched inversion
//! per level and thread (about 6 field multiplications per addition instead of 11 for a mixed addition).
//! The result is the same group element as halo2's MSM (`tests`), so proofs do not change.

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use rayon::prelude::*;

use crate::field::fr_to_le_limbs;

/// Bits of a BN254 scalar field element (`r < 2^254`).
const SCALAR_BITS: usize = 254;

/// The widest window: above it the buckets' points no longer fit the caches that the gather relies on
/// (measured: 2^16 bases took as long with 16-bit windows as halo2's MSM).
const MAX_WINDOW_BITS: usize = 13;

/// The most bases a table is built for: above it halo2's MSM uses as wide a window itself and the table's
/// gain is gone (best of 5 on this 2-core VM: 2^13 points 16.6 vs 26.8 ms, 2^14 32.6 vs 49.8 ms, 2^16 135 vs
/// 177 ms, 2^18 547 vs 570 ms for 320 MiB of table).
pub(crate) const MAX_TABLE_BASES: usize = 1 << 16;

/// Scalars per chunk of [`FixedBaseMsm::msm`] (2^14 · 20 windows · 64 bytes = 20 MiB of sorted points).
const CHUNK: usize = 1 << 14;

/// The window multiples of a fixed set of bases and the MSM over them (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct FixedBaseMsm {
    /// Window width in bits.
    c: usize,
    /// Windows per scalar: enough that the signed recoding ends without a carry.
    windows: usize,
    /// Number of bases.
    n: usize,
    /// `table[i·windows + j] = 2^(c·j)·B_i` (point-major, as the digits are read).
    table: Vec<G1Affine>,
}

/// The window width for `n` bases: minimises `n·⌈255/c⌉` bucket additions (about 6 multiplications each,
/// batched affine) plus `2·2^(c−1)` bucket-summation additions (about 13 each, projective), up to
/// [`MAX_WINDOW_BITS`].
pub(crate) fn window_bits(n: usize) -> usize {
    (8..=MAX_WINDOW_BITS)
        .min_by_key(|&c| 6 * (n as u64) * windows_for(c) as u64 + 13 * (1u64 << c))
        .unwrap_or(12)
}

/// Windows of `c` bits for a signed recoding of a 254-bit scalar without a final carry: the top window
/// holds at most `255 − (windows − 1)·c < c` bits plus a carry.
fn windows_for(c: usize) -> usize {
    (SCALAR_BITS + 1) / c + 1
}

impl FixedBaseMsm {
    /// The bytes a table for `n` bases takes.
    pub(crate) fn bytes_for(n: usize) -> usize {
        n * windows_for(window_bits(n)) * std::mem::size_of::<G1Affine>()
    }

    /// Precomputes the window multiples of `bases` (`n·windows·c` doublings, in parallel).
    pub(crate) fn new(bases: &[G1Affine]) -> Self {
        let n = bases.len();
        let c = window_bits(n);
        let windows = windows_for(c);
        let mut table = vec![G1Affine::identity(); n * windows];
        let chunk = n.div_ceil(rayon::current_num_threads().max(1)).clamp(1, 1 << 12);
        table.par_chunks_mut(chunk * windows).zip(bases.par_chunks(chunk)).for_each(|(out, bases)| {
            let mut cur: Vec<G1> = bases.iter().map(|b| b.to_curve()).collect();
            let mut affine = vec![G1Affine::identity(); cur.len()];
            for j in 0..windows {
                G1::batch_normalize(&cur, &mut affine);
                for (i, p) in affine.iter().enumerate() {
                    out[i * windows + j] = *p;
                }
                if j + 1 < windows {
                    for p in cur.iter_mut() {
                        for _ in 0..c {
                            *p = p.double();
                        }
                    }
                }
            }
        });
        Self { c, windows, n, table }
    }

    /// Number of bases.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Memory held by the table.
    pub(crate) fn bytes(&self) -> usize {
        self.table.len() * std::mem::size_of::<G1Affine>()
    }

    /// `Σ scalars[i]·B_i` over the first `scalars.len()` bases (at most `n`). The scalars go in chunks of
    /// [`CHUNK`], so the sorted points of one chunk (`CHUNK · windows · 64` bytes) bound the memory and stay
    /// near the caches; each chunk's bucket sums are added to the buckets' running totals.
    pub(crate) fn msm(&self, scalars: &[Fr]) -> G1 {
        self.msm_in_chunks(scalars, CHUNK)
    }

    /// [`FixedBaseMsm::msm`] with `chunk` scalars per chunk.
    fn msm_in_chunks(&self, scalars: &[Fr], chunk_len: usize) -> G1 {
        assert!(scalars.len() <= self.n, "fixed-base MSM: more scalars than bases");
        let buckets = 1usize << (self.c - 1);
        let mut totals = vec![G1::identity(); buckets];
        for (chunk, part) in scalars.chunks(chunk_len.max(1)).enumerate() {
            let sums = self.chunk_bucket_sums(part, chunk * chunk_len * self.windows);
            if chunk == 0 {
                totals.par_iter_mut().zip(sums.par_iter()).for_each(|(t, s)| *t = s.to_curve());
            } else {
                totals.par_iter_mut().zip(sums.par_iter()).for_each(|(t, s)| *t += s);
            }
        }
        sum_by_parts(&totals)
    }

    /// The bucket sums of the digits of `scalars`, whose table entries start at `offset`.
    fn chunk_bucket_sums(&self, scalars: &[Fr], offset: usize) -> Vec<G1Affine> {
        let buckets = 1usize << (self.c - 1);
        // `digits[k]` multiplies `table[offset + k]` (point-major, like the table).
        let digits = self.digits(scalars);
        // Counting sort of the nonzero digits by bucket (|d| − 1); each thread gathers one range of buckets,
        // reading the digits and the table in order.
        let mut start = vec![0u32; buckets + 1];
        for d in digits.iter().filter(|d| **d != 0) {
            start[d.unsigned_abs() as usize] += 1;
        }
        for b in 0..buckets {
            start[b + 1] += start[b];
        }
        let mut points = vec![G1Affine::identity(); start[buckets] as usize];
        let ranges = split_buckets(&start, rayon::current_num_threads().max(1));
        let outs = slices_of(&mut points, &start, &ranges);
        let table = &self.table[offset..];
        ranges.into_par_iter().zip(outs.into_par_iter()).for_each(|(r, out)| {
            let base = start[r.start];
            let mut fill: Vec<u32> = start[r.clone()].iter().map(|s| s - base).collect();
            for (k, d) in digits.iter().enumerate() {
                let b = (d.unsigned_abs() as usize).wrapping_sub(1);
                if *d == 0 || !r.contains(&b) {
                    continue;
                }
                let p = table[k];
                let slot = &mut fill[b - r.start];
                out[*slot as usize] = if *d < 0 { -p } else { p };
                *slot += 1;
            }
        });
        bucket_sums(points, &start)
    }

    /// The signed base-`2^c` digits of every scalar, `digits[i·windows + j]` in `[−2^(c−1), 2^(c−1))`.
    fn digits(&self, scalars: &[Fr]) -> Vec<i16> {
        let (c, w) = (self.c, self.windows);
        let mut digits = vec![0i16; scalars.len() * w];
        digits.par_chunks_mut(w).zip(scalars.par_iter()).for_each(|(out, s)| {
            let limbs = fr_to_le_limbs(s);
            let (half, full) = (1i64 << (c - 1), 1i64 << c);
            let mut carry = 0i64;
            for (j, d) in out.iter_mut().enumerate() {
                let raw = bits_at(&limbs, j * c, c) as i64 + carry;
                (*d, carry) = if raw >= half { ((raw - full) as i16, 1) } else { (raw as i16, 0) };
            }
        });
        digits
    }
}

/// Splits the buckets (`start[b]..start[b+1]` are bucket `b`'s entries) into at most `parts` contiguous
/// ranges of about equal entries.
fn split_buckets(start: &[u32], parts: usize) -> Vec<std::ops::Range<usize>> {
    let buckets = start.len() - 1;
    let per = (start[buckets] as usize).div_ceil(parts).max(1);
    let mut ranges = vec![];
    let mut from = 0usize;
    for b in 0..buckets {
        if start[b + 1] as usize >= per * (ranges.len() + 1) || b + 1 == buckets {
            ranges.push(from..b + 1);
            from = b + 1;
        }
    }
    ranges
}

/// `c` bits of the 256-bit little-endian `limbs` from bit `at` (zero beyond bit 255).
fn bits_at(limbs: &[u64; 4], at: usize, c: usize) -> u64 {
    let (limb, off) = (at / 64, at % 64);
    if limb >= 4 {
        return 0;
    }
    let mut v = limbs[limb] >> off;
    if off + c > 64 && limb + 1 < 4 {
        v |= limbs[limb + 1] << (64 - off);
    }
    v & ((1u64 << c) - 1)
}

/// Each bucket's sum (`start[b]..start[b+1]` are bucket `b`'s points): pairwise affine additions, level by
/// level, until each bucket holds at most one point; an empty bucket gives the identity.
fn bucket_sums(mut points: Vec<G1Affine>, start: &[u32]) -> Vec<G1Affine> {
    let buckets = start.len() - 1;
    let mut start = start.to_vec();
    let len = |start: &[u32], b: usize| (start[b + 1] - start[b]) as usize;
    while (0..buckets).any(|b| len(&start, b) > 1) {
        // Next level: bucket b keeps ⌈len/2⌉ points.
        let mut next_start = Vec::with_capacity(buckets + 1);
        next_start.push(0u32);
        for b in 0..buckets {
            next_start.push(next_start[b] + len(&start, b).div_ceil(2) as u32);
        }
        let mut next = vec![G1Affine::identity(); next_start[buckets] as usize];
        let ranges = split_buckets(&next_start, rayon::current_num_threads().max(1));
        let outs = slices_of(&mut next, &next_start, &ranges);
        let (pts, cur) = (&points, &start);
        ranges.into_par_iter().zip(outs.into_par_iter()).for_each(|(r, out)| {
            let mut pairs = Vec::new();
            let mut o = 0usize;
            for b in r {
                let (s, l) = (cur[b] as usize, len(cur, b));
                for t in 0..l / 2 {
                    pairs.push((s + 2 * t, o));
                    o += 1;
                }
                if l % 2 == 1 {
                    out[o] = pts[s + l - 1];
                    o += 1;
                }
            }
            add_pairs(pts, &pairs, out);
        });
        points = next;
        start = next_start;
    }
    (0..buckets)
        .map(|b| if len(&start, b) == 1 { points[start[b] as usize] } else { G1Affine::identity() })
        .collect()
}

/// `items` cut into the consecutive slices of the bucket `ranges` (`start[b]..start[b+1]` are bucket `b`'s
/// items), one per thread.
fn slices_of<'a, T>(
    items: &'a mut [T],
    start: &[u32],
    ranges: &[std::ops::Range<usize>],
) -> Vec<&'a mut [T]> {
    let mut outs = Vec::with_capacity(ranges.len());
    let mut rest = items;
    for r in ranges {
        let (head, tail) = rest.split_at_mut((start[r.end] - start[r.start]) as usize);
        outs.push(head);
        rest = tail;
    }
    outs
}

/// `out[o] = pts[a] + pts[a + 1]` for every `(a, o)` in `pairs`, in affine coordinates with one batched
/// inversion; equal x coordinates (a doubling or a point and its negation) and the identity go through
/// projective arithmetic.
fn add_pairs(pts: &[G1Affine], pairs: &[(usize, usize)], out: &mut [G1Affine]) {
    // Not `is_identity()`: its constant-time comparison costs more than the addition here.
    let zero = |p: &G1Affine| p.x == Fq::ZERO && p.y == Fq::ZERO;
    let special = |p: &G1Affine, q: &G1Affine| p.x == q.x || zero(p) || zero(q);
    let mut prefix = Vec::with_capacity(pairs.len());
    let mut acc = Fq::ONE;
    for &(a, _) in pairs {
        let (p, q) = (&pts[a], &pts[a + 1]);
        if !special(p, q) {
            acc *= q.x - p.x;
        }
        prefix.push(acc);
    }
    let mut inv = acc.invert().unwrap_or(Fq::ZERO);
    for (k, &(a, o)) in pairs.iter().enumerate().rev() {
        let (p, q) = (&pts[a], &pts[a + 1]);
        if special(p, q) {
            out[o] = (p.to_curve() + q).to_affine();
            continue;
        }
        let before = if k == 0 { Fq::ONE } else { prefix[k - 1] };
        let inv_k = inv * before;
        inv *= q.x - p.x;
        let lambda = (q.y - p.y) * inv_k;
        let x = lambda.square() - p.x - q.x;
        let y = lambda * (p.x - x) - p.y;
        out[o] = G1Affine { x, y };
    }
}

/// `Σ_b (b + 1)·sums[b]`: running sums from the top, the bucket range split across threads (a range
/// `[lo, hi)` gives `Σ (b − lo + 1)·sums[b] + lo·Σ sums[b]`).
fn sum_by_parts(sums: &[G1]) -> G1 {
    let threads = rayon::current_num_threads().max(1);
    let per = sums.len().div_ceil(threads).max(1);
    sums.par_chunks(per)
        .enumerate()
        .map(|(t, chunk)| {
            let (weighted, total) = summation_by_parts(chunk);
            weighted + total * Fr::from((t * per) as u64)
        })
        .reduce(G1::identity, |a, b| a + b)
}

/// `(Σ_i (i + 1)·buckets[i], Σ_i buckets[i])` by running sums from the top (summation by parts: one running
/// and one total addition per bucket). Serial.
pub(crate) fn summation_by_parts(buckets: &[G1]) -> (G1, G1) {
    let (mut running, mut weighted) = (G1::identity(), G1::identity());
    for b in buckets.iter().rev() {
        running += b;
        weighted += running;
    }
    (weighted, running)
}

#[cfg(test)]
mod tests {
    use halo2_proofs::arithmetic::best_multiexp;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;

    fn bases(n: usize, seed: u64) -> Vec<G1Affine> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let pts: Vec<G1> = (0..n).map(|_| G1::random(&mut rng)).collect();
        let mut out = vec![G1Affine::identity(); n];
        G1::batch_normalize(&pts, &mut out);
        out
    }

    #[test]
    fn fixed_base_msm_is_halo2s_msm() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let b = bases(300, 1);
        let table = FixedBaseMsm::new(&b);
        let cases: Vec<Vec<Fr>> = vec![
            (0..300).map(|_| Fr::random(&mut rng)).collect(),
            vec![Fr::ZERO; 300],
            vec![-Fr::ONE; 300],
            (0..300).map(|i| Fr::from(i as u64 % 7)).collect(),
            // Repeated scalars on repeated bases: doublings and cancellations inside buckets.
            (0..120).map(|i| if i % 2 == 0 { Fr::from(5) } else { -Fr::from(5) }).collect(),
            (0..300).map(|i| Fr::from(1u64 << (i % 64)) * Fr::from(u64::MAX)).collect(),
        ];
        for (k, s) in cases.iter().enumerate() {
            let want = best_multiexp(s, &b[..s.len()]).to_affine();
            assert_eq!(table.msm(s).to_affine(), want, "case {k}");
            assert_eq!(table.msm_in_chunks(s, 64).to_affine(), want, "case {k} in chunks of 64");
        }
        // The same base twice: equal points in one bucket (a doubling) and a point with its negation.
        let twice = vec![b[0]; 64];
        let t2 = FixedBaseMsm::new(&twice);
        let s: Vec<Fr> = (0..64).map(|i| if i < 40 { Fr::from(3) } else { -Fr::from(3) }).collect();
        assert_eq!(t2.msm(&s).to_affine(), best_multiexp(&s, &twice).to_affine());
    }

    #[test]
    fn recoding_ends_without_a_carry_for_every_window_width() {
        for c in 8..=16 {
            let w = windows_for(c);
            assert!(w * c > SCALAR_BITS + 1, "c {c}");
        }
    }

    /// `cargo test --release -p zkoracle-prover fixed_msm_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn fixed_msm_speed() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for k in [13u32, 14, 16, 18] {
            let n = 1usize << k;
            let b = bases(n, 3);
            let t = std::time::Instant::now();
            let table = FixedBaseMsm::new(&b);
            let build = t.elapsed();
            let s: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
            let best = |f: &dyn Fn() -> G1| {
                (0..5)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        let r = f();
                        (t.elapsed(), r)
                    })
                    .min_by_key(|(t, _)| *t)
                    .expect("five runs")
            };
            let (halo2, want) = best(&|| best_multiexp(&s, &b));
            let (ours, got) = best(&|| table.msm(&s));
            assert_eq!(got.to_affine(), want.to_affine());
            println!(
                "k {k}: c {} build {build:?} ({} MiB), halo2 {halo2:?}, fixed-base {ours:?}",
                table.c,
                table.bytes() >> 20
            );
        }
    }
}
