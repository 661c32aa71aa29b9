//! snark-verifier 0.2.7's own EVM verifier for the same verifying key: the differential reference.

use foundry_compilers::solc::Solc;
use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fq, Fr, G1Affine},
    plonk::VerifyingKey,
    poly::{
        commitment::{Params, ParamsProver},
        kzg::commitment::ParamsKZG,
    },
};
use serde_json::{json, Value};
use snark_verifier::{
    loader::evm::EvmLoader,
    pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey},
    system::halo2::{compile, transcript::evm::EvmTranscript, Config},
    verifier::{plonk::PlonkVerifier, SnarkVerifier},
};
use std::{path::Path, rc::Rc};

type Shplonk = KzgAs<Bn256, Bdfg21>;
type Verifier = PlonkVerifier<Shplonk>;

/// snark-verifier's Solidity for `vk` (pragma rewritten from 0.8.19 to 0.8.26).
pub fn reference_solidity(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> String {
    let protocol = compile(params, vk, Config::kzg().with_num_instance(vec![num_instances]));
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    let loader = EvmLoader::new::<Fq, Fr>();
    let protocol = protocol.loaded(&loader);
    let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
    let instances = transcript.load_instances(vec![num_instances]);
    let proof = Verifier::read_proof(&dk, &protocol, &instances, &mut transcript).expect("read_proof");
    Verifier::verify(&dk, &protocol, &instances, &proof).expect("verify");
    let _ = params.k();
    let code = loader.solidity_code();
    assert!(code.contains("pragma solidity 0.8.19;"), "snark-verifier pins 0.8.19");
    code.replace("pragma solidity 0.8.19;", "pragma solidity 0.8.26;")
}

/// Compiles snark-verifier's contract (it only compiles with the optimizer off). Returns
/// (creation code, runtime code).
pub fn compile_reference(solidity: &str, solc: &Path) -> (Vec<u8>, Vec<u8>) {
    let solc = Solc::new(solc).expect("solc");
    let input = json!({
        "language": "Solidity",
        "sources": { "Ref.sol": { "content": solidity } },
        "settings": {
            "optimizer": { "enabled": false },
            "evmVersion": "cancun",
            "outputSelection": { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });
    let out: Value = solc.compile_as(&input).expect("solc runs");
    if let Some(errs) = out["errors"].as_array() {
        let errs: Vec<_> = errs.iter().filter(|e| e["severity"] == "error").collect();
        assert!(errs.is_empty(), "reference does not compile: {errs:?}");
    }
    let contracts = out["contracts"]["Ref.sol"].as_object().expect("contracts");
    let (_, c) = contracts.iter().next().expect("one contract");
    let hexf = |v: &Value| hex::decode(v.as_str().expect("hex")).expect("hex");
    (hexf(&c["evm"]["bytecode"]["object"]), hexf(&c["evm"]["deployedBytecode"]["object"]))
}

/// Reference calldata: instances (32-byte big-endian each) ‖ proof.
pub fn reference_calldata(instances: &[alloy::primitives::U256], proof: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(32 * instances.len() + proof.len());
    for i in instances {
        data.extend_from_slice(&i.to_be_bytes::<32>());
    }
    data.extend_from_slice(proof);
    data
}
