//! End to end on a real anvil: generate the verifier, compile it with solc (optimizer on, cancun),
//! deploy it, accept real proofs and reject every tampered input; snark-verifier's own verifier for
//! the same key is the differential reference (same accept/reject decisions, gas compared).
mod common;

use alloy::primitives::U256;
use common::{
    cases::{assert_all_rejected, non_canonical_layouts, tampered, Flips, Target},
    circuit::Shape,
    evm::{fr_u256, solc_path, Chain, Outcome},
    reference::{compile_reference, reference_calldata, reference_solidity},
    Fixture,
};
use zkoracle_codegen::{
    compile_verifier, generate_verifier, generate_verifier_with, CompiledVerifier, VerifierSource,
    VkPlacement, EIP170_LIMIT,
};

fn instances_u256(fx: &Fixture) -> Vec<U256> {
    fx.instances.iter().map(fr_u256).collect()
}

fn generate(fx: &Fixture, placement: VkPlacement) -> (VerifierSource, CompiledVerifier) {
    let source =
        generate_verifier_with(&fx.params, fx.vk(), fx.instances.len(), placement).expect("generate");
    assert_eq!(source.proof_len, fx.proof.len(), "proof length of the plan matches the prover's");
    let compiled = compile_verifier(&source, &solc_path()).expect("compile");
    assert!(compiled.runtime_size() <= EIP170_LIMIT);
    (source, compiled)
}

/// Gas of a mined verifyProof transaction (and of eth_estimateGas).
async fn gas_ours(chain: &Chain, addr: alloy::primitives::Address, fx: &Fixture) -> (u64, u64) {
    let data = Chain::verify_calldata(&fx.proof, &instances_u256(fx));
    let est = chain.estimate_raw(addr, data.clone()).await.expect("estimate");
    let (status, used) = chain.send_raw(addr, data).await;
    assert!(status, "verifyProof transaction succeeds");
    (used, est)
}

/// The full check of one fixture: our verifier and the reference accept the proof and reject the
/// same tampered cases. Returns a report line with sizes and gas.
async fn end_to_end(fx: &Fixture, other: Option<&Fixture>, flips: Flips, with_reference: bool) -> String {
    let (source, compiled) = generate(fx, VkPlacement::Embedded);
    let chain = Chain::start().await;
    let ours = chain.deploy(compiled.creation_bytecode.to_vec()).await.expect("deploy ours");
    let inst = instances_u256(fx);
    assert_eq!(chain.verify(ours, &fx.proof, &inst).await, Outcome::True, "real proof accepted");
    let other_inst = other.map(instances_u256);
    let other_pair = other.zip(other_inst.as_ref()).map(|(o, i)| {
        assert_eq!(o.proof.len(), fx.proof.len(), "the other circuit's proof has the same length");
        (o.proof.as_slice(), i.as_slice())
    });
    let cases = tampered(&fx.proof, &inst, other_pair, flips, source.evaluations_offset);
    let reverts = assert_all_rejected(&chain, Target::Ours(ours), &cases).await;
    let canonical = Chain::verify_calldata(&fx.proof, &inst);
    assert!(chain.call_raw(ours, canonical.clone()).await.is_ok(), "canonical calldata verifies");
    for (label, data) in non_canonical_layouts(&canonical) {
        assert!(chain.call_raw(ours, data).await.is_err(), "{label}: non-canonical calldata must revert");
    }
    let (gas, est) = gas_ours(&chain, ours, fx).await;
    assert!(est >= gas, "eth_estimateGas ({est}) covers the gas a real transaction used ({gas})");
    // With too little gas a valid proof must revert, never return false (an oracle would otherwise
    // record a valid inference as invalid).
    for limit in (60_000..gas).step_by(((gas - 60_000) / 40) as usize) {
        let out = chain.verify_with_gas(ours, &fx.proof, &inst, limit).await;
        assert_ne!(out, Outcome::False, "gas limit {limit}: a valid proof returned false");
    }
    let mut report = format!(
        "{}: {} instances, proof {} B; ours: runtime {} B, gasUsed {gas} (estimate {est}); {} tampered cases rejected ({} by revert)",
        fx.name,
        inst.len(),
        fx.proof.len(),
        compiled.runtime_size(),
        cases.len(),
        reverts
    );
    if with_reference {
        let sol = reference_solidity(&fx.params, fx.vk(), inst.len());
        let (code, runtime) = compile_reference(&sol, &solc_path());
        // Its runtime code may exceed EIP-170 (instances are unrolled): deploy it on a node without
        // the limit.
        let permissive = Chain::start_without_code_size_limit().await;
        match permissive.deploy(code).await {
            Ok(reference) => {
                report.push_str(
                    &compare_reference(&permissive, reference, fx, &inst, cases, runtime.len()).await,
                );
            }
            Err(e) if runtime.len() > EIP170_LIMIT => report.push_str(&format!(
                "; snark-verifier: runtime {} B, cannot be deployed even without the EIP-170 limit ({e})",
                runtime.len()
            )),
            Err(e) => panic!("the reference verifier fits EIP-170 but does not deploy: {e}"),
        }
    }
    eprintln!("REPORT {report}");
    report
}

