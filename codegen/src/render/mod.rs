//! Renders a [`Plan`] as Solidity: one `verifyProof` whose body is a single assembly block.

mod constraints;
mod opening;

use crate::{
    field::{fr_lit, g1_words, word_lit, Word, Q_HEX, R_HEX},
    layout::Layout,
    plan::{Challenge, Com, Plan, POINT_LEN},
    yul::{hex_addr, Writer},
};
use halo2_proofs::halo2curves::ff::Field;
use sha3::{Digest, Keccak256};

/// Where the verifying key's commitments live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// As literals in the verifier's code.
    Embedded,
    /// In a separate data contract, copied to memory with `EXTCODECOPY`.
    Separate,
}

/// The rendered contract(s).
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) solidity: String,
    /// `keccak256` of the key contract's runtime code, when separate.
    pub(crate) vk_code_hash: Option<Word>,
    /// The key contract's runtime code, when separate.
    pub(crate) vk_runtime: Option<Vec<u8>>,
}

/// Rendering context: the plan, its memory map and where vk words come from.
pub(crate) struct Ctx<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) mem: Layout,
    pub(crate) placement: Placement,
}

/// The verifying-key words that move to the key contract when separate: fixed then σ commitments.
fn vk_words(plan: &Plan) -> Vec<Word> {
    plan.fixed_commitments.iter().chain(&plan.sigma_commitments).flat_map(g1_words).collect()
}

impl Ctx<'_> {
    /// Yul expressions for the coordinates of a commitment.
    pub(crate) fn point(&self, com: Com) -> [String; 2] {
        let p = self.plan;
        let vk_point = |i: usize, w: &[Word; 2]| -> [String; 2] {
            match (self.placement, self.mem.vk_words) {
                (Placement::Separate, Some(base)) => {
                    let a = base + POINT_LEN * i;
                    [format!("mload({})", hex_addr(a)), format!("mload({})", hex_addr(a + 32))]
                }
                _ => [word_lit(&w[0]), word_lit(&w[1])],
            }
        };
        let proof_point = |offset: usize| -> [String; 2] {
            let a = self.mem.proof(p, offset);
            [format!("mload({})", hex_addr(a)), format!("mload({})", hex_addr(a + 32))]
        };
        match com {
            Com::Fixed(i) => vk_point(i, &g1_words(&p.fixed_commitments[i])),
            Com::Sigma(i) => vk_point(p.fixed_commitments.len() + i, &g1_words(&p.sigma_commitments[i])),
            Com::Advice(i) => proof_point(p.advice_coms[i]),
            Com::PermZ(i) => proof_point(p.perm_z_coms[i]),
            Com::LookupInput(i) => proof_point(p.lookup_coms[i][0]),
            Com::LookupTable(i) => proof_point(p.lookup_coms[i][1]),
            Com::LookupZ(i) => proof_point(p.lookup_coms[i][2]),
            Com::Random => proof_point(p.random_com),
            // The quotient is an MSM; `opening` expands it piece by piece.
            Com::Quotient => proof_point(p.quotient_coms[0]),
        }
    }

    pub(crate) fn ch(&self, c: Challenge) -> usize {
        self.mem.challenge(c)
    }

    pub(crate) fn proof_mem(&self, offset: usize) -> usize {
        self.mem.proof(self.plan, offset)
    }
}

