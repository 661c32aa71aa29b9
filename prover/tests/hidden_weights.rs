//! `--params private`: weights in dedicated columns under a salted KZG commitment, blinded afresh in every
//! proof and tied to the registered commitment by a knowledge proof (docs/HIDDEN_WEIGHTS.md).

use std::path::{Path, PathBuf};

use halo2_proofs::halo2curves::bn256::Fr;
use zkoracle_prover::read_input;
use zkoracle_prover::testing::{proof_columns, store_columns};
use zkoracle_prover::ParamsVisibility;
use zkoracle_prover::PrivateWeights;
use zkoracle_prover::{compile, CompileOptions};
use zkoracle_prover::{files, read_vk};
use zkoracle_prover::{
    fr_from_b256, load_settings_and_srs, verify_bundle, verify_weights, verify_with, ProofBundle,
};
use zkoracle_prover::{setup, CircuitSettings, Error, ProvingModel, SrsSource};
use zkoracle_prover::{KnowledgeProof, WeightsCommitment};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Compiles `onnx` with `--params private` into `dir` (keys from the development SRS under `srs`).
fn private_model(onnx: &str, like: Option<CircuitSettings>, dir: &Path) -> CircuitSettings {
    let opts = CompileOptions { params: ParamsVisibility::Private, like, ..CompileOptions::default() };
    let s = compile(&models().join(onnx), &models().join("spread_mlp.input.json"), &opts).expect("compile");
    std::fs::create_dir_all(dir).expect("dir");
    PrivateWeights::for_circuit(&s.graph, s.circuit_params)
        .write(&dir.join(files::WEIGHTS))
        .expect("weights");
    s.write(&dir.join(files::CIRCUIT)).expect("circuit");
    let cache = dir.parent().expect("under the test's root").join("srs");
    setup(dir, &SrsSource::Dev { cache }).expect("setup");
    s
}

fn instances(bundle: &ProofBundle) -> Vec<Fr> {
    bundle.instances.iter().map(|w| fr_from_b256(w).expect("fr")).collect()
}

/// Native verification of `proof` for `instances` in `dir`: the knowledge proof, then the halo2 proof.
fn verifies(dir: &Path, proof: &[u8], inst: &[Fr]) -> bool {
    let (s, params) = load_settings_and_srs(dir).expect("srs");
    let vk = read_vk(&dir.join(files::VK), &s).expect("vk");
    verify_weights(&params, &s, proof, inst).and_then(|halo2| verify_with(&params, &vk, halo2, inst)).is_ok()
}

