//! What the verifier must do, read from a verifying key: the proof layout, the Fiat–Shamir transcript
//! script, the constraint system and the SHPLONK opening sets. Pure data; rendering is elsewhere.
//!
//! Everything here mirrors halo2-axiom 0.5.3's `plonk::verifier::verify_proof` and
//! `poly::kzg::multiopen::shplonk::VerifierSHPLONK` (orders matter: they define the proof bytes and
//! the batching coefficients).

use crate::{Error, Result};
use halo2_proofs::{
    halo2curves::{
        bn256::{Bn256, Fr, G1Affine, G2Affine},
        ff::{Field, PrimeField},
    },
    plonk::{Any, Expression, VerifyingKey},
    poly::{
        commitment::{Params, ParamsProver},
        kzg::commitment::ParamsKZG,
    },
};
use std::collections::BTreeSet;

/// Bytes of one G1 point in the proof (x ‖ y, 32-byte big-endian each).
pub(crate) const POINT_LEN: usize = 64;
/// Bytes of one scalar in the proof (32-byte big-endian).
pub(crate) const SCALAR_LEN: usize = 32;

/// A polynomial commitment that the verifier opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Com {
    /// Advice column `i` (proof).
    Advice(usize),
    /// Fixed column `i` (verifying key).
    Fixed(usize),
    /// Permutation σ polynomial of permuted column `i` (verifying key).
    Sigma(usize),
    /// Permutation grand product of set `i` (proof).
    PermZ(usize),
    /// Lookup `i`'s permuted input A' (proof).
    LookupInput(usize),
    /// Lookup `i`'s permuted table S' (proof).
    LookupTable(usize),
    /// Lookup `i`'s grand product (proof).
    LookupZ(usize),
    /// The quotient h = Σ x^{n·j} H_j, an MSM of the proof's pieces.
    Quotient,
    /// The vanishing argument's random polynomial (proof).
    Random,
}

/// A scalar the verifier knows at opening time: a proof evaluation or a value it computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// A scalar of the proof at this byte offset.
    Proof(usize),
    /// The expected quotient evaluation h(x), computed from the constraint identity.
    QuotientEval,
}

/// One opening claim: `com(x·ω^rot) = eval`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Query {
    pub(crate) com: Com,
    pub(crate) rot: i32,
    pub(crate) eval: Scalar,
}

/// A Fiat–Shamir challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Challenge {
    /// A circuit challenge (`Challenge` expressions), by index.
    User(usize),
    /// Lookup compression.
    Theta,
    /// Permutation/lookup β.
    Beta,
    /// Permutation/lookup γ.
    Gamma,
    /// Constraint aggregation y.
    Y,
    /// Evaluation point x.
    X,
    /// SHPLONK's y (aggregates commitments within a rotation set).
    ShplonkY,
    /// SHPLONK's v (aggregates rotation sets).
    ShplonkV,
    /// SHPLONK's u (the final opening point).
    ShplonkU,
}

/// One step of the transcript: absorb `len` proof bytes from `start`, then squeeze `squeezes`
/// challenges in order (the first over `hash ‖ data`, the others over `hash ‖ 0x01`).
#[derive(Clone, Debug)]
pub(crate) struct Round {
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// Byte offsets (within the proof) of the G1 points absorbed in this round.
    pub(crate) points: Vec<usize>,
    pub(crate) squeezes: Vec<Challenge>,
}

/// A permuted column and where its evaluation at x is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ColumnEval {
    Advice(usize),
    Fixed(usize),
    Instance(usize),
}

/// Proof offsets of one permutation product set.
#[derive(Clone, Debug)]
pub(crate) struct PermSet {
    pub(crate) columns: Vec<ColumnEval>,
    /// Index of the first column of this set among all permuted columns (for δ powers).
    pub(crate) first_column: usize,
    pub(crate) z: usize,
    pub(crate) z_next: usize,
    pub(crate) z_last: Option<usize>,
}

/// One lookup argument: its expressions and the proof offsets of its evaluations.
#[derive(Clone, Debug)]
pub(crate) struct Lookup {
    pub(crate) name: String,
    pub(crate) inputs: Vec<Expression<Fr>>,
    pub(crate) tables: Vec<Expression<Fr>>,
    pub(crate) z: usize,
    pub(crate) z_next: usize,
    pub(crate) input: usize,
    pub(crate) input_prev: usize,
    pub(crate) table: usize,
}

