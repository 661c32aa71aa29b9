//! Golden files of the test models, consumed by the forge tests (`contracts/test/GoldenVerifier.t.sol`):
//! `tests/golden/<model>/{Verifier.sol, verifier.bytecode, proof.json, circuit.json}`.
//!
//! The verifier of each model is regenerated from scratch (compile → setup with the deterministic dev SRS →
//! verifier) and must equal the committed `Verifier.sol` byte for byte, so any change to the circuit, the
//! calibration or the generator shows up as a diff. `ZKORACLE_UPDATE_GOLDEN=1` rewrites the files instead,
//! with a fresh real proof.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `(golden directory, model, extra compile flags)`.
const MODELS: &[(&str, &str, &[&str])] = &[
    ("spread_mlp", "spread_mlp", &[]),
    ("risk_mlp", "risk_mlp", &[]),
    // Hidden weights by Poseidon (`--params hashed`; its circuit.json, written before `hashed` existed, says
    // `private` without weight columns, which reads as hashed): the instance before the fulfiller is the
    // weights' Poseidon commitment.
    ("spread_mlp_private", "spread_mlp", &["--params", "hashed"]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn zkoracle(args: &[&str], srs_dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkoracle"))
        .args(args)
        .current_dir(root())
        .env("ZKORACLE_SRS_DIR", srs_dir)
        .output()
        .expect("run zkoracle");
    assert!(
        out.status.success(),
        "zkoracle {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fulfiller the golden proofs are bound to (`GOLDEN_FULFILLER` in contracts/test/GoldenVerifier.t.sol).
const GOLDEN_FULFILLER: &str = "0x0000000000000000000000000000000000F11F11";

#[test]
fn model_verifiers_match_golden_files() {
    let update = std::env::var("ZKORACLE_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let tmp = tempfile::tempdir().expect("tmp");
    let srs = tmp.path().join("srs");
    for &(name, model, flags) in MODELS {
        let dir = tmp.path().join(name);
        let d = dir.to_str().expect("utf8");
        let onnx = format!("models/{model}.onnx");
        let input = format!("models/{model}.input.json");
        let mut compile = vec!["compile", onnx.as_str(), "--data", input.as_str(), "-o", d];
        compile.extend_from_slice(flags);
        zkoracle(&compile, &srs);
        zkoracle(&["setup", d], &srs);
        let sol = dir.join("Verifier.sol");
        let sol_s = sol.to_str().expect("utf8");
        let golden = root().join("tests/golden").join(name);
        if update {
            let proof = dir.join("proof.json");
            // Golden proofs are made for the address contracts/test/GoldenVerifier.t.sol fulfils from.
            let out = proof.to_str().expect("utf8");
            zkoracle(&["prove", d, "--data", &input, "-o", out, "--fulfiller", GOLDEN_FULFILLER], &srs);
            zkoracle(&["verifier", d, "-o", sol_s, "--compile"], &srs);
            std::fs::create_dir_all(&golden).expect("mkdir");
            for (from, to) in [
                (sol.clone(), "Verifier.sol"),
                (dir.join("Verifier.bytecode"), "verifier.bytecode"),
                (proof, "proof.json"),
                (dir.join("circuit.json"), "circuit.json"),
            ] {
                std::fs::copy(&from, golden.join(to)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
            }
            continue;
        }
        zkoracle(&["verifier", d, "-o", sol_s], &srs);
        let fresh = std::fs::read_to_string(&sol).expect("fresh verifier");
        let stored = std::fs::read_to_string(golden.join("Verifier.sol")).unwrap_or_else(|e| {
            panic!("{name}: no golden Verifier.sol ({e}); run with ZKORACLE_UPDATE_GOLDEN=1")
        });
        assert!(
            fresh == stored,
            "{name}: the generated verifier differs from tests/golden/{name}/Verifier.sol; review the \
             circuit/generator change and rerun with ZKORACLE_UPDATE_GOLDEN=1"
        );
    }
}