/// Renders the verifier (and, when separate, the key contract) for `plan`.
pub(crate) fn render(plan: &Plan, placement: Placement) -> Rendered {
    let words = vk_words(plan);
    let separate = placement == Placement::Separate;
    let mem = Layout::new(plan, separate.then_some(words.len()));
    let ctx = Ctx { plan, mem, placement };

    let mut body = Writer::new(3);
    ctx.functions(&mut body);
    ctx.checks(&mut body);
    ctx.transcript(&mut body);
    ctx.weights_knowledge(&mut body);
    ctx.evaluations(&mut body);
    let temps = ctx.constraints(&mut body);
    ctx.opening(&mut body);
    let body = body.finish();

    let mut out = Writer::new(0);
    out.line("// SPDX-License-Identifier: MIT OR Apache-2.0");
    out.line("pragma solidity 0.8.26;");
    out.line("");
    let (vk_code_hash, vk_runtime) = if separate {
        let mut runtime = vec![0u8];
        for w in &words {
            runtime.extend_from_slice(w);
        }
        let hash: Word = Keccak256::digest(&runtime).into();
        ctx.key_contract(&mut out, &runtime);
        (Some(hash), Some(runtime))
    } else {
        (None, None)
    };
    ctx.header(&mut out, temps);
    out.open("contract Halo2Verifier");
    ctx.constants(&mut out, vk_code_hash.as_ref());
    if separate {
        out.line("");
        out.comment("The verifying-key contract, fixed at construction and checked by code hash.");
        out.line("address internal immutable VK;");
        out.line("");
        out.line("/// @param vk The deployed `Halo2VerifyingKey` contract of this circuit.");
        out.open("constructor(address vk)");
        out.line("require(vk.codehash == VK_CODE_HASH, \"Halo2Verifier: wrong verifying key\");");
        out.line("VK = vk;");
        out.close();
    }
    out.line("");
    out.line("/// @notice Checks a SHPLONK KZG proof over BN254 against its public instances.");
    out.line("/// @param proof The proof bytes exactly as the prover wrote them.");
    out.line("/// @param instances The public instances, each below the scalar field modulus.");
    out.line("/// @return Always true: every failure (invalid proof, wrong lengths, an instance >= r, non-canonical");
    out.line("///         calldata, a failed precompile) reverts, as EZKL's and PSE's verifiers do.");
    out.open(
        "function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool)",
    );
    if separate {
        out.line("address vk = VK;");
    }
    out.open("assembly");
    let mut text = out.finish();
    text.push_str(&body);
    let mut tail = Writer::new(3);
    tail.close();
    tail.close();
    tail.close();
    text.push_str(&tail.finish());
    Rendered { solidity: text, vk_code_hash, vk_runtime }
}