#[test]
fn private_proofs_verify_bind_the_registered_commitment_and_differ_every_time() {
    let root = tempfile::tempdir().expect("tmp");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let sa = private_model("spread_mlp.onnx", None, &a);
    assert!(sa.circuit_params.committed(), "{:?}", sa.circuit_params);
    let _ = private_model("spread_mlp_alt.onnx", Some(sa.clone()), &b);
    for f in [files::VK, files::PK] {
        let (fa, fb) = (std::fs::read(a.join(f)).expect("a"), std::fs::read(b.join(f)).expect("b"));
        assert!(fa == fb, "{f} differs between models that differ only in their weights");
    }
    let input = read_input(&models().join("spread_mlp.input.json")).expect("input");
    let ma = ProvingModel::load(&a).expect("load a");
    let mb = ProvingModel::load(&b).expect("load b");
    let (ca, cb) =
        (ma.weights_kzg_commitment().expect("a").clone(), mb.weights_kzg_commitment().expect("b").clone());
    assert_ne!(ca, cb);
    assert_eq!(ma.weights_commitment_words().len(), 4 * sa.circuit_params.store);

    let p1 = ma.prove(&input, Default::default()).expect("prove a");
    let p2 = ma.prove(&input, Default::default()).expect("prove a again");
    verify_bundle(&a, &p1).expect("A's proof verifies");
    verify_bundle(&a, &p2).expect("A's second proof verifies");
    assert!(verifies(&a, &p1.proof, &instances(&p1)));
    assert_eq!(p1.weights_commitment, Some(ca.to_bytes()));
    // The instances carry the registered commitment (four limbs per column) before the fulfiller.
    let at = sa.input_len() + sa.output_len();
    let words = &instances(&p1)[at..at + 4 * sa.circuit_params.store];
    assert_eq!(WeightsCommitment::from_words(words), Some(ca.clone()));

    // Every proof commits the weight columns with fresh blinding: never the registered point, never twice
    // the same.
    let cols = store_columns(sa.circuit_params);
    let (c1, c2) =
        (proof_columns(&p1.proof, &cols).expect("c1"), proof_columns(&p2.proof, &cols).expect("c2"));
    assert_ne!(c1, c2, "two proofs opened the same weight-column polynomial");
    assert!(c1.iter().chain(&c2).all(|c| !ca.0.contains(c)), "a proof carries the registered polynomial");

    // Other weights under A's registered commitment: B's proof with A's commitment words in its instances
    // fails (the knowledge proof, and the transcript that absorbed B's words).
    let pb = mb.prove(&input, Default::default()).expect("prove b");
    assert!(verifies(&b, &pb.proof, &instances(&pb)), "B's proof verifies under B's commitment");
    let mut forged = instances(&pb);
    forged[at..at + words.len()].copy_from_slice(words);
    let (s, params) = load_settings_and_srs(&a).expect("srs");
    assert!(verify_weights(&params, &s, &pb.proof, &forged).is_err(), "B's weights passed as A's");
    assert!(!verifies(&a, &pb.proof, &forged));
    let err = verify_bundle(&a, &pb).expect_err("B's proof checked by A's owner");
    assert!(matches!(err, Error::OtherWeights { .. }), "{err}");

    // A tampered knowledge proof fails: each response, and the nonce commitment.
    let n = p1.proof.len();
    for at in [n - 1, n - 33, n - KnowledgeProof::BYTES + 5] {
        let mut bad = p1.proof.to_vec();
        bad[at] ^= 1;
        assert!(!verifies(&a, &bad, &instances(&p1)), "byte {at} of {n} flipped and accepted");
    }
    // A knowledge proof from another proof of the same model does not transfer.
    let mut spliced = p1.proof[..n - KnowledgeProof::BYTES].to_vec();
    spliced.extend_from_slice(&p2.proof[n - KnowledgeProof::BYTES..]);
    assert!(!verifies(&a, &spliced, &instances(&p1)));
}

#[test]
fn weights_json_keeps_the_salt_and_a_fresh_compile_draws_another() {
    let root = tempfile::tempdir().expect("tmp");
    let opts = CompileOptions { params: ParamsVisibility::Private, ..CompileOptions::default() };
    let s = compile(&models().join("spread_mlp.onnx"), &models().join("spread_mlp.input.json"), &opts)
        .expect("compile");
    let (w1, w2) = (
        PrivateWeights::for_circuit(&s.graph, s.circuit_params),
        PrivateWeights::for_circuit(&s.graph, s.circuit_params),
    );
    assert!(w1.is_committed() && w1.commitment.is_empty());
    assert_eq!(w1.values, w2.values);
    assert_eq!(w1.salt.len(), s.circuit_params.store);
    assert_ne!(w1.salt, w2.salt, "two owners of one public model must not register the same commitment");
    let path = root.path().join(files::WEIGHTS);
    w1.write(&path).expect("write");
    assert_eq!(PrivateWeights::read(&path).expect("read"), w1);
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    json["salt"][0][1] = serde_json::json!("0xnot-hex");
    std::fs::write(&path, serde_json::to_vec(&json).expect("json")).expect("write");
    let err = PrivateWeights::read(&path).expect_err("a malformed salt");
    assert!(matches!(&err, Error::Json { message, .. } if message.contains("salt")), "{err}");
}

