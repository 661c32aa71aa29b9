//! The generated verifiers of the test circuits match `tests/golden/` (see `common::golden`).
mod common;

use common::{circuit::Shape, golden::check_golden, wide::WideCircuit, Fixture};
use zkoracle_codegen::generate_verifier;

fn check(name: &str, fx: &Fixture) {
    let source = generate_verifier(&fx.params, fx.vk(), fx.instances.len()).expect("generate");
    check_golden(name, &source, fx);
}

#[test]
fn golden_simple() {
    check("codegen-simple", &common::build("simple", 8, Shape::simple(0), 3));
}

#[test]
fn golden_lookups() {
    check("codegen-lookups", &common::build("lookups", 8, Shape::full(0), 3));
}

#[test]
fn golden_wide() {
    let circuit = WideCircuit::new(20, 1);
    let instances = circuit.instances.clone();
    check("codegen-wide", &common::build_with("wide", 8, circuit, instances));
}

#[test]
fn golden_comparison_detects_a_change() {
    let fx = common::build("simple", 8, Shape::simple(0), 3);
    let mut source = generate_verifier(&fx.params, fx.vk(), 3).expect("generate");
    source.solidity = source.solidity.replacen("PROOF_LEN = ", "PROOF_LEN =  ", 1);
    let err =
        common::golden::compare_golden("codegen-simple", &source).expect_err("a changed line is a diff");
    assert!(err.contains("PROOF_LEN"), "{err}");
}
