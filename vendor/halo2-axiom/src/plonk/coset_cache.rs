//! zkoracle patch: the coset evaluations that depend on the proving key only, kept between proofs.
//!
//! `Evaluator::evaluate_h` evaluates the quotient's numerator one part of the extended domain at a time
//! (`extended_len / n` parts of `n` points each). On every part it needs every fixed polynomial, `l_0`,
//! `l_last`, `l_active_row` and every permutation (sigma) polynomial evaluated on that part's coset — an
//! FFT of size `n` per polynomial and part, recomputed on every proof although none of them depends on the
//! witness. [`ProvingKey::cache_cosets`] computes the leading parts once, within a byte budget, and
//! `evaluate_h` reads a cached part instead of recomputing it (a part not cached is computed as before).
//! The values are those the prover computes itself, by the same code, so proofs are unchanged.

use std::fmt;
use std::sync::Arc;

use ff::{Field, WithSmallOrderMulGroup};

use crate::arithmetic::CurveAffine;
use crate::multicore::{IntoParallelIterator, ParallelIterator};
use crate::plonk::ProvingKey;
use crate::poly::{Coeff, LagrangeCoeff, Polynomial};

/// The key-only polynomials evaluated on one part (coset) of the extended domain.
#[derive(Debug)]
pub(crate) struct CosetPart<F: Field> {
    /// Every fixed polynomial, in column order.
    pub(crate) fixed: Vec<Polynomial<F, LagrangeCoeff>>,
    /// `l_0`.
    pub(crate) l0: Polynomial<F, LagrangeCoeff>,
    /// `l_last`.
    pub(crate) l_last: Polynomial<F, LagrangeCoeff>,
    /// `l_active_row`.
    pub(crate) l_active_row: Polynomial<F, LagrangeCoeff>,
    /// Every permutation (sigma) polynomial, in column order.
    pub(crate) permutation: Vec<Polynomial<F, LagrangeCoeff>>,
}

impl<F: WithSmallOrderMulGroup<3>> CosetPart<F> {
    /// Evaluates `pk`'s key-only polynomials on the part of the extended domain whose coset is shifted by
    /// `extended_omega_factor` (`extended_omega^part`), exactly as `evaluate_h` did before the cache.
    pub(crate) fn compute<C: CurveAffine<ScalarExt = F>>(
        pk: &ProvingKey<C>,
        extended_omega_factor: C::ScalarExt,
    ) -> Self {
        let domain = &pk.vk.domain;
        let coset = |p: &Polynomial<C::ScalarExt, Coeff>| {
            domain.coeff_to_extended_part(p.clone(), extended_omega_factor)
        };
        CosetPart {
            fixed: (&pk.fixed_polys).into_par_iter().map(coset).collect(),
            l0: coset(&pk.l0),
            l_last: coset(&pk.l_last),
            l_active_row: coset(&pk.l_active_row),
            permutation: (&pk.permutation.polys).into_par_iter().map(coset).collect(),
        }
    }
}

/// The cached leading parts of the extended domain (empty: nothing cached, every proof recomputes).
#[derive(Clone)]
pub(crate) struct CosetCache<F: Field> {
    parts: Vec<Arc<CosetPart<F>>>,
}

impl<F: Field> Default for CosetCache<F> {
    fn default() -> Self {
        Self { parts: Vec::new() }
    }
}

impl<F: Field> fmt::Debug for CosetCache<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosetCache")
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl<F: Field> CosetCache<F> {
    /// The cached part `index`, if it is cached.
    pub(crate) fn part(&self, index: usize) -> Option<&CosetPart<F>> {
        self.parts.get(index).map(|p| p.as_ref())
    }
}

/// What [`ProvingKey::cache_cosets`] kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CosetCacheStats {
    /// Parts of the extended domain whose key-only cosets are cached.
    pub parts_cached: usize,
    /// Parts of the extended domain (`extended_len / n`).
    pub parts_total: usize,
    /// Polynomials evaluated per part (fixed, `l_0`, `l_last`, `l_active_row`, permutation).
    pub polys_per_part: usize,
    /// Bytes one cached part holds.
    pub part_bytes: usize,
}

impl CosetCacheStats {
    /// Bytes the cache holds.
    pub fn bytes(&self) -> usize {
        self.parts_cached * self.part_bytes
    }
}

impl<C: CurveAffine> ProvingKey<C> {
    /// The size of the coset cache of this key: the parts it holds now, and how many bytes a part takes.
    pub fn coset_cache_stats(&self) -> CosetCacheStats {
        let domain = &self.vk.domain;
        let polys_per_part = self.fixed_polys.len() + 3 + self.permutation.polys.len();
        CosetCacheStats {
            parts_cached: self.coset_cache.parts.len(),
            parts_total: domain.extended_len() >> domain.k(),
            polys_per_part,
            part_bytes: polys_per_part * (1usize << domain.k()) * std::mem::size_of::<C::Scalar>(),
        }
    }

    /// Computes and keeps the key-only coset evaluations of as many leading parts of the extended domain
    /// as fit in `max_bytes` (see the module docs); later proofs with this key skip those FFTs. Proofs are
    /// the same with or without the cache. Replaces an earlier cache.
    pub fn cache_cosets(&mut self, max_bytes: usize) -> CosetCacheStats {
        self.coset_cache = CosetCache::default();
        let stats = self.coset_cache_stats();
        let fit = max_bytes.checked_div(stats.part_bytes).unwrap_or(0);
        let count = fit.min(stats.parts_total);
        let extended_omega = self.vk.domain.get_extended_omega();
        let mut factor = C::Scalar::ONE;
        let mut parts = Vec::with_capacity(count);
        for _ in 0..count {
            parts.push(Arc::new(CosetPart::compute(self, factor)));
            factor *= extended_omega;
        }
        self.coset_cache = CosetCache { parts };
        self.coset_cache_stats()
    }

    /// Drops the coset cache: later proofs recompute every coset.
    pub fn clear_coset_cache(&mut self) {
        self.coset_cache = CosetCache::default();
    }
}