/// Why every proof must blind the weight columns afresh: with the same polynomial in every proof (EZKL's
/// `polycommit`, or ours with the blinding equal to the salt) each proof opens it at a fresh point, and as
/// many proofs as it has unknown rows interpolate it — the weights leak. The same attack on our proofs
/// recovers nothing. A one-neuron model keeps the unknowns (the attacked column's weight and its two hiding
/// rows) and so the proofs few; a real model needs as many proofs as a column has weights.
#[test]
fn published_openings_interpolate_an_unblinded_column_but_not_ours() {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::plonk::{keygen_pk, keygen_vk};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::ParamsKZG;
    use halo2_proofs::transcript::TranscriptWriterBuffer;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use snark_verifier::loader::native::NativeLoader;
    use snark_verifier::pcs::kzg::{Bdfg21, KzgAs, KzgSuccinctVerifyingKey};
    use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
    use snark_verifier::system::halo2::{compile as protocol_of, Config};
    use snark_verifier::util::arithmetic::Rotation;
    use snark_verifier::verifier::plonk::PlonkSuccinctVerifier;
    use snark_verifier::verifier::SnarkVerifier;
    use std::sync::Arc;
    use zkoracle_prover::testing::{self as commit, InferenceCircuit, StoreTails};
    use zkoracle_prover::testing::{create_proof_signed, SignedParams};
    use zkoracle_prover::{to_field, CircuitParams, CircuitSpec};
    use zkoracle_prover::{Graph, Neuron, NeuronOp};

    let weights = [3i64, -2, 5];
    let mut graph = Graph { num_inputs: 2, neurons: vec![], acts: vec![], outputs: vec![] };
    let y = graph.push(Neuron {
        op: NeuronOp::Linear {
            terms: vec![(0, weights[0]), (1, weights[1])],
            bias: weights[2],
            private: true,
        },
        shift: 0,
        act: None,
    });
    graph.outputs = vec![y];
    let params = CircuitParams {
        width: 4,
        private: true,
        store: 4,
        limb_bits: 8,
        act_table: false,
        ..Default::default()
    };
    let spec = Arc::new(CircuitSpec { graph, scale: 4, bound: 256, params });
    let k = spec.min_k();
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let srs = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(18));
    let keygen_circuit = InferenceCircuit { spec: spec.clone(), witness: None, tails: None };
    let vk = keygen_vk(&srs, &keygen_circuit).expect("vk");
    let pk = keygen_pk(&srs, vk.clone(), &keygen_circuit).expect("pk");
    // The bias sits in the first weight column, the coefficients 3 and -2 in the next two: attack the second.
    let cells = spec.weight_cells();
    let (_, row, value) = cells[1];
    assert_eq!((cells[1].0, value), (1, weights[0]));
    let salt = commit::random_tails(4, &mut rng);
    let registered = WeightsCommitment(commit::commit_columns(&srs, &cells, 4, &salt));
    let column = store_columns(params)[1];
    let num_instances = spec.num_instances();
    let protocol = protocol_of(&srs, &vk, Config::kzg().with_num_instance(vec![num_instances]));
    // snark-verifier numbers polynomials fixed and permutation first, then the instance column, then advice.
    let poly = protocol.preprocessed.len() + 1 + column;
    let eval_at = protocol
        .evaluations
        .iter()
        .position(|q| q.poly == poly && q.rotation == Rotation::cur())
        .expect("the weight column is opened at x");
    let svk: KzgSuccinctVerifyingKey<G1Affine> = srs.get_g()[0].into();
    let signed = SignedParams::new(srs.clone());

    // One published proof: the challenge x and the weight column's claimed evaluation there.
    let opening = |tail: Vec<[Fr; 2]>, rng: &mut ChaCha20Rng| -> (Fr, Fr) {
        let input = [i64::from(rng.next_u32() % 200) - 100, i64::from(rng.next_u32() % 200) - 100];
        let ev = spec.graph.evaluate(&input, spec.scale, Some(spec.bound)).expect("evaluate");
        let mut inst: Vec<Fr> =
            input.iter().chain(&ev.outputs(&spec.graph)).map(|&v| to_field(i128::from(v))).collect();
        inst.extend(registered.words());
        inst.push(Fr::ZERO);
        let tails = StoreTails { rows: commit::hiding_rows(k), values: tail };
        let circuit = InferenceCircuit {
            spec: spec.clone(),
            witness: Some(Arc::new(ev)),
            tails: Some(Arc::new(tails)),
        };
        let mut t = EvmTranscript::<G1Affine, NativeLoader, _, Vec<u8>>::init(Vec::new());
        create_proof_signed(&signed, &pk, &[circuit], &[&[&inst]], &mut *rng, &mut t).expect("prove");
        let proof = t.finalize();
        let mut read = EvmTranscript::<G1Affine, NativeLoader, _, Vec<u8>>::new(proof.as_slice());
        let p =
            PlonkSuccinctVerifier::<KzgAs<Bn256, Bdfg21>>::read_proof(&svk, &protocol, &[inst], &mut read)
                .expect("read");
        (p.z, p.evaluations[eval_at])
    };

    // The attacker knows the layout (the architecture is public): unknowns are the weight's row and the two
    // hiding rows; ℓ_i(x) = ω^i (x^n − 1) / (n (x − ω^i)).
    let n = 1u64 << k;
    let omega = halo2_proofs::poly::EvaluationDomain::<Fr>::new(1, k).get_omega();
    let rows: Vec<u64> =
        std::iter::once(row as u64).chain(commit::hiding_rows(k).map(|r| r as u64)).collect();
    let lagrange = |x: Fr, i: u64| -> Fr {
        let wi = omega.pow_vartime([i]);
        wi * (x.pow_vartime([n]) - Fr::ONE)
            * (Fr::from(n) * (x - wi)).invert().expect("x is no root of unity")
    };
    // Solves the square system (Gaussian elimination mod p); the last opening checks the solution.
    let attack = |openings: &[(Fr, Fr)]| -> (Vec<Fr>, bool) {
        let m = rows.len();
        let mut a: Vec<Vec<Fr>> = openings[..m]
            .iter()
            .map(|(x, v)| rows.iter().map(|&i| lagrange(*x, i)).chain([*v]).collect())
            .collect();
        for c in 0..m {
            let p = (c..m).find(|&r| !bool::from(a[r][c].is_zero())).expect("independent openings");
            a.swap(c, p);
            let inv = a[c][c].invert().expect("pivot");
            let pivot: Vec<Fr> = a[c].iter().map(|v| *v * inv).collect();
            a[c] = pivot.clone();
            for (r, row) in a.iter_mut().enumerate() {
                if r != c {
                    let f = row[c];
                    row.iter_mut().zip(&pivot).for_each(|(v, p)| *v -= f * p);
                }
            }
        }
        let solution: Vec<Fr> = a.iter().map(|row| row[m]).collect();
        let (x, v) = openings[m];
        let predicted: Fr = rows.iter().zip(&solution).map(|(&i, s)| lagrange(x, i) * s).sum();
        (solution, predicted == v)
    };
    let count = rows.len() + 1;
    let unblinded: Vec<_> = (0..count).map(|_| opening(salt.clone(), &mut rng)).collect();
    let (recovered, consistent) = attack(&unblinded);
    assert!(consistent, "the unblinded openings are one polynomial's");
    let leaked = to_field(i128::from(weights[0]));
    assert_eq!(recovered[0], leaked, "the weight was not interpolated from unblinded openings");
    assert_eq!(&recovered[1..], &salt[1][..], "the salt was not interpolated either");

    let ours: Vec<_> = (0..count).map(|_| opening(commit::random_tails(4, &mut rng), &mut rng)).collect();
    let (recovered, consistent) = attack(&ours);
    assert!(!consistent, "our openings fit one polynomial");
    assert_ne!(recovered[0], leaked, "the weight leaked from blinded openings");
}
