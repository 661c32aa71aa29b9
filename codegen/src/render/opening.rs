//! The SHPLONK multi-opening (halo2-axiom `VerifierSHPLONK::verify_proof`) as one MSM and one
//! pairing check.
//!
//! For rotation sets S_0, S_1, … (commitments C_ij opened at the points x·ω^r, r ∈ S_i):
//! ```text
//! zd_i  = Π_{r ∉ S_i} (u − x·ω^r) / Π_{r ∉ S_0} (u − x·ω^r)
//! r_ij  = the interpolation of C_ij's claimed evaluations over S_i, at u
//! F     = Σ_i v^i·zd_i·Σ_j y^j·(C_ij − r_ij·G1) − Z_{S_0}(u)·W + u·W'
//! check   e(W', [s]G2) · e(F, −G2) = 1
//! ```

use super::Ctx;
use crate::{
    field::{fr_lit, g1_words, g2_words, word_lit},
    plan::{Challenge, Com, RotationSet, Scalar},
    yul::{hex_addr, mul, product, sum, Emitter, Writer, E},
};
use halo2_proofs::halo2curves::{bn256::Fr, ff::Field};

impl Ctx<'_> {
    pub(super) fn opening(&self, w: &mut Writer) {
        let p = self.plan;
        let m = &self.mem;
        let sy = hex_addr(self.ch(Challenge::ShplonkY));
        let sv = hex_addr(self.ch(Challenge::ShplonkV));
        w.comment("----------------------------------------------------------------------------------");
        w.comment("SHPLONK opening: one MSM F, then e(W', [s]G2) · e(F, -G2) == 1");
        w.comment("F = Σ_i v^i·zd_i·Σ_j y^j·(C_ij - r_ij·G1) - Z_S0(u)·W + u·W'; accumulator at 0x00..0x40");
        w.comment("----------------------------------------------------------------------------------");
        w.open("");
        w.line("let r_outer := 0 // Σ_i v^i·zd_i·Σ_j y^j·r_ij");
        w.line("let v_pow := 1");
        let mut started = false;
        for (i, set) in p.rotation_sets.iter().enumerate() {
            w.open("");
            w.comment(format!(
                "Rotation set {i}: rotations {:?}; commitments {:?}",
                set.rots,
                set.coms.iter().map(|(c, _)| *c).collect::<Vec<_>>()
            ));
            self.set_lagrange(w, i, set);
            if i == 0 {
                w.line("let coef := v_pow // v^0 · zd_0 · y^0 = 1");
            } else {
                let mut factors = vec![E::Var("v_pow")];
                factors.extend(
                    p.all_rots.iter().filter(|r| !set.rots.contains(r)).map(|r| E::mem(m.u_minus_point[r])),
                );
                if let Some(d0) = m.denoms.z_diff_0 {
                    factors.push(E::mem(m.inv(d0)));
                }
                let mut em = Emitter::new(m.temps);
                let code = em.emit(w, &product(factors));
                w.line(format!("let coef := {code} // v^{i} · zd_{i} · y^0"));
            }
            for (j, (com, evals)) in set.coms.iter().enumerate() {
                if j > 0 {
                    w.line(format!("coef := mulmod(coef, mload({sy}), R) // · y"));
                }
                let mut em = Emitter::new(m.temps);
                let r = self.interpolation(i, evals);
                let code = em.emit(w, &mul(E::Var("coef"), r));
                w.line(format!("r_outer := addmod(r_outer, {code}, R) // {com:?}"));
                self.msm_term(w, *com, i == 0 && j == 0, &mut started);
            }
            w.close();
            if i + 1 < p.rotation_sets.len() {
                w.line(format!("v_pow := mulmod(v_pow, mload({sv}), R)"));
            }
        }
        let [g1x, g1y] = g1_words(&p.g1).map(|w| word_lit(&w));
        w.comment("- r_outer · G1");
        w.line(format!("msm_add({g1x}, {g1y}, sub(R, r_outer))"));
        if let Some(set0) = p.rotation_sets.first() {
            let mut em = Emitter::new(m.temps);
            let z0 = em.emit(w, &product(set0.rots.iter().map(|r| E::mem(m.u_minus_point[r]))));
            let wa = self.proof_mem(p.w);
            w.comment("- Z_S0(u) · W");
            w.line(format!("msm_add(mload({}), mload({}), sub(R, {z0}))", hex_addr(wa), hex_addr(wa + 32)));
        }
        let wp = self.proof_mem(p.w_prime);
        w.comment("+ u · W'");
        w.line(format!(
            "msm_add(mload({}), mload({}), mload({}))",
            hex_addr(wp),
            hex_addr(wp + 32),
            hex_addr(self.ch(Challenge::ShplonkU))
        ));
        w.comment("Pairing (0x08): e(W', [s]G2) · e(F, -G2) == 1");
        w.line("mstore(0xc0, mload(0x00))");
        w.line("mstore(0xe0, mload(0x20))");
        w.line(format!("mstore(0x00, mload({}))", hex_addr(wp)));
        w.line(format!("mstore(0x20, mload({}))", hex_addr(wp + 32)));
        for (k, word) in g2_words(&p.s_g2).iter().enumerate() {
            w.line(format!("mstore({}, {}) // [s]G2", hex_addr(0x40 + 32 * k), word_lit(word)));
        }
        for (k, word) in g2_words(&(-p.g2)).iter().enumerate() {
            w.line(format!("mstore({}, {}) // -G2", hex_addr(0x100 + 32 * k), word_lit(word)));
        }
        w.line("if iszero(staticcall(gas(), 0x08, 0x00, 0x180, 0x00, 0x20)) { revert(0x00, 0x00) }");
        w.line("ok := and(ok, mload(0x00))");
        w.close();
        w.line("if iszero(ok) { revert(0x00, 0x00) }");
        w.line("mstore(0x00, 1)");
        w.line("return(0x00, 0x20)");
    }

    /// acc += coef · com (the quotient expands to Σ_k (coef·x^{nk})·H_k). `one`: coef is 1.
    fn msm_term(&self, w: &mut Writer, com: Com, one: bool, started: &mut bool) {
        let p = self.plan;
        let mut add_point = |w: &mut Writer, [x, y]: [String; 2], coef: &str, one: bool| {
            match (*started, one) {
                (false, true) => {
                    w.line(format!("mstore(0x00, {x})"));
                    w.line(format!("mstore(0x20, {y})"));
                }
                (false, false) => {
                    w.line(format!("mstore(0x00, {x})"));
                    w.line(format!("mstore(0x20, {y})"));
                    w.line(format!("mstore(0x40, {coef})"));
                    w.line(
                        "if iszero(staticcall(gas(), 0x07, 0x00, 0x60, 0x00, 0x40)) { revert(0x00, 0x00) }",
                    );
                }
                (true, true) => w.line(format!("point_add({x}, {y})")),
                (true, false) => w.line(format!("msm_add({x}, {y}, {coef})")),
            }
            *started = true;
        };
        if com == Com::Quotient {
            w.open("");
            w.line("let c := coef // h = Σ_k x^(n·k)·H_k");
            for (k, o) in p.quotient_coms.iter().enumerate() {
                if k > 0 {
                    w.line(format!("c := mulmod(c, mload({}), R)", hex_addr(self.mem.xn)));
                }
                let a = self.proof_mem(*o);
                let pt = [format!("mload({})", hex_addr(a)), format!("mload({})", hex_addr(a + 32))];
                add_point(w, pt, "c", one && k == 0);
            }
            w.close();
        } else {
            add_point(w, self.point(com), "coef", one);
        }
    }

    /// Lagrange basis values at u for a multi-point set:
    /// L_k(u) = Z_S(u) / (u − x·ω^{r_k}) · x^{−(m−1)} / Π_{l≠k} (ω^{r_k} − ω^{r_l}).
    fn set_lagrange(&self, w: &mut Writer, i: usize, set: &RotationSet) {
        let p = self.plan;
        let m = &self.mem;
        if set.rots.len() < 2 {
            return;
        }
        let (Some(xi), slots) = (m.denoms.x, &m.set_lagrange[i]) else {
            return;
        };
        let zs = product(set.rots.iter().map(|r| E::mem(m.u_minus_point[r])));
        let mut em = Emitter::new(m.temps);
        let code = em.emit(w, &zs);
        w.line(format!("let z_s := {code} // Z_S(u)"));
        let inv_x = E::mem(m.inv(xi));
        let xpow = product((1..set.rots.len()).map(|_| inv_x.clone()));
        let code = em.emit(w, &xpow);
        w.line(format!("let zx := mulmod(z_s, {code}, R) // Z_S(u) · x^-(m-1)"));
        for (k, rk) in set.rots.iter().enumerate() {
            let wk = p.omega_pow(*rk as i64);
            let denom = set
                .rots
                .iter()
                .filter(|rl| *rl != rk)
                .map(|rl| wk - p.omega_pow(*rl as i64))
                .fold(Fr::ONE, |a, b| a * b);
            let c = Option::<Fr>::from(denom.invert()).unwrap_or_else(|| unreachable!("distinct rotations"));
            let inv_u = m.inv(m.denoms.u_minus_point[rk]);
            w.line(format!(
                "mstore({}, mulmod(zx, mulmod(mload({}), {}, R), R)) // L_{k}(u), rotation {rk}",
                hex_addr(slots[k]),
                hex_addr(inv_u),
                fr_lit(&c)
            ));
        }
    }

    /// The claimed evaluation of a query as an expression.
    pub(super) fn scalar(&self, s: Scalar) -> E {
        match s {
            Scalar::Proof(o) => E::mem(self.proof_mem(o)),
            Scalar::QuotientEval => E::mem(self.mem.quotient_eval),
        }
    }

    /// r_ij(u): the interpolation of the commitment's evaluations over the set, at u.
    pub(super) fn interpolation(&self, i: usize, evals: &[Scalar]) -> E {
        if evals.len() == 1 {
            return self.scalar(evals[0]);
        }
        let slots = &self.mem.set_lagrange[i];
        sum(evals.iter().zip(slots).map(|(e, l)| mul(self.scalar(*e), E::mem(*l))))
    }
}
