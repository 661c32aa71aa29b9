//! Golden files: `tests/golden/<name>/{Verifier.sol, verifier.json, proof.json, vk.bin}` at the
//! repository root. With `ZKORACLE_UPDATE_GOLDEN=1` they are (re)written; otherwise the freshly
//! generated `Verifier.sol` must equal the stored one byte for byte, so any change to the circuit
//! or to the generator shows up as a diff to review.

use super::{evm::solc_path, Fixture};
use halo2_proofs::{halo2curves::ff::PrimeField, SerdeFormat};
use serde_json::json;
use std::path::PathBuf;
use zkoracle_codegen::{compile_verifier, VerifierSource};

pub const UPDATE_ENV: &str = "ZKORACLE_UPDATE_GOLDEN";

pub fn golden_dir(name: &str) -> PathBuf {
    super::evm::repo_root().join("tests/golden").join(name)
}

fn updating() -> bool {
    std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1")
}

/// Compares `source` with the golden `Verifier.sol` of `name`, or rewrites the golden files.
pub fn check_golden(name: &str, source: &VerifierSource, fx: &Fixture) {
    let dir = golden_dir(name);
    let sol_path = dir.join("Verifier.sol");
    if updating() {
        std::fs::create_dir_all(&dir).expect("create golden dir");
        let compiled = compile_verifier(source, &solc_path()).expect("compile");
        std::fs::write(&sol_path, &source.solidity).expect("write Verifier.sol");
        let verifier = json!({
            "placement": source.placement,
            "numInstances": source.num_instances,
            "proofLen": source.proof_len,
            "solcVersion": compiled.solc_version,
            "runtimeSize": compiled.runtime_size(),
            "bytecode": format!("0x{}", hex::encode(&compiled.creation_bytecode)),
            "deployedBytecode": format!("0x{}", hex::encode(&compiled.runtime_bytecode)),
            "abi": compiled.abi,
        });
        let proof = json!({
            "proof": format!("0x{}", hex::encode(&fx.proof)),
            "instances": fx.instances.iter().map(|f| {
                let mut b = f.to_repr();
                b.reverse();
                format!("0x{}", hex::encode(b))
            }).collect::<Vec<_>>(),
        });
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("json") + "\n";
        std::fs::write(dir.join("verifier.json"), pretty(&verifier)).expect("write verifier.json");
        std::fs::write(dir.join("proof.json"), pretty(&proof)).expect("write proof.json");
        std::fs::write(dir.join("vk.bin"), fx.vk().to_bytes(SerdeFormat::RawBytes)).expect("write vk.bin");
        eprintln!("updated golden files in {}", dir.display());
        return;
    }
    if let Err(e) = compare_golden(name, source) {
        panic!("{e}");
    }
}

/// Ok when `source` equals the golden `Verifier.sol` of `name`; otherwise a message naming the
/// first differing line.
pub fn compare_golden(name: &str, source: &VerifierSource) -> Result<(), String> {
    let sol_path = golden_dir(name).join("Verifier.sol");
    let golden = std::fs::read_to_string(&sol_path).map_err(|e| {
        format!("{}: {e}; run with {UPDATE_ENV}=1 to create the golden files", sol_path.display())
    })?;
    if golden == source.solidity {
        return Ok(());
    }
    let line = golden
        .lines()
        .zip(source.solidity.lines())
        .position(|(a, b)| a != b)
        .map_or_else(|| golden.lines().count().min(source.solidity.lines().count()) + 1, |i| i + 1);
    let show = |s: &str| s.lines().nth(line - 1).unwrap_or("<end of file>").to_string();
    Err(format!(
        "generated verifier for {name} differs from {} at line {line}:\n  golden:    {}\n  generated: {}\n\
         review the change and run with {UPDATE_ENV}=1 to accept it",
        sol_path.display(),
        show(&golden),
        show(&source.solidity)
    ))
}