/// The reference accepts the real proof and rejects every comparable tampered case.
async fn compare_reference(
    permissive: &Chain,
    reference: alloy::primitives::Address,
    fx: &Fixture,
    inst: &[U256],
    cases: Vec<common::cases::Case>,
    runtime_len: usize,
) -> String {
    assert_eq!(permissive.check(Target::Reference(reference), &fx.proof, inst).await, Outcome::True);
    // It reads a fixed number of instances from calldata, so instance-count cases do not apply;
    // it makes no canonical-encoding checks, so those cases are counted, not asserted.
    let (comparable, encoding): (Vec<_>, Vec<_>) =
        cases.into_iter().filter(|c| c.instances.len() == inst.len()).partition(|c| !c.encoding_only);
    assert_all_rejected(permissive, Target::Reference(reference), &comparable).await;
    let mut ref_accepts = Vec::new();
    for c in &encoding {
        if !permissive.check(Target::Reference(reference), &c.proof, &c.instances).await.rejected() {
            ref_accepts.push(c.label.clone());
        }
    }
    let (status, ref_gas) = permissive.send_raw(reference, reference_calldata(inst, &fx.proof)).await;
    assert!(status);
    let ref_est =
        permissive.estimate_raw(reference, reference_calldata(inst, &fx.proof)).await.expect("estimate");
    format!(
        "; snark-verifier: runtime {} B, gasUsed {ref_gas} (estimate {ref_est}), rejects the same {} cases; \
         of {} encoding-only cases it accepts {ref_accepts:?}",
        runtime_len,
        comparable.len(),
        encoding.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_and_permutation_only() {
    let fx = common::build("simple", 8, Shape::simple(0), 3);
    let other = common::build("simple-variant", 8, Shape::simple(1), 3);
    end_to_end(&fx, Some(&other), Flips::Every, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_lookups() {
    let fx = common::build("lookups", 8, Shape::full(0), 3);
    let other = common::build("lookups-variant", 8, Shape::full(1), 3);
    end_to_end(&fx, Some(&other), Flips::Every, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_instances() {
    let fx = common::build("lookups-100", 8, Shape::full(0), 100);
    let other = common::build("lookups-100-variant", 8, Shape::full(1), 100);
    end_to_end(&fx, Some(&other), Flips::Stride(7), true).await;
}

/// Eight advice columns (five permutation sets), four gates, three lookups, full-width instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_circuit() {
    let circuit = common::wide::WideCircuit::new(20, 1);
    let instances = circuit.instances.clone();
    let fx = common::build_with("wide", 8, circuit, instances);
    let cs = fx.vk().cs();
    assert_eq!(cs.permutation().get_columns().len(), 9);
    assert_eq!(cs.lookups().len(), 3);
    end_to_end(&fx, None, Flips::Stride(5), true).await;
}

/// A 784-input model's instance count: the instance loop keeps code size flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_instances_fit() {
    let shape = |variant| Shape { lookups: true, variant, instance_gate: false };
    let fx = common::build("lookups-785", 10, shape(0), 785);
    let other = common::build("lookups-785-variant", 10, shape(1), 785);
    let report = end_to_end(&fx, Some(&other), Flips::Stride(61), true).await;
    let small = common::build("lookups-3-k10", 10, shape(0), 3);
    let (_, c_small) = generate(&small, VkPlacement::Embedded);
    let (_, c_big) = generate(&fx, VkPlacement::Embedded);
    // Only constants differ (instance count, addresses): the code does not grow per instance.
    let diff = c_big.runtime_size().abs_diff(c_small.runtime_size());
    assert!(
        diff < 64,
        "runtime size grows with instances: {} vs {}",
        c_big.runtime_size(),
        c_small.runtime_size()
    );
    let chain = Chain::start().await;
    let addr = chain.deploy(c_small.creation_bytecode.to_vec()).await.expect("deploy");
    let (small_gas, _) = gas_ours(&chain, addr, &small).await;
    let (big_gas, _) = {
        let addr = chain.deploy(c_big.creation_bytecode.to_vec()).await.expect("deploy");
        gas_ours(&chain, addr, &fx).await
    };
    eprintln!(
        "REPORT {report}; same circuit with 3 instances: runtime {} B, gasUsed {small_gas}; marginal gas per instance {}",
        c_small.runtime_size(),
        (big_gas - small_gas) / 782
    );
}

/// The verifying key in a separate data contract: same decisions, and the verifier refuses any
/// other key contract at construction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_key_contract() {
    let fx = common::build("lookups", 8, Shape::full(0), 3);
    let other = common::build("lookups-variant", 8, Shape::full(1), 3);
    let (source, compiled) = generate(&fx, VkPlacement::Separate);
    let (_, other_compiled) = generate(&other, VkPlacement::Separate);
    let key = compiled.vk_contract.as_ref().expect("key contract");
    let other_key = other_compiled.vk_contract.as_ref().expect("key contract");
    let chain = Chain::start().await;
    let key_addr = chain.deploy(key.creation_bytecode.to_vec()).await.expect("deploy key");
    assert_eq!(chain.code_at(key_addr).await, key.runtime_bytecode, "key contract deploys the key words");
    let other_key_addr = chain.deploy(other_key.creation_bytecode.to_vec()).await.expect("deploy other key");
    let with_arg = |addr: alloy::primitives::Address| {
        let mut code = compiled.creation_bytecode.to_vec();
        code.extend_from_slice(&[0u8; 12]);
        code.extend_from_slice(addr.as_slice());
        code
    };
    assert!(chain.deploy(with_arg(other_key_addr)).await.is_err(), "another circuit's key is refused");
    assert!(chain.deploy(with_arg(alloy::primitives::Address::ZERO)).await.is_err(), "no key is refused");
    let ours = chain.deploy(with_arg(key_addr)).await.expect("deploy verifier");
    let inst = instances_u256(&fx);
    assert_eq!(chain.verify(ours, &fx.proof, &inst).await, Outcome::True);
    let other_inst = instances_u256(&other);
    let cases = tampered(
        &fx.proof,
        &inst,
        Some((&other.proof, &other_inst)),
        Flips::Stride(13),
        source.evaluations_offset,
    );
    assert_all_rejected(&chain, Target::Ours(ours), &cases).await;
    let (gas, est) = gas_ours(&chain, ours, &fx).await;
    eprintln!(
        "REPORT separate: verifier runtime {} B, key runtime {} B, gasUsed {gas} (estimate {est})",
        compiled.runtime_size(),
        key.runtime_bytecode.len()
    );
}

#[test]
fn generation_is_deterministic_and_abi_matches_interface() {
    let fx = common::build("lookups", 8, Shape::full(0), 3);
    let a = generate_verifier(&fx.params, fx.vk(), 3).expect("generate");
    let b = generate_verifier(&fx.params, fx.vk(), 3).expect("generate");
    assert_eq!(a, b);
    let compiled = compile_verifier(&a, &solc_path()).expect("compile");
    let abi = serde_json::to_string(&compiled.abi).expect("json");
    for needle in [
        "\"name\":\"verifyProof\"",
        "\"type\":\"bytes\"",
        "\"type\":\"uint256[]\"",
        "\"stateMutability\":\"view\"",
        "\"type\":\"bool\"",
    ] {
        assert!(abi.contains(needle), "ABI lacks {needle}: {abi}");
    }
}

/// Proofs are randomized, and one in 256 ends in a zero byte: cutting that byte is then invisible to a
/// zero-padding calldata reader, so the case is encoding-only (asserted for ours, counted for the reference).
#[test]
fn cutting_a_zero_byte_is_an_encoding_only_case() {
    let instances = vec![U256::from(1u8), U256::from(2u8)];
    for (last, want) in [(0u8, true), (7u8, false)] {
        let mut proof = vec![1u8; 1024];
        proof[1023] = last;
        let cases = tampered(&proof, &instances, None, Flips::Stride(97), 320);
        let cut = cases.iter().find(|c| c.label.starts_with("proof short by 1 byte")).expect("cut case");
        assert_eq!(cut.encoding_only, want, "{}", cut.label);
    }
}