/// One gate polynomial.
#[derive(Clone, Debug)]
pub(crate) struct Constraint {
    pub(crate) gate: String,
    pub(crate) name: String,
    pub(crate) poly: Expression<Fr>,
}

/// A SHPLONK rotation set: commitments opened at exactly the same rotations.
#[derive(Clone, Debug)]
pub(crate) struct RotationSet {
    /// The rotations, sorted.
    pub(crate) rots: Vec<i32>,
    /// The commitments with their evaluations, one per rotation in `rots` order.
    pub(crate) coms: Vec<(Com, Vec<Scalar>)>,
}

/// Everything the renderer needs.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) k: u32,
    pub(crate) omega: Fr,
    pub(crate) omega_inv: Fr,
    pub(crate) n_inv: Fr,
    pub(crate) blinding_factors: usize,
    pub(crate) num_instances: usize,
    pub(crate) vk_repr: Fr,
    pub(crate) g1: G1Affine,
    pub(crate) g2: G2Affine,
    pub(crate) s_g2: G2Affine,
    pub(crate) fixed_commitments: Vec<G1Affine>,
    pub(crate) sigma_commitments: Vec<G1Affine>,
    /// Proof offset of each advice column's commitment.
    pub(crate) advice_coms: Vec<usize>,
    pub(crate) lookup_coms: Vec<[usize; 3]>,
    pub(crate) perm_z_coms: Vec<usize>,
    pub(crate) random_com: usize,
    pub(crate) quotient_coms: Vec<usize>,
    pub(crate) advice_queries: Vec<(usize, i32)>,
    pub(crate) advice_evals: Vec<usize>,
    pub(crate) fixed_queries: Vec<(usize, i32)>,
    pub(crate) fixed_evals: Vec<usize>,
    /// Rotations at which the instance column is queried.
    pub(crate) instance_queries: Vec<i32>,
    pub(crate) random_eval: usize,
    pub(crate) sigma_evals: Vec<usize>,
    pub(crate) perm_sets: Vec<PermSet>,
    pub(crate) lookups: Vec<Lookup>,
    pub(crate) constraints: Vec<Constraint>,
    pub(crate) num_user_challenges: usize,
    /// The multi-open points: W (after v) and W' (after u).
    pub(crate) w: usize,
    pub(crate) w_prime: usize,
    pub(crate) proof_len: usize,
    /// `--params private`: the weights knowledge proof after the halo2 proof (its offset in the proof).
    pub(crate) weights: Option<(crate::WeightsKnowledge, usize)>,
    /// Start of the evaluations (all scalars) and their total length.
    pub(crate) evals_start: usize,
    pub(crate) evals_len: usize,
    pub(crate) rounds: Vec<Round>,
    pub(crate) queries: Vec<Query>,
    pub(crate) rotation_sets: Vec<RotationSet>,
    /// Every rotation that appears in some query (SHPLONK's super point set).
    pub(crate) all_rots: Vec<i32>,
}

/// Hands out proof offsets in transcript order and records what the transcript absorbs.
struct Reader {
    at: usize,
    script: Script,
}

impl Reader {
    /// A G1 point read from the proof (and absorbed).
    fn point(&mut self) -> usize {
        let o = self.at;
        self.at += POINT_LEN;
        self.script.absorb(o, POINT_LEN, true);
        o
    }
    /// A scalar read from the proof (and absorbed).
    fn scalar(&mut self) -> usize {
        let o = self.at;
        self.at += SCALAR_LEN;
        self.script.absorb(o, SCALAR_LEN, false);
        o
    }
    fn squeeze(&mut self, c: Challenge) {
        self.script.squeeze(c, self.at);
    }
}

/// Proof offsets of the commitments, in halo2-axiom's transcript order.
struct Commitments {
    advice: Vec<usize>,
    lookup: Vec<[usize; 3]>,
    perm_z: Vec<usize>,
    random: usize,
    quotient: Vec<usize>,
}

