//! The library API around generation: errors for bad input, build_verifier's placement choice, and
//! the files written for `zkoracle verifier -o <Verifier.sol> --compile`.
mod common;

use common::{circuit::Shape, evm::solc_path};
use zkoracle_codegen::{
    build_verifier, compile_verifier, generate_verifier, write_verifier_files, Error, VkPlacement,
};

#[test]
fn bad_inputs_are_clear_errors() {
    let fx = common::build("simple", 8, Shape::simple(0), 3);
    assert!(matches!(generate_verifier(&fx.params, fx.vk(), 0), Err(Error::InvalidInput(_))));
    let too_many = 256 - fx.vk().cs().blinding_factors();
    assert!(matches!(generate_verifier(&fx.params, fx.vk(), too_many), Err(Error::InvalidInput(_))));
    let other_k = common::srs(9);
    let err = generate_verifier(&other_k, fx.vk(), 3).expect_err("k mismatch");
    assert!(matches!(err, Error::ParamsMismatch(_)), "{err}");
    let source = generate_verifier(&fx.params, fx.vk(), 3).expect("generate");
    let err = compile_verifier(&source, std::path::Path::new("/nonexistent/solc")).expect_err("no solc");
    assert!(matches!(err, Error::Solc { .. }), "{err}");
    let mut broken = source.clone();
    broken.solidity.push_str("\ncontract Broken { function f() { } }\n");
    let err = compile_verifier(&broken, &solc_path()).expect_err("syntax error");
    assert!(matches!(err, Error::Compilation(_)), "{err}");
}

#[test]
fn build_and_write_files() {
    let fx = common::build("lookups", 8, Shape::full(0), 3);
    let (source, compiled) = build_verifier(&fx.params, fx.vk(), 3, &solc_path()).expect("build");
    assert_eq!(source.placement, VkPlacement::Embedded, "a small verifier keeps its key embedded");
    assert!(compiled.vk_contract.is_none());
    assert!(source
        .solidity
        .starts_with("// SPDX-License-Identifier: MIT OR Apache-2.0\npragma solidity 0.8.26;"));

    let dir = tempfile::tempdir().expect("tempdir");
    let sol = dir.path().join("out/Verifier.sol");
    let written = write_verifier_files(&sol, &source, Some(&compiled)).expect("write");
    assert_eq!(written, vec![sol.clone(), dir.path().join("out/Verifier.json")]);
    assert_eq!(std::fs::read_to_string(&sol).expect("read"), source.solidity);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[1]).expect("read")).expect("json");
    assert_eq!(json["runtimeSize"], compiled.runtime_size());
    assert_eq!(json["deployedBytecode"], format!("0x{}", hex::encode(&compiled.runtime_bytecode)));
    assert_eq!(json["proofLen"], fx.proof.len());
    assert!(json["abi"].as_array().is_some_and(|a| !a.is_empty()));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");

    // Source only.
    let sol_only = dir.path().join("V2.sol");
    assert_eq!(write_verifier_files(&sol_only, &source, None).expect("write"), vec![sol_only.clone()]);
    assert!(!dir.path().join("V2.json").exists());

    // A parent that is a file: an error naming the path, nothing written.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let err =
        write_verifier_files(&blocker.join("Verifier.sol"), &source, Some(&compiled)).expect_err("not a dir");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("file"), "{err}");
}
