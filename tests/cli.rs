//! The `verifier`, `relay` and `demo` subcommands' handling of bad input: a clear one-line error and exit
//! code 1, never a panic or a half-written file. No chain needed.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn verifier_rejects_a_missing_or_incomplete_model_dir() {
    let work = work_dir("cli-");
    let dir = work.path().join("nothing");
    let out = work.path().join("V.sol");
    let err = run_err(&["verifier", dir.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(err.contains("circuit.json"), "{err}");
    assert!(!out.exists());

    // Compiled but not set up: no SRS / vk.
    let model = root().join("models/spread_mlp.onnx");
    let data = root().join("models/spread_mlp.input.json");
    let d = work.path().join("m");
    run_ok(&[
        "compile",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "-o",
        d.to_str().unwrap(),
    ]);
    let err = run_err(&["verifier", d.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(err.contains("kzg.srs"), "{err}");
    assert!(!out.exists());

    // Set up, but with a corrupt verifying key.
    run_ok(&["setup", d.to_str().unwrap()]);
    let vk = d.join("vk.bin");
    let mut bytes = std::fs::read(&vk).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&vk, bytes).unwrap();
    let err = run_err(&["verifier", d.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(err.contains("vk.bin") && err.contains("checksum"), "{err}");
    assert!(!out.exists());
}

#[test]
fn verifier_compile_needs_a_working_solc() {
    let work = work_dir("cli-");
    let model = root().join("models/spread_mlp.onnx");
    let data = root().join("models/spread_mlp.input.json");
    let d = work.path().join("m");
    let ds = d.to_str().unwrap();
    run_ok(&["compile", model.to_str().unwrap(), "--data", data.to_str().unwrap(), "-o", ds]);
    run_ok(&["setup", ds]);
    let out = work.path().join("V.sol");
    let missing = work.path().join("no-solc");
    let err = run_err(&[
        "verifier",
        ds,
        "-o",
        out.to_str().unwrap(),
        "--compile",
        "--solc",
        missing.to_str().unwrap(),
    ]);
    assert!(err.contains("no-solc") && err.contains("does not exist"), "{err}");
    assert!(!out.exists());

    // Without --compile: only the source, which names the verifier contract.
    let stdout = run_ok(&["verifier", ds, "-o", out.to_str().unwrap()]);
    assert!(stdout.contains("10 instances"), "{stdout}");
    let sol = std::fs::read_to_string(&out).unwrap();
    assert!(sol.contains("contract Halo2Verifier"));
    assert!(!work.path().join("V.json").exists() && !work.path().join("V.bytecode").exists());

    // With the pinned shim (found from the working directory): artifacts next to the source.
    let stdout = run_ok(&["verifier", ds, "-o", out.to_str().unwrap(), "--compile"]);
    assert!(stdout.contains("runtime size"), "{stdout}");
    let artifact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("V.json")).unwrap()).unwrap();
    let runtime = artifact["runtimeSize"].as_u64().unwrap();
    assert!(runtime > 0 && runtime <= 24_576, "{runtime}");
    let code = std::fs::read_to_string(work.path().join("V.bytecode")).unwrap();
    assert_eq!(code.trim(), artifact["bytecode"].as_str().unwrap());
}

#[test]
fn relay_reports_config_errors_by_name() {
    let work = work_dir("cli-");
    let missing = work.path().join("absent.toml");
    let err = run_err(&["relay", "--config", missing.to_str().unwrap()]);
    assert!(err.contains("absent.toml"), "{err}");

    let bad = work.path().join("relayer.toml");
    std::fs::write(
        &bad,
        "rpc_url = \"ftp://x\"\noracle = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\nchain_id = 1\n\
         db_path = \"r.sqlite\"\n[signer]\nprivate_key_env = \"K\"\n",
    )
    .unwrap();
    let err = run_err(&["relay", "--config", bad.to_str().unwrap()]);
    assert!(err.contains("rpc_url"), "{err}");

    std::fs::write(&bad, "rpc_url = \"http://127.0.0.1:1\"\nbogus = 1\n").unwrap();
    let err = run_err(&["relay", "--config", bad.to_str().unwrap()]);
    assert!(err.contains("bogus") || err.contains("unknown field"), "{err}");
}

#[test]
fn demo_refuses_a_directory_that_is_not_the_repository() {
    let work = work_dir("cli-");
    let err = run_err(&["demo", "--repo", work.path().to_str().unwrap()]);
    assert!(err.contains("node_modules/.bin/anvil") || err.contains("npm ci"), "{err}");
}