impl Commitments {
    /// Advice (first phase; round 0 also absorbs the vk representative and the instances, which
    /// the renderer prefixes), θ, lookup permuted pairs, β, γ, permutation products, lookup
    /// products, the random polynomial, y, the quotient pieces, x.
    fn read(rd: &mut Reader, advice: usize, lookups: usize, perm_sets: usize, quotient: usize) -> Self {
        let advice = (0..advice).map(|_| rd.point()).collect();
        rd.squeeze(Challenge::Theta);
        let mut lookup: Vec<[usize; 3]> = (0..lookups).map(|_| [rd.point(), rd.point(), 0]).collect();
        rd.squeeze(Challenge::Beta);
        rd.squeeze(Challenge::Gamma);
        let perm_z = (0..perm_sets).map(|_| rd.point()).collect();
        for l in lookup.iter_mut() {
            l[2] = rd.point();
        }
        let random = rd.point();
        rd.squeeze(Challenge::Y);
        let quotient = (0..quotient).map(|_| rd.point()).collect();
        rd.squeeze(Challenge::X);
        Commitments { advice, lookup, perm_z, random, quotient }
    }
}

/// Proof offsets of the evaluations at x, in halo2-axiom's order: advice, fixed, random, σ,
/// permutation products (z, z(ωx), z(ω^last x) except for the last set), lookups.
struct Evaluations {
    advice_queries: Vec<(usize, i32)>,
    advice_evals: Vec<usize>,
    fixed_queries: Vec<(usize, i32)>,
    fixed_evals: Vec<usize>,
    random_eval: usize,
    sigma_evals: Vec<usize>,
    instance_queries: Vec<i32>,
    perm_sets: Vec<PermSet>,
    lookups: Vec<Lookup>,
}

