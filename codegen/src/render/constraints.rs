//! Evaluation at x: x^n, the one batched inversion, Lagrange values, the instance evaluations (a
//! loop, so code size does not grow with the number of instances) and the constraint identity
//! folded with y into the expected quotient evaluation h(x) (halo2-axiom's vanishing argument).

use super::{r_minus_1, times_omega_pow, Ctx};
use crate::{
    field::fr_lit,
    plan::{Challenge, ColumnEval, Plan},
    yul::{add, hex_addr, mul, product, sub, sum, Emitter, Writer, E},
};
use halo2_proofs::{halo2curves::bn256::Fr, plonk::Expression};

impl Ctx<'_> {
    /// x^n, every denominator (including SHPLONK's, all challenges are known by now), one batched
    /// inversion, then the Lagrange values and instance evaluations.
    pub(super) fn evaluations(&self, w: &mut Writer) {
        let p = self.plan;
        let m = &self.mem;
        let d = &m.denoms;
        w.comment("----------------------------------------------------------------------------------");
        w.comment("Denominators, one batched inversion, Lagrange values and instance evaluations");
        w.comment("----------------------------------------------------------------------------------");
        w.open("");
        w.line(format!("let x := mload({}) // x", hex_addr(self.ch(Challenge::X))));
        w.line("let xn := x");
        w.open(format!("for {{ let i := 0 }} lt(i, {}) {{ i := add(i, 1) }}", p.k));
        w.line("xn := mulmod(xn, xn, R)");
        w.close();
        w.line(format!("mstore({}, xn) // x^n", hex_addr(m.xn)));
        w.line(format!(
            "mstore({}, addmod(xn, {}, R)) // x^n - 1",
            hex_addr(m.inv(d.xn_minus_1)),
            r_minus_1()
        ));
        for (rot, i) in &d.lagrange {
            w.line(format!(
                "mstore({}, addmod({}, {}, R)) // x·ω^({}) - 1",
                hex_addr(m.inv(*i)),
                times_omega_pow(p, "x", -(*rot as i64)),
                r_minus_1(),
                -rot
            ));
        }
        let queries: Vec<(usize, i32)> = p.instance_queries.iter().copied().enumerate().collect();
        for (i, chunk) in queries.chunks(2).enumerate() {
            self.instance_loop(w, chunk, i == 0);
        }
        if queries.is_empty() {
            w.comment("The instance column is never queried; instances must still be canonical.");
            w.line(format!(
                "ok := and(ok, valid_scalars({}, {}))",
                hex_addr(m.instances),
                hex_addr(m.instances + 32 * p.num_instances)
            ));
        }
        let u = self.ch(Challenge::ShplonkU);
        w.line(format!("let u := mload({}) // SHPLONK u", hex_addr(u)));
        for r in &p.all_rots {
            w.line(format!(
                "mstore({}, addmod(u, sub(R, {}), R)) // u - x·ω^({r})",
                hex_addr(m.u_minus_point[r]),
                times_omega_pow(p, "x", *r as i64)
            ));
        }
        if let Some(i) = d.x {
            w.line(format!("mstore({}, x)", hex_addr(m.inv(i))));
        }
        for (r, i) in &d.u_minus_point {
            w.line(format!("mstore({}, mload({}))", hex_addr(m.inv(*i)), hex_addr(m.u_minus_point[r])));
        }
        if let (Some(i), Some(set)) = (d.z_diff_0, p.rotation_sets.first()) {
            let outside: Vec<E> = p
                .all_rots
                .iter()
                .filter(|r| !set.rots.contains(r))
                .map(|r| E::mem(m.u_minus_point[r]))
                .collect();
            let mut em = Emitter::new(m.temps);
            let code = em.emit(w, &product(outside));
            w.line(format!(
                "mstore({}, {code}) // z_diff_0: Π (u - x·ω^r) over rotations outside set 0",
                hex_addr(m.inv(i))
            ));
        }
        w.line(format!(
            "ok := and(ok, batch_invert({}, {}, {}))",
            hex_addr(m.inv_start),
            hex_addr(m.inv(d.len)),
            hex_addr(m.inv_prefix)
        ));
        w.close();
        w.open("");
        w.comment("l_i(x) = (x^n - 1) / n / (x·ω^(-i) - 1)");
        w.line(format!(
            "let common := mulmod(addmod(mload({}), {}, R), {}, R) // (x^n - 1) / n",
            hex_addr(m.xn),
            r_minus_1(),
            fr_lit(&p.n_inv)
        ));
        w.line(format!("mstore({}, common)", hex_addr(m.lagrange_common)));
        let inv_of = |rot: i32| -> usize {
            d.lagrange
                .iter()
                .find(|(r, _)| *r == rot)
                .map(|(_, i)| m.inv(*i))
                .unwrap_or_else(|| unreachable!())
        };
        let last = -(p.blinding_factors as i32 + 1);
        w.line(format!("let l_last := mulmod(common, mload({}), R)", hex_addr(inv_of(last))));
        let blind: Vec<String> = ((last + 1)..0).map(|r| format!("mload({})", hex_addr(inv_of(r)))).collect();
        w.line(format!("let blind := {}", blind.first().cloned().unwrap_or_else(|| "0".into())));
        for b in blind.iter().skip(1) {
            w.line(format!("blind := addmod(blind, {b}, R)"));
        }
        w.line("let l_blind := mulmod(common, blind, R)");
        w.line(format!("mstore({}, l_last)", hex_addr(m.l_last)));
        w.line(format!("mstore({}, l_blind)", hex_addr(m.l_blind)));
        w.line(format!(
            "mstore({}, mulmod(common, mload({}), R)) // l_0",
            hex_addr(m.l_0),
            hex_addr(inv_of(0))
        ));
        w.line(format!(
            "mstore({}, addmod(1, sub(R, addmod(l_last, l_blind, R)), R)) // 1 - (l_last + l_blind)",
            hex_addr(m.l_active)
        ));
        for (q, i) in d.instance.iter().enumerate() {
            w.line(format!(
                "mstore({}, mulmod(common, mulmod(mload({}), mload({}), R), R)) // instance evaluation {q}",
                hex_addr(m.instance_eval[q]),
                hex_addr(m.instance_num[q]),
                hex_addr(m.inv(*i))
            ));
        }
        w.close();
        w.line("");
    }

    /// For each instance query (column rotation `rot`), Σ_j inst_j · l_{j-rot}(x) divided by the
    /// common (x^n - 1)/n is Σ_j inst_j / (x·ω^{rot-j} - 1): accumulated as one fraction num/den per
    /// query so the loop needs no inversion (each den joins the batched inversion). One pass over the
    /// instances serves up to two queries.
    fn instance_loop(&self, w: &mut Writer, queries: &[(usize, i32)], check_range: bool) {
        let p = self.plan;
        let m = &self.mem;
        w.open("");
        let rots: Vec<String> = queries.iter().map(|(q, r)| format!("query {q} at rotation {r}")).collect();
        w.comment(format!(
            "Instances ({}): Σ_j inst_j / (x·ω^(rot-j) - 1) as num/den{}.",
            rots.join(", "),
            if check_range { "; also checks every instance < r" } else { "" }
        ));
        // t = x·ω^(rot_0 - j); the other query's t is t·ω^(rot_1 - rot_0).
        let rot0 = queries.first().map_or(0, |(_, r)| *r);
        w.line(format!("let t := {}", times_omega_pow(p, "x", rot0 as i64)));
        for (k, _) in queries.iter().enumerate() {
            w.line(format!("let num{k} := 0"));
            w.line(format!("let den{k} := 1"));
        }
        let body = |w: &mut Writer, at: &str| {
            w.line(format!("let inst := mload({at})"));
            if check_range {
                w.line("ok := and(ok, lt(inst, R))");
            }
            for (k, (_, rot)) in queries.iter().enumerate() {
                let tk = if k == 0 { "t".to_string() } else { times_omega_pow(p, "t", (*rot - rot0) as i64) };
                w.open("");
                w.line(format!("let d := addmod({tk}, {}, R)", r_minus_1()));
                w.line(format!("num{k} := addmod(mulmod(num{k}, d, R), mulmod(inst, den{k}, R), R)"));
                w.line(format!("den{k} := mulmod(den{k}, d, R)"));
                w.close();
            }
            w.line(format!("t := mulmod(t, {}, R) // · ω^-1", fr_lit(&p.omega_inv)));
        };
        // (Unrolling this loop measured no gain with the legacy optimizer; it stays a plain loop so
        // code size does not depend on the number of instances.)
        w.open(format!(
            "for {{ let ptr := {} }} lt(ptr, {}) {{ ptr := add(ptr, 0x20) }}",
            hex_addr(m.instances),
            hex_addr(m.instances + 32 * p.num_instances)
        ));
        body(w, "ptr");
        w.close();
        for (k, (q, _)) in queries.iter().enumerate() {
            w.line(format!("mstore({}, num{k})", hex_addr(m.instance_num[*q])));
            w.line(format!("mstore({}, den{k})", hex_addr(m.inv(m.denoms.instance[*q]))));
        }
        w.close();
    }

    /// Folds every constraint with y (gates, permutation, lookups, in halo2's order) and stores
    /// h(x) = fold / (x^n - 1). Returns the number of memory temporaries used.
    pub(super) fn constraints(&self, w: &mut Writer) -> usize {
        let p = self.plan;
        let m = &self.mem;
        w.comment("----------------------------------------------------------------------------------");
        w.comment("Constraint identity at x, folded with y: h(x) = (Σ y^i · c_i(x)) / (x^n - 1)");
        w.comment("----------------------------------------------------------------------------------");
        w.open("");
        w.line(format!("let y := mload({}) // y", hex_addr(self.ch(Challenge::Y))));
        w.line("let h := 0");
        let mut em = Emitter::new(m.temps);
        let fold = |w: &mut Writer, em: &mut Emitter, label: &str, e: E| {
            em.reset();
            w.comment(label);
            let code = em.emit(w, &e);
            w.line(format!("h := addmod(mulmod(h, y, R), {code}, R)"));
        };
        for c in &p.constraints {
            let label = if c.name.is_empty() {
                format!("gate {:?}", c.gate)
            } else {
                format!("gate {:?}: {:?}", c.gate, c.name)
            };
            fold(w, &mut em, &label, self.expr(&c.poly));
        }
        for (label, e) in self.permutation_constraints() {
            fold(w, &mut em, &label, e);
        }
        for (label, e) in self.lookup_constraints() {
            fold(w, &mut em, &label, e);
        }
        w.line(format!(
            "mstore({}, mulmod(h, mload({}), R)) // h(x)",
            hex_addr(m.quotient_eval),
            hex_addr(m.inv(m.denoms.xn_minus_1))
        ));
        w.close();
        w.line("");
        em.max_used
    }

    /// A circuit expression over the proof's evaluations.
    fn expr(&self, e: &Expression<Fr>) -> E {
        let p = self.plan;
        let m = &self.mem;
        match e {
            Expression::Constant(c) => E::lit(fr_lit(c)),
            // Plan::new rejects virtual selectors and unknown queries; these lookups cannot fail.
            Expression::Selector(_) => unreachable!("virtual selectors are rejected by Plan::new"),
            Expression::Fixed(q) => E::mem(self.proof_mem(
                p.fixed_eval(q.column_index(), q.rotation().0).unwrap_or_else(|_| unreachable!()),
            )),
            Expression::Advice(q) => E::mem(self.proof_mem(
                p.advice_eval(q.column_index(), q.rotation().0).unwrap_or_else(|_| unreachable!()),
            )),
            Expression::Instance(q) => {
                E::mem(m.instance_eval[p.instance_query(q.rotation().0).unwrap_or_else(|_| unreachable!())])
            }
            Expression::Challenge(c) => E::mem(self.ch(Challenge::User(c.index()))),
            Expression::Negated(a) => E::Neg(Box::new(self.expr(a))),
            Expression::Sum(a, b) => add(self.expr(a), self.expr(b)),
            Expression::Product(a, b) => mul(self.expr(a), self.expr(b)),
            Expression::Scaled(a, c) => mul(self.expr(a), E::lit(fr_lit(c))),
        }
    }

    fn column_eval(&self, c: ColumnEval) -> E {
        let p = self.plan;
        match c {
            ColumnEval::Advice(q) => E::mem(self.proof_mem(p.advice_evals[q])),
            ColumnEval::Fixed(q) => E::mem(self.proof_mem(p.fixed_evals[q])),
            ColumnEval::Instance(q) => E::mem(self.mem.instance_eval[q]),
        }
    }

    /// halo2-axiom `permutation::verifier::Evaluated::expressions`, in order.
    fn permutation_constraints(&self) -> Vec<(String, E)> {
        let p = self.plan;
        let m = &self.mem;
        let ev = |o: usize| E::mem(self.proof_mem(o));
        let l_0 = E::mem(m.l_0);
        let mut out = Vec::new();
        let (Some(first), Some(last)) = (p.perm_sets.first(), p.perm_sets.last()) else {
            return out;
        };
        out.push(("permutation: l_0 · (1 - z_0)".into(), mul(l_0.clone(), sub(E::one(), ev(first.z)))));
        out.push((
            "permutation: l_last · (z_last^2 - z_last)".into(),
            mul(E::mem(m.l_last), sub(mul(ev(last.z), ev(last.z)), ev(last.z))),
        ));
        for (i, pair) in p.perm_sets.windows(2).enumerate() {
            if let Some(prev_last) = pair[0].z_last {
                out.push((
                    format!("permutation: l_0 · (z_{} - z_{}(ω^last x))", i + 1, i),
                    mul(l_0.clone(), sub(ev(pair[1].z), ev(prev_last))),
                ));
            }
        }
        let beta = E::mem(self.ch(Challenge::Beta));
        let gamma = E::mem(self.ch(Challenge::Gamma));
        let x = E::mem(self.ch(Challenge::X));
        for (i, set) in p.perm_sets.iter().enumerate() {
            let left = product(std::iter::once(ev(set.z_next)).chain(set.columns.iter().enumerate().map(
                |(j, c)| {
                    let sigma = ev(p.sigma_evals[set.first_column + j]);
                    sum([self.column_eval(*c), mul(beta.clone(), sigma), gamma.clone()])
                },
            )));
            let right =
                product(std::iter::once(ev(set.z)).chain(set.columns.iter().enumerate().map(|(j, c)| {
                    let delta = E::lit(fr_lit(&(Plan::delta_pow(set.first_column + j))));
                    sum([self.column_eval(*c), mul(mul(beta.clone(), x.clone()), delta), gamma.clone()])
                })));
            out.push((
                format!("permutation set {i}: (1 - l_last - l_blind) · (z(ωx) Π(v + βσ + γ) - z(x) Π(v + βδ^j x + γ))"),
                mul(E::mem(m.l_active), sub(left, right)),
            ));
        }
        out
    }

    /// halo2-axiom `lookup::verifier::Evaluated::expressions`, in order, per lookup.
    fn lookup_constraints(&self) -> Vec<(String, E)> {
        let p = self.plan;
        let m = &self.mem;
        let ev = |o: usize| E::mem(self.proof_mem(o));
        let theta = E::mem(self.ch(Challenge::Theta));
        let beta = E::mem(self.ch(Challenge::Beta));
        let gamma = E::mem(self.ch(Challenge::Gamma));
        let compress = |exprs: &[Expression<Fr>]| -> E {
            exprs
                .iter()
                .map(|e| self.expr(e))
                .reduce(|acc, e| add(mul(acc, theta.clone()), e))
                .unwrap_or_else(|| E::lit("0"))
        };
        let mut out = Vec::new();
        for (i, l) in p.lookups.iter().enumerate() {
            let name = format!("lookup {i} ({:?})", l.name);
            let z = ev(l.z);
            out.push((format!("{name}: l_0 · (1 - z)"), mul(E::mem(m.l_0), sub(E::one(), z.clone()))));
            out.push((
                format!("{name}: l_last · (z^2 - z)"),
                mul(E::mem(m.l_last), sub(mul(z.clone(), z.clone()), z.clone())),
            ));
            let left =
                product([ev(l.z_next), add(ev(l.input), beta.clone()), add(ev(l.table), gamma.clone())]);
            let right = product([
                z.clone(),
                add(compress(&l.inputs), beta.clone()),
                add(compress(&l.tables), gamma.clone()),
            ]);
            out.push((
                format!("{name}: (1 - l_last - l_blind) · (z(ωx)(A' + β)(S' + γ) - z(x)(θ-compressed inputs + β)(θ-compressed tables + γ))"),
                mul(E::mem(m.l_active), sub(left, right)),
            ));
            out.push((format!("{name}: l_0 · (A' - S')"), mul(E::mem(m.l_0), sub(ev(l.input), ev(l.table)))));
            out.push((
                format!("{name}: (1 - l_last - l_blind) · (A' - S') · (A' - A'(ω^-1 x))"),
                product([
                    E::mem(m.l_active),
                    sub(ev(l.input), ev(l.table)),
                    sub(ev(l.input), ev(l.input_prev)),
                ]),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::yul::{Emitter, Writer, E};

    #[test]
    fn var_leaves() {
        let mut w = Writer::new(0);
        let mut em = Emitter::new(0x100);
        assert_eq!(em.emit(&mut w, &E::Var("x")), "x");
    }
}
