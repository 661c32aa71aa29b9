//! Compiling the generated source with solc (standard JSON through `foundry-compilers`).

use crate::{Error, Result, VerifierSource};
use alloy_primitives::Bytes;
use foundry_compilers::solc::Solc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::Path;

/// EIP-170: the largest runtime code a contract may have on mainnet.
pub const EIP170_LIMIT: usize = 24_576;

/// Optimizer runs: verification runs many times, deployment once. With a low count solc's constant
/// optimizer loads 256-bit constants with CODECOPY (~30 gas) instead of PUSH32 (3 gas), also inside
/// the per-instance loop; a high count costs ~3% more code.
const OPTIMIZER_RUNS: u32 = 1_000_000;

/// One compiled contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledContract {
    /// Contract name.
    pub name: String,
    /// Init code (constructor arguments, if any, are appended by the deployer).
    pub creation_bytecode: Bytes,
    /// Runtime code (for the key contract: the code its constructor deploys).
    pub runtime_bytecode: Bytes,
    /// The ABI as solc emits it.
    pub abi: Value,
}

/// The compiled verifier (and key contract, when separate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledVerifier {
    /// Init code of `Halo2Verifier` (when separate, append the ABI-encoded key contract address).
    pub creation_bytecode: Bytes,
    /// Runtime code of `Halo2Verifier`.
    pub runtime_bytecode: Bytes,
    /// ABI of `Halo2Verifier`.
    pub abi: Value,
    /// The `Halo2VerifyingKey` contract to deploy first, when separate.
    pub vk_contract: Option<CompiledContract>,
    /// solc version used.
    pub solc_version: String,
}

impl CompiledVerifier {
    /// Runtime code size of the verifier in bytes.
    pub fn runtime_size(&self) -> usize {
        self.runtime_bytecode.len()
    }
}

const FILE: &str = "Verifier.sol";

/// Compiles `source` with the solc at `solc` (optimizer on, EVM cancun) and checks that every
/// runtime code fits EIP-170.
pub fn compile_verifier(source: &VerifierSource, solc: &Path) -> Result<CompiledVerifier> {
    let compiler =
        Solc::new(solc).map_err(|e| Error::Solc { path: solc.to_path_buf(), source: Box::new(e) })?;
    let input = json!({
        "language": "Solidity",
        "sources": { FILE: { "content": source.solidity } },
        "settings": {
            "optimizer": { "enabled": true, "runs": OPTIMIZER_RUNS },
            "evmVersion": "cancun",
            "outputSelection": {
                FILE: { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] }
            }
        }
    });
    let out: Value = compiler
        .compile_as(&input)
        .map_err(|e| Error::Solc { path: solc.to_path_buf(), source: Box::new(e) })?;
    let errors: Vec<String> = out["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["severity"] == "error")
        .map(|e| e["formattedMessage"].as_str().unwrap_or("unknown error").to_string())
        .collect();
    if !errors.is_empty() {
        return Err(Error::Compilation(errors.join("\n")));
    }
    let verifier = contract(&out, VerifierSource::VERIFIER_CONTRACT)?;
    let vk_contract = match (source.placement, &source.vk_runtime) {
        (crate::VkPlacement::Embedded, _) => None,
        (crate::VkPlacement::Separate, Some(runtime)) => {
            let mut c = contract(&out, VerifierSource::VK_CONTRACT)?;
            // solc reports the (empty) compiled runtime; the constructor returns the key words.
            c.runtime_bytecode = Bytes::from(runtime.clone());
            Some(c)
        }
        (crate::VkPlacement::Separate, None) => {
            return Err(Error::InvalidInput("separate placement without key contract code".into()))
        }
    };
    for c in std::iter::once(&verifier).chain(&vk_contract) {
        if c.runtime_bytecode.len() > EIP170_LIMIT {
            return Err(Error::CodeTooLarge { contract: c.name.clone(), size: c.runtime_bytecode.len() });
        }
    }
    if let (Some(vk), Some(hash)) = (&vk_contract, &source.vk_code_hash) {
        use sha3::{Digest, Keccak256};
        let actual: [u8; 32] = Keccak256::digest(&vk.runtime_bytecode).into();
        if &actual != hash {
            return Err(Error::InvalidInput(
                "the key contract's code does not hash to the verifier's VK_CODE_HASH".into(),
            ));
        }
    }
    Ok(CompiledVerifier {
        creation_bytecode: verifier.creation_bytecode,
        runtime_bytecode: verifier.runtime_bytecode,
        abi: verifier.abi,
        vk_contract,
        solc_version: compiler.version.to_string(),
    })
}

fn contract(out: &Value, name: &str) -> Result<CompiledContract> {
    let c = &out["contracts"][FILE][name];
    let hex_field = |v: &Value, what: &str| -> Result<Bytes> {
        let s = v.as_str().ok_or_else(|| Error::Compilation(format!("solc output lacks {name}.{what}")))?;
        hex::decode(s.trim_start_matches("0x"))
            .map(Bytes::from)
            .map_err(|e| Error::Compilation(format!("{name}.{what} is not hex: {e}")))
    };
    Ok(CompiledContract {
        name: name.to_string(),
        creation_bytecode: hex_field(&c["evm"]["bytecode"]["object"], "evm.bytecode.object")?,
        runtime_bytecode: hex_field(&c["evm"]["deployedBytecode"]["object"], "evm.deployedBytecode.object")?,
        abi: c["abi"].clone(),
    })
}