impl Evaluations {
    fn read(
        rd: &mut Reader,
        vk: &VerifyingKey<G1Affine>,
        perm_columns: &[halo2_proofs::plonk::Column<Any>],
        chunk_len: usize,
    ) -> Result<Self> {
        let cs = vk.cs();
        let num_sets = perm_columns.len().div_ceil(chunk_len);
        let advice_queries: Vec<(usize, i32)> =
            cs.advice_queries().iter().map(|(c, r)| (c.index(), r.0)).collect();
        let advice_evals: Vec<usize> = advice_queries.iter().map(|_| rd.scalar()).collect();
        let fixed_queries: Vec<(usize, i32)> =
            cs.fixed_queries().iter().map(|(c, r)| (c.index(), r.0)).collect();
        let fixed_evals: Vec<usize> = fixed_queries.iter().map(|_| rd.scalar()).collect();
        let random_eval = rd.scalar();
        let sigma_evals: Vec<usize> = vk.permutation().commitments().iter().map(|_| rd.scalar()).collect();
        let instance_queries: Vec<i32> = cs.instance_queries().iter().map(|(_, r)| r.0).collect();
        let mut perm_sets = Vec::with_capacity(num_sets);
        for (i, chunk) in perm_columns.chunks(chunk_len).enumerate() {
            let columns = chunk
                .iter()
                .map(|col| {
                    Ok(match col.column_type() {
                        Any::Advice(_) => {
                            ColumnEval::Advice(query_index(&advice_queries, &(col.index(), 0), "advice")?)
                        }
                        Any::Fixed => {
                            ColumnEval::Fixed(query_index(&fixed_queries, &(col.index(), 0), "fixed")?)
                        }
                        Any::Instance => {
                            ColumnEval::Instance(query_index(&instance_queries, &0, "instance")?)
                        }
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let (z, z_next) = (rd.scalar(), rd.scalar());
            let z_last = (i + 1 < num_sets).then(|| rd.scalar());
            perm_sets.push(PermSet { columns, first_column: i * chunk_len, z, z_next, z_last });
        }
        let lookups = cs
            .lookups()
            .iter()
            .map(|l| Lookup {
                name: l.name().to_string(),
                inputs: l.input_expressions().clone(),
                tables: l.table_expressions().clone(),
                z: rd.scalar(),
                z_next: rd.scalar(),
                input: rd.scalar(),
                input_prev: rd.scalar(),
                table: rd.scalar(),
            })
            .collect();
        Ok(Evaluations {
            advice_queries,
            advice_evals,
            fixed_queries,
            fixed_evals,
            random_eval,
            sigma_evals,
            instance_queries,
            perm_sets,
            lookups,
        })
    }
}

/// Builds the rounds of the transcript from a flat list of absorbed ranges and squeezes.
struct Script {
    rounds: Vec<Round>,
}

impl Script {
    fn absorb(&mut self, offset: usize, len: usize, point: bool) {
        let need_new = self.rounds.last().is_none_or(|r| !r.squeezes.is_empty());
        if need_new {
            self.rounds.push(Round { start: offset, len: 0, points: vec![], squeezes: vec![] });
        }
        if let Some(r) = self.rounds.last_mut() {
            debug_assert_eq!(r.start + r.len, offset);
            r.len += len;
            if point {
                r.points.push(offset);
            }
        }
    }
    fn squeeze(&mut self, c: Challenge, at: usize) {
        if self.rounds.is_empty() {
            self.rounds.push(Round { start: at, len: 0, points: vec![], squeezes: vec![] });
        }
        if let Some(r) = self.rounds.last_mut() {
            r.squeezes.push(c);
        }
    }
}

fn query_index<T: PartialEq>(queries: &[T], q: &T, what: &str) -> Result<usize> {
    queries
        .iter()
        .position(|x| x == q)
        .ok_or_else(|| Error::Unsupported(format!("{what} query missing from the constraint system")))
}

impl Plan {
    /// Reads everything the verifier needs from `vk` (and the SRS elements from `params`).
    pub(crate) fn new(
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        num_instances: usize,
        weights: Option<&crate::WeightsKnowledge>,
    ) -> Result<Self> {
        let cs = vk.cs();
        let domain = vk.get_domain();
        let k = domain.k();
        if params.k() != k {
            return Err(Error::ParamsMismatch(format!(
                "params have k = {}, the verifying key k = {k} (the verifier computes x^n with the \
                 params' n, so they must match)",
                params.k()
            )));
        }
        if cs.num_instance_columns() != 1 {
            return Err(Error::Unsupported(format!(
                "{} instance columns (exactly one is supported)",
                cs.num_instance_columns()
            )));
        }
        let n = 1u64 << k;
        let blinding_factors = cs.blinding_factors();
        let max_instances = n as usize - (blinding_factors + 1);
        if num_instances == 0 || num_instances > max_instances {
            return Err(Error::InvalidInput(format!(
                "num_instances = {num_instances}; must be in 1..={max_instances} for k = {k}"
            )));
        }
        // vk.cs_degree is private; the domain was built from the same degree (j = degree).
        let cs_degree = domain.get_quotient_poly_degree() + 1;
        if cs_degree < 3 {
            return Err(Error::Unsupported(format!("constraint degree {cs_degree} < 3")));
        }
        let quotient_pieces = domain.get_quotient_poly_degree();

        let challenge_phase = cs.challenge_phase();
        let num_phases =
            cs.advice_column_phase().iter().chain(&challenge_phase).copied().max().unwrap_or(0) + 1;
        if num_phases > 1 || !challenge_phase.is_empty() {
            return Err(Error::Unsupported(format!(
                "{num_phases} advice phases and {} challenges (only first-phase circuits without \
                 challenges are supported)",
                challenge_phase.len()
            )));
        }

        let mut rd = Reader { at: 0, script: Script { rounds: vec![] } };
        let perm_columns = cs.permutation().get_columns();
        let chunk_len = cs_degree - 2;
        let num_sets = perm_columns.len().div_ceil(chunk_len);
        let coms = Commitments::read(
            &mut rd,
            cs.num_advice_columns(),
            cs.lookups().len(),
            num_sets,
            quotient_pieces,
        );

        let evals_start = rd.at;
        let Evaluations {
            advice_queries,
            advice_evals,
            fixed_queries,
            fixed_evals,
            random_eval,
            sigma_evals,
            instance_queries,
            perm_sets,
            lookups,
        } = Evaluations::read(&mut rd, vk, &perm_columns, chunk_len)?;
        let evals_len = rd.at - evals_start;
        rd.squeeze(Challenge::ShplonkY);
        rd.squeeze(Challenge::ShplonkV);
        let w = rd.point();
        rd.squeeze(Challenge::ShplonkU);
        let w_prime = rd.point();
        let mut proof_len = rd.at;
        let weights = match weights {
            None => None,
            Some(wk) => {
                let words = wk.columns.len() * crate::WeightsKnowledge::WORDS_PER_COLUMN;
                if wk.columns.is_empty()
                    || wk.columns.iter().any(|&c| c >= coms.advice.len())
                    || wk.first_word + words >= num_instances
                {
                    return Err(Error::InvalidInput(format!(
                        "weights knowledge proof over advice columns {:?} with commitment words from instance \
                         {}: the circuit has {} advice columns and {num_instances} instances (the fulfiller last)",
                        wk.columns,
                        wk.first_word,
                        coms.advice.len()
                    )));
                }
                let at = proof_len;
                proof_len += crate::WeightsKnowledge::PROOF_BYTES;
                Some((wk.clone(), at))
            }
        };

        let constraints = cs
            .gates()
            .iter()
            .flat_map(|gate| {
                gate.polynomials().iter().enumerate().map(move |(i, poly)| Constraint {
                    gate: gate.name().to_string(),
                    name: gate.constraint_name(i).to_string(),
                    poly: poly.clone(),
                })
            })
            .collect::<Vec<_>>();

        let mut plan = Plan {
            k,
            omega: domain.get_omega(),
            omega_inv: domain.get_omega_inv(),
            n_inv: Option::from(Fr::from(n).invert())
                .ok_or_else(|| Error::Unsupported("n is not invertible".into()))?,
            blinding_factors,
            num_instances,
            vk_repr: vk.transcript_repr(),
            g1: *params
                .get_g()
                .first()
                .ok_or_else(|| Error::ParamsMismatch("params hold no G1 powers".into()))?,
            g2: params.g2(),
            s_g2: params.s_g2(),
            fixed_commitments: vk.fixed_commitments().clone(),
            sigma_commitments: vk.permutation().commitments().clone(),
            advice_coms: coms.advice,
            lookup_coms: coms.lookup,
            perm_z_coms: coms.perm_z,
            random_com: coms.random,
            quotient_coms: coms.quotient,
            advice_queries,
            advice_evals,
            fixed_queries,
            fixed_evals,
            instance_queries,
            random_eval,
            sigma_evals,
            perm_sets,
            lookups,
            constraints,
            num_user_challenges: 0,
            w,
            w_prime,
            proof_len,
            weights,
            evals_start,
            evals_len,
            rounds: rd.script.rounds,
            queries: vec![],
            rotation_sets: vec![],
            all_rots: vec![],
        };
        plan.check_expressions()?;
        plan.queries = plan.build_queries();
        let (sets, all_rots) = rotation_sets(&plan.queries)?;
        plan.rotation_sets = sets;
        plan.all_rots = all_rots;
        Ok(plan)
    }

    /// The opening claims, in exactly the order of halo2-axiom's verifier (SHPLONK groups
    /// commitments by first appearance, so this order fixes the batching coefficients).
    fn build_queries(&self) -> Vec<Query> {
        let mut q = Vec::new();
        let last = -(self.blinding_factors as i32 + 1);
        for (i, (col, rot)) in self.advice_queries.iter().enumerate() {
            q.push(Query { com: Com::Advice(*col), rot: *rot, eval: Scalar::Proof(self.advice_evals[i]) });
        }
        for (i, set) in self.perm_sets.iter().enumerate() {
            q.push(Query { com: Com::PermZ(i), rot: 0, eval: Scalar::Proof(set.z) });
            q.push(Query { com: Com::PermZ(i), rot: 1, eval: Scalar::Proof(set.z_next) });
        }
        for (i, set) in self.perm_sets.iter().enumerate().rev().skip(1) {
            if let Some(z_last) = set.z_last {
                q.push(Query { com: Com::PermZ(i), rot: last, eval: Scalar::Proof(z_last) });
            }
        }
        for (i, l) in self.lookups.iter().enumerate() {
            q.push(Query { com: Com::LookupZ(i), rot: 0, eval: Scalar::Proof(l.z) });
            q.push(Query { com: Com::LookupInput(i), rot: 0, eval: Scalar::Proof(l.input) });
            q.push(Query { com: Com::LookupTable(i), rot: 0, eval: Scalar::Proof(l.table) });
            q.push(Query { com: Com::LookupInput(i), rot: -1, eval: Scalar::Proof(l.input_prev) });
            q.push(Query { com: Com::LookupZ(i), rot: 1, eval: Scalar::Proof(l.z_next) });
        }
        for (i, (col, rot)) in self.fixed_queries.iter().enumerate() {
            q.push(Query { com: Com::Fixed(*col), rot: *rot, eval: Scalar::Proof(self.fixed_evals[i]) });
        }
        for (i, e) in self.sigma_evals.iter().enumerate() {
            q.push(Query { com: Com::Sigma(i), rot: 0, eval: Scalar::Proof(*e) });
        }
        q.push(Query { com: Com::Quotient, rot: 0, eval: Scalar::QuotientEval });
        q.push(Query { com: Com::Random, rot: 0, eval: Scalar::Proof(self.random_eval) });
        q
    }

    /// Rejects expressions the verifier cannot evaluate (virtual selectors survive only in
    /// constraint systems that were not passed through keygen).
    fn check_expressions(&self) -> Result<()> {
        let all = self
            .constraints
            .iter()
            .map(|c| &c.poly)
            .chain(self.lookups.iter().flat_map(|l| l.inputs.iter().chain(&l.tables)));
        for e in all {
            check_expression(e, self)?;
        }
        Ok(())
    }

    /// Byte offset of the advice evaluation for `(column, rotation)`.
    pub(crate) fn advice_eval(&self, col: usize, rot: i32) -> Result<usize> {
        Ok(self.advice_evals[query_index(&self.advice_queries, &(col, rot), "advice")?])
    }

    /// Byte offset of the fixed evaluation for `(column, rotation)`.
    pub(crate) fn fixed_eval(&self, col: usize, rot: i32) -> Result<usize> {
        Ok(self.fixed_evals[query_index(&self.fixed_queries, &(col, rot), "fixed")?])
    }

    /// Index of the instance query at `rot`.
    pub(crate) fn instance_query(&self, rot: i32) -> Result<usize> {
        query_index(&self.instance_queries, &rot, "instance")
    }

    /// Powers of ω: ω^rot for any (negative too) rotation.
    pub(crate) fn omega_pow(&self, rot: i64) -> Fr {
        if rot >= 0 {
            self.omega.pow_vartime([rot as u64])
        } else {
            self.omega_inv.pow_vartime([rot.unsigned_abs()])
        }
    }

    /// δ^i, the coset shift of the i-th permuted column.
    pub(crate) fn delta_pow(i: usize) -> Fr {
        Fr::DELTA.pow_vartime([i as u64])
    }
}

fn check_expression(e: &Expression<Fr>, plan: &Plan) -> Result<()> {
    match e {
        Expression::Constant(_) => Ok(()),
        Expression::Selector(_) => Err(Error::Unsupported(
            "virtual selector in a verifying key (selectors are removed by keygen)".into(),
        )),
        Expression::Fixed(q) => plan.fixed_eval(q.column_index(), q.rotation().0).map(|_| ()),
        Expression::Advice(q) => plan.advice_eval(q.column_index(), q.rotation().0).map(|_| ()),
        Expression::Instance(q) => plan.instance_query(q.rotation().0).map(|_| ()),
        Expression::Challenge(c) => {
            if c.index() < plan.num_user_challenges {
                Ok(())
            } else {
                Err(Error::Unsupported(format!("challenge {} out of range", c.index())))
            }
        }
        Expression::Negated(a) | Expression::Scaled(a, _) => check_expression(a, plan),
        Expression::Sum(a, b) | Expression::Product(a, b) => {
            check_expression(a, plan)?;
            check_expression(b, plan)
        }
    }
}

/// Groups the queries into SHPLONK rotation sets exactly as halo2-axiom's
/// `construct_intermediate_sets`: commitments in order of first appearance, each with the set of
/// rotations it is opened at; sets in order of their first commitment.
fn rotation_sets(queries: &[Query]) -> Result<(Vec<RotationSet>, Vec<i32>)> {
    let mut per_com: Vec<(Com, BTreeSet<i32>)> = Vec::new();
    for q in queries {
        match per_com.iter_mut().find(|(c, _)| *c == q.com) {
            Some((_, rots)) => {
                if !rots.insert(q.rot) {
                    return Err(Error::Unsupported(format!(
                        "{:?} is queried twice at rotation {}",
                        q.com, q.rot
                    )));
                }
            }
            None => per_com.push((q.com, BTreeSet::from([q.rot]))),
        }
    }
    let mut sets: Vec<RotationSet> = Vec::new();
    for (com, rots) in per_com {
        let rots: Vec<i32> = rots.into_iter().collect();
        let evals = rots
            .iter()
            .map(|r| {
                queries
                    .iter()
                    .find(|q| q.com == com && q.rot == *r)
                    .map(|q| q.eval)
                    .ok_or_else(|| Error::Unsupported("query vanished".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        match sets.iter_mut().find(|s| s.rots == rots) {
            Some(set) => set.coms.push((com, evals)),
            None => sets.push(RotationSet { rots, coms: vec![(com, evals)] }),
        }
    }
    let all: BTreeSet<i32> = queries.iter().map(|q| q.rot).collect();
    Ok((sets, all.into_iter().collect()))
}
