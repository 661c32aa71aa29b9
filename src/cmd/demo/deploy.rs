//! Deploying the demo with the repository's forge scripts: oracle, verifier and model registration
//! (`script/01..03`), then the consumer: the SpreadGatedAMM with its tokens and liquidity (`04`), or the Uniswap v4
//! fee hook with its PoolManager, routers, tokens and pool (`05`).

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolValue;
use eyre::{eyre, WrapErr};
use zkoracle_codegen::CompiledVerifier;
use zkoracle_prover::CircuitSettings;

use super::forge::{AddressBook, Book, Forge};
use super::uniswap::V4Deployment;

/// The oracle side of the demo: what `script/01..03` deployed and registered.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    /// `InferenceOracle`.
    pub(crate) oracle: Address,
    /// The model's `Halo2Verifier`.
    pub(crate) verifier: Address,
    /// The `Halo2VerifyingKey` contract, when the verifying key lives apart from the verifier.
    pub(crate) vk_contract: Option<Address>,
    /// The registered model's id.
    pub(crate) model_id: U256,
}

/// `script/04_DeployConsumers`' SpreadGatedAMM.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AmmDeployment {
    /// `SpreadGatedAMM`.
    pub(crate) amm: Address,
    /// The pool's tokens.
    pub(crate) tokens: [Address; 2],
}

/// The model being registered.
#[derive(Debug)]
pub(crate) struct ModelRegistration<'a> {
    /// Book key prefix (`<name>ModelId`); `spread_mlp` is what `04_DeployConsumers` and `05_DeployUniswapV4Hook`
    /// read.
    pub(crate) name: &'a str,
    /// Its compiled settings (lengths, scale, calibrated range).
    pub(crate) settings: &'a CircuitSettings,
    /// keccak256 of its verifying key.
    pub(crate) vk_digest: B256,
    /// Request fee in wei.
    pub(crate) fee: U256,
}

/// Runs `script/01..03` in order and reads the addresses back from the book.
pub(crate) async fn deploy_oracle(
    forge: &Forge,
    book: &AddressBook,
    verifier: &CompiledVerifier,
    model: &ModelRegistration<'_>,
) -> eyre::Result<Deployment> {
    forge.script("01_DeployOracle.s.sol", &[]).await?;
    let (verifier_addr, vk_contract) = deploy_verifier(forge, book, verifier).await?;
    let s = model.settings;
    forge
        .script(
            "03_RegisterModel.s.sol",
            &[
                ("MODEL_NAME", model.name.to_string()),
                ("VERIFIER", verifier_addr.to_string()),
                ("INPUT_LEN", s.input_len().to_string()),
                ("OUTPUT_LEN", s.output_len().to_string()),
                ("INPUT_SCALE", s.scale.to_string()),
                ("OUTPUT_SCALE", s.output_scale.to_string()),
                ("MAX_ABS_INPUT", s.max_abs_input.to_string()),
                ("VK_DIGEST", model.vk_digest.to_string()),
                ("FEE", model.fee.to_string()),
            ],
        )
        .await
        .wrap_err("registering the model")?;
    let b = book.read()?;
    Ok(Deployment {
        oracle: b.address("InferenceOracle")?,
        verifier: verifier_addr,
        vk_contract,
        model_id: b.uint(&format!("{}ModelId", model.name))?,
    })
}

/// `script/04_DeployConsumers`: two demo tokens and a SpreadGatedAMM for the registered spread model.
pub(crate) async fn deploy_amm(forge: &Forge, book: &AddressBook) -> eyre::Result<AmmDeployment> {
    forge.script("04_DeployConsumers.s.sol", &[]).await.wrap_err("deploying the SpreadGatedAMM")?;
    let b = book.read()?;
    Ok(AmmDeployment {
        amm: b.address("SpreadGatedAMM")?,
        tokens: [b.address("Token0")?, b.address("Token1")?],
    })
}

/// `script/05_DeployUniswapV4Hook`: a PoolManager, v4-core's test routers, two demo tokens, the fee hook at its
/// mined address and its dynamic-fee pool with full-range liquidity.
pub(crate) async fn deploy_v4(forge: &Forge, book: &AddressBook) -> eyre::Result<V4Deployment> {
    forge.script("05_DeployUniswapV4Hook.s.sol", &[]).await.wrap_err("deploying the Uniswap v4 hook")?;
    let b = book.read()?;
    Ok(V4Deployment {
        hook: b.address("OracleDynamicFeeHook")?,
        manager: b.address("PoolManager")?,
        router: b.address("V4SwapRouter")?,
        tokens: [b.address("V4Token0")?, b.address("V4Token1")?],
    })
}

/// `02_DeployVerifier`: the verifier alone, or the key contract first and then the verifier with the key
/// contract's address as its constructor argument.
async fn deploy_verifier(
    forge: &Forge,
    book: &AddressBook,
    verifier: &CompiledVerifier,
) -> eyre::Result<(Address, Option<Address>)> {
    let hex_of = |code: &[u8]| format!("0x{}", hex::encode(code));
    let mut creation = verifier.creation_bytecode.to_vec();
    let vk_contract = match &verifier.vk_contract {
        Some(vk) => {
            let name = vk.name.clone();
            forge
                .script(
                    "02_DeployVerifier.s.sol",
                    &[
                        ("VERIFIER_NAME", name.clone()),
                        ("VERIFIER_BYTECODE_HEX", hex_of(&vk.creation_bytecode)),
                    ],
                )
                .await
                .wrap_err("deploying the verifying-key contract")?;
            let addr = book.read()?.address(&name)?;
            creation.extend_from_slice(&addr.abi_encode());
            Some(addr)
        }
        None => None,
    };
    forge
        .script(
            "02_DeployVerifier.s.sol",
            &[("VERIFIER_NAME", "Halo2Verifier".to_string()), ("VERIFIER_BYTECODE_HEX", hex_of(&creation))],
        )
        .await
        .wrap_err("deploying the verifier")?;
    let book: Book = book.read()?;
    let addr = book.address("Halo2Verifier").map_err(|e| eyre!("{e} after deploying the verifier"))?;
    Ok((addr, vk_contract))
}