impl Ctx<'_> {
    fn header(&self, w: &mut Writer, temps: usize) {
        let p = self.plan;
        w.line("/// @title Halo2Verifier");
        w.line("/// @notice Verifies halo2 (KZG, SHPLONK, BN254) proofs of one circuit. Generated by zkoracle-codegen;");
        w.line("///         do not edit: regenerate from the verifying key instead.");
        w.line(format!(
            "/// @dev k = {}, {} instances, proof {} bytes; {} advice, {} fixed, {} permuted columns, {} gates \
             ({} constraints), {} lookups; {} rotation sets over rotations {:?}; memory used: {:#x} bytes{}.",
            p.k,
            p.num_instances,
            p.proof_len,
            p.advice_coms.len(),
            p.fixed_commitments.len(),
            p.sigma_commitments.len(),
            p.constraints.iter().map(|c| &c.gate).collect::<std::collections::BTreeSet<_>>().len(),
            p.constraints.len(),
            p.lookups.len(),
            p.rotation_sets.len(),
            p.all_rots,
            self.mem.temps + 32 * temps,
            if self.placement == Placement::Separate {
                "; verifying-key commitments live in the separate Halo2VerifyingKey contract"
            } else {
                ""
            }
        ));
    }

    fn constants(&self, w: &mut Writer, vk_code_hash: Option<&Word>) {
        let p = self.plan;
        w.line(format!("uint256 internal constant PROOF_LEN = {};", p.proof_len));
        w.line(format!("uint256 internal constant NUM_INSTANCES = {};", p.num_instances));
        if let Some(h) = vk_code_hash {
            w.line(format!("bytes32 internal constant VK_CODE_HASH = 0x{};", hex::encode(h)));
        }
    }

    fn key_contract(&self, w: &mut Writer, runtime: &[u8]) {
        w.line("/// @title Halo2VerifyingKey");
        w.line(
            "/// @notice Data-only contract holding the verifying key's fixed and permutation commitments",
        );
        w.line("///         (x, y big-endian words) for Halo2Verifier. Its runtime code is `0x00 ‖ words`:");
        w.line("///         calling it stops at once. Generated by zkoracle-codegen.");
        w.open("contract Halo2VerifyingKey");
        w.open("constructor()");
        w.open("assembly");
        // Byte 0 is STOP; words follow. Write them at 0x01.. by storing each word shifted.
        w.line("mstore8(0x00, 0x00)");
        for (i, chunk) in runtime[1..].chunks(32).enumerate() {
            let mut word = [0u8; 32];
            word[..chunk.len()].copy_from_slice(chunk);
            w.line(format!("mstore({}, 0x{})", hex_addr(1 + 32 * i), hex::encode(word)));
        }
        w.line(format!("return(0x00, {})", hex_addr(runtime.len())));
        w.close();
        w.close();
        w.close();
        w.line("");
    }

    /// Yul helper functions.
    fn functions(&self, w: &mut Writer) {
        w.comment("----------------------------------------------------------------------------------");
        w.comment("Helpers");
        w.comment("----------------------------------------------------------------------------------");
        w.line("");
        w.comment("1 iff every (x, y) in memory [start, end) is a point of y^2 = x^3 + 3 over F_q with");
        w.comment(
            "canonical coordinates (the identity, encoded (0, 0), is rejected: provers never write it).",
        );
        w.open("function valid_points(start, end) -> valid");
        w.line(format!("let q := {Q_HEX}"));
        w.line("valid := 1");
        w.open("for { let p := start } lt(p, end) { p := add(p, 0x40) }");
        w.line("let x := mload(p)");
        w.line("let y := mload(add(p, 0x20))");
        w.line("valid := and(valid, and(lt(x, q), lt(y, q)))");
        w.line("valid := and(valid, eq(mulmod(y, y, q), addmod(mulmod(x, mulmod(x, x, q), q), 3, q)))");
        w.close();
        w.close();
        w.line("");
        w.comment("1 iff every word in memory [start, end) is a canonical scalar (< r).");
        w.open("function valid_scalars(start, end) -> valid");
        w.line("valid := 1");
        w.open("for { let p := start } lt(p, end) { p := add(p, 0x20) }");
        w.line(format!("valid := and(valid, lt(mload(p), {R_HEX}))"));
        w.close();
        w.close();
        w.line("");
        w.comment("Inverts the words in [start, end) in place (Montgomery's trick: one modexp for all),");
        w.comment("using [prefix, prefix + end - start) for prefix products. 0 if any word is 0.");
        w.comment("The modexp precompile (0x05) only fails for lack of gas: revert then.");
        w.open("function batch_invert(start, end, prefix) -> valid");
        w.line(format!("let R := {R_HEX}"));
        w.line("let acc := 1");
        w.line("let t := prefix");
        w.open("for { let p := start } lt(p, end) { p := add(p, 0x20) }");
        w.line("mstore(t, acc)");
        w.line("acc := mulmod(acc, mload(p), R)");
        w.line("t := add(t, 0x20)");
        w.close();
        w.line("valid := iszero(iszero(acc))");
        w.comment("acc^(r - 2)");
        w.line("mstore(0x00, 0x20)");
        w.line("mstore(0x20, 0x20)");
        w.line("mstore(0x40, 0x20)");
        w.line("mstore(0x60, acc)");
        w.line("mstore(0x80, sub(R, 2))");
        w.line("mstore(0xa0, R)");
        w.line("if iszero(staticcall(gas(), 0x05, 0x00, 0xc0, 0x00, 0x20)) { revert(0x00, 0x00) }");
        w.line("let inv := mload(0x00)");
        w.open("for { let p := end } gt(p, start) {}");
        w.line("p := sub(p, 0x20)");
        w.line("t := sub(t, 0x20)");
        w.line("let v := mload(p)");
        w.line("mstore(p, mulmod(inv, mload(t), R))");
        w.line("inv := mulmod(inv, v, R)");
        w.close();
        w.close();
        w.line("");
        w.comment("acc (memory 0x00..0x40) += s · (x, y), with ecMul (0x07) and ecAdd (0x06).");
        w.comment("Inputs are valid points, so a failing precompile means too little gas: revert.");
        w.open("function msm_add(x, y, s)");
        w.line("mstore(0x40, x)");
        w.line("mstore(0x60, y)");
        w.line("mstore(0x80, s)");
        w.line("if iszero(staticcall(gas(), 0x07, 0x40, 0x60, 0x40, 0x40)) { revert(0x00, 0x00) }");
        w.line("if iszero(staticcall(gas(), 0x06, 0x00, 0x80, 0x00, 0x40)) { revert(0x00, 0x00) }");
        w.close();
        w.line("");
        w.comment("acc (memory 0x00..0x40) += (x, y).");
        w.open("function point_add(x, y)");
        w.line("mstore(0x40, x)");
        w.line("mstore(0x60, y)");
        w.line("if iszero(staticcall(gas(), 0x06, 0x00, 0x80, 0x00, 0x40)) { revert(0x00, 0x00) }");
        w.close();
        w.line("");
    }

    /// Length checks; copies the separate key into memory.
    fn checks(&self, w: &mut Writer) {
        w.comment("----------------------------------------------------------------------------------");
        w.comment("Input checks");
        w.comment("----------------------------------------------------------------------------------");
        w.line(format!("let R := {R_HEX} // BN254 scalar field modulus"));
        w.line("let ok := 1");
        w.comment("Every failure reverts, as EZKL's and PSE's verifiers do: a client that treats \"did not revert\"");
        w.comment("as success never accepts an invalid proof.");
        w.comment(
            "Exact proof and instance lengths (the ABI decoder already bounds both by calldatasize), and the",
        );
        w.comment("canonical ABI layout only: the proof at offset 0x40, the instances right after the padded proof,");
        w.comment("nothing after them, so a client reading instances at EZKL's fixed offsets sees what is verified.");
        w.line("if iszero(and(eq(proof.length, PROOF_LEN), eq(instances.length, NUM_INSTANCES))) { revert(0x00, 0x00) }");
        w.line(format!(
            "if iszero(and(eq(calldataload(0x04), 0x40), eq(calldataload(0x24), {}))) {{ revert(0x00, 0x00) }}",
            hex_addr(self.instances_head())
        ));
        w.line(format!(
            "if iszero(eq(calldatasize(), {})) {{ revert(0x00, 0x00) }}",
            hex_addr(self.calldata_len())
        ));
        if let (Placement::Separate, Some(base)) = (self.placement, self.mem.vk_words) {
            let n = vk_words(self.plan).len();
            w.comment("Verifying-key commitments from the key contract (byte 0 is its STOP).");
            w.line(format!("extcodecopy(vk, {}, 1, {})", hex_addr(base), hex_addr(32 * n)));
        }
        w.line("");
    }

    /// The ABI head offset of `instances` in canonical `verifyProof(bytes,uint256[])` calldata: two head
    /// words, the proof's length word, the proof padded to 32 bytes.
    fn instances_head(&self) -> usize {
        0x40 + 0x20 + self.plan.proof_len.div_ceil(32) * 32
    }

    /// The exact size of canonical calldata: selector, head, proof, instances' length word and words.
    fn calldata_len(&self) -> usize {
        4 + self.instances_head() + 0x20 + 32 * self.plan.num_instances
    }

    /// Replays the keccak transcript of snark-verifier's `EvmTranscript`: the buffer starts with the
    /// vk representative and the instances; each squeeze hashes the buffer, keeps `hash mod r` as the
    /// challenge and restarts the buffer with the 32-byte hash; a squeeze with nothing absorbed since
    /// the last one hashes `hash ‖ 0x01`.
    fn transcript(&self, w: &mut Writer) {
        let p = self.plan;
        w.comment("----------------------------------------------------------------------------------");
        w.comment("Fiat-Shamir transcript (keccak256, as snark-verifier's EvmTranscript)");
        w.comment("----------------------------------------------------------------------------------");
        w.open("");
        w.line("let hash := 0");
        for (i, (round, mem)) in p.rounds.iter().zip(&self.mem.rounds).enumerate() {
            w.open("");
            let names: Vec<String> = round.squeezes.iter().map(|c| format!("{c:?}")).collect();
            if round.squeezes.is_empty() {
                w.comment(format!(
                    "Round {i}: read proof bytes [{}, {}) (absorbed, never squeezed).",
                    round.start,
                    round.start + round.len
                ));
            } else {
                w.comment(format!(
                    "Round {i}: absorb proof bytes [{}, {}), squeeze {}.",
                    round.start,
                    round.start + round.len,
                    names.join(", ")
                ));
            }
            let hashed_from;
            let hashed_len;
            if i == 0 {
                w.line(format!(
                    "mstore({}, {}) // vk.transcript_repr()",
                    hex_addr(mem.prefix),
                    fr_lit(&p.vk_repr)
                ));
                w.line(format!(
                    "calldatacopy({}, instances.offset, {})",
                    hex_addr(self.mem.instances),
                    hex_addr(32 * p.num_instances)
                ));
                hashed_from = mem.prefix;
                hashed_len = 32 * (1 + p.num_instances) + round.len;
            } else {
                hashed_from = mem.prefix;
                hashed_len = 32 + round.len;
            }
            if round.len > 0 {
                w.line(format!(
                    "calldatacopy({}, add(proof.offset, {}), {})",
                    hex_addr(mem.data),
                    hex_addr(round.start),
                    hex_addr(round.len)
                ));
            }
            if !round.points.is_empty() {
                let first = mem.data + (round.points[0] - round.start);
                let end = first + POINT_LEN * round.points.len();
                w.line(format!("ok := and(ok, valid_points({}, {}))", hex_addr(first), hex_addr(end)));
            }
            if round.start == p.evals_start && round.len > 0 {
                w.line(format!(
                    "ok := and(ok, valid_scalars({}, {}))",
                    hex_addr(mem.data),
                    hex_addr(mem.data + p.evals_len)
                ));
            }
            for (j, c) in round.squeezes.iter().enumerate() {
                if j == 0 {
                    if i > 0 {
                        w.line(format!("mstore({}, hash)", hex_addr(mem.prefix)));
                    }
                    if hashed_len == 32 {
                        w.line(format!("mstore8({}, 1)", hex_addr(hashed_from + 32)));
                        w.line(format!("hash := keccak256({}, 0x21)", hex_addr(hashed_from)));
                    } else {
                        w.line(format!(
                            "hash := keccak256({}, {})",
                            hex_addr(hashed_from),
                            hex_addr(hashed_len)
                        ));
                    }
                } else {
                    w.line("mstore(0x00, hash)");
                    w.line("mstore8(0x20, 1)");
                    w.line("hash := keccak256(0x00, 0x21)");
                }
                w.line(format!("mstore({}, mod(hash, R)) // {c:?}", hex_addr(self.ch(*c))));
            }
            w.close();
        }
        w.close();
        w.comment("Invalid points would make the EC precompiles burn all gas: stop here instead.");
        w.line("if iszero(ok) { revert(0x00, 0x00) }");
        w.line("");
    }
}

impl Ctx<'_> {
    /// `--params private`: checks the weights knowledge proof that follows the halo2 proof (see
    /// [`crate::WeightsKnowledge`]), with the expression temporaries' memory as its hash buffer (they are
    /// not used yet).
    fn weights_knowledge(&self, w: &mut Writer) {
        let Some((wk, at)) = &self.plan.weights else { return };
        let j = wk.columns.len();
        let m = self.mem.temps;
        w.comment("----------------------------------------------------------------------------------");
        w.comment("Weights knowledge proof: the proof's weight columns are the registered ones up to their");
        w.comment(
            "hiding rows, z0·B0 + z1·B1 = R + sum_j e^(j+1)·(C'_j - C_j), e = keccak(domain, C, C', R)",
        );
        w.comment("----------------------------------------------------------------------------------");
        w.open("");
        w.line(format!("let q := {Q_HEX}"));
        w.line(format!("mstore({}, 0x{}) // domain", hex_addr(m), hex::encode(wk.domain)));
        for (i, col) in wk.columns.iter().enumerate() {
            let word = |k: usize| hex_addr(32 * (wk.first_word + 4 * i + k));
            let c = m + 32 + 64 * i;
            w.comment(format!(
                "C_{i}: the registered commitment, from instance limbs (x_lo, x_hi, y_lo, y_hi)"
            ));
            for (half, (lo, hi)) in [(0, (0, 1)), (32, (2, 3))] {
                w.line(format!(
                    "mstore({}, or(calldataload(add(instances.offset, {})), shl(128, calldataload(add(instances.offset, {})))))",
                    hex_addr(c + half),
                    word(lo),
                    word(hi)
                ));
                w.line(format!(
                    "ok := and(ok, iszero(shr(128, or(calldataload(add(instances.offset, {})), calldataload(add(instances.offset, {}))))))",
                    word(lo),
                    word(hi)
                ));
            }
            let cp = m + 32 + 64 * (j + i);
            let off = self.plan.advice_coms[*col];
            w.comment(format!("C'_{i}: the proof's commitment of advice column {col}"));
            w.line(format!("mstore({}, calldataload(add(proof.offset, {})))", hex_addr(cp), hex_addr(off)));
            w.line(format!(
                "mstore({}, calldataload(add(proof.offset, {})))",
                hex_addr(cp + 32),
                hex_addr(off + 32)
            ));
        }
        let r = m + 32 + 128 * j;
        w.line(format!("mstore({}, calldataload(add(proof.offset, {}))) // R", hex_addr(r), hex_addr(*at)));
        w.line(format!(
            "mstore({}, calldataload(add(proof.offset, {})))",
            hex_addr(r + 32),
            hex_addr(at + 32)
        ));
        w.line(format!("let z0 := calldataload(add(proof.offset, {}))", hex_addr(at + 64)));
        w.line(format!("let z1 := calldataload(add(proof.offset, {}))", hex_addr(at + 96)));
        w.line(format!("ok := and(ok, valid_points({}, {}))", hex_addr(m + 32), hex_addr(r + 64)));
        w.line("ok := and(ok, and(lt(z0, R), lt(z1, R)))");
        w.line("if iszero(ok) { revert(0x00, 0x00) }");
        w.line(format!("let e := mod(keccak256({}, {}), R)", hex_addr(m), hex_addr(r + 64 - m)));
        let [b0x, b0y] = g1_words(&wk.bases[0]);
        let [b1x, b1y] = g1_words(&wk.bases[1]);
        w.comment("acc := z0·B0 + z1·B1 - R");
        w.line(format!("mstore(0x00, {})", word_lit(&b0x)));
        w.line(format!("mstore(0x20, {})", word_lit(&b0y)));
        w.line("mstore(0x40, z0)");
        w.line("if iszero(staticcall(gas(), 0x07, 0x00, 0x60, 0x00, 0x40)) { revert(0x00, 0x00) }");
        w.line(format!("msm_add({}, {}, z1)", word_lit(&b1x), word_lit(&b1y)));
        w.line(format!("point_add(mload({}), mod(sub(q, mload({})), q))", hex_addr(r), hex_addr(r + 32)));
        w.line("let pow := e");
        for i in 0..j {
            let (c, cp) = (m + 32 + 64 * i, m + 32 + 64 * (j + i));
            w.comment(format!("acc += e^{}·(C_{i} - C'_{i})", i + 1));
            w.line(format!("mstore(0x80, mload({}))", hex_addr(c)));
            w.line(format!("mstore(0xa0, mload({}))", hex_addr(c + 32)));
            w.line(format!("mstore(0xc0, mload({}))", hex_addr(cp)));
            w.line(format!("mstore(0xe0, mod(sub(q, mload({})), q))", hex_addr(cp + 32)));
            w.line("if iszero(staticcall(gas(), 0x06, 0x80, 0x80, 0x80, 0x40)) { revert(0x00, 0x00) }");
            w.line("msm_add(mload(0x80), mload(0xa0), pow)");
            if i + 1 < j {
                w.line("pow := mulmod(pow, e, R)");
            }
        }
        w.comment("The sum must be the identity, encoded (0, 0).");
        w.line("if iszero(and(iszero(mload(0x00)), iszero(mload(0x20)))) { revert(0x00, 0x00) }");
        w.close();
        w.line("");
    }
}

/// `var · ω^rot` as Yul (just `var` for rotation 0).
pub(crate) fn times_omega_pow(plan: &Plan, var: &str, rot: i64) -> String {
    if rot == 0 {
        var.to_string()
    } else {
        format!("mulmod({var}, {}, R)", fr_lit(&plan.omega_pow(rot)))
    }
}

/// `r − 1` (adding it subtracts one).
pub(crate) fn r_minus_1() -> String {
    fr_lit(&(-halo2_proofs::halo2curves::bn256::Fr::ONE))
}
