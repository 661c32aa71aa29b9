//! A real anvil node and the calls the tests make to it.

use alloy::{
    network::TransactionBuilder,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    sol,
    sol_types::SolCall,
};
use halo2_proofs::halo2curves::{bn256::Fr, ff::PrimeField};
use std::path::PathBuf;

sol! {
    function verifyProof(bytes proof, uint256[] instances) external view returns (bool);
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn solc_path() -> PathBuf {
    repo_root().join("tools/solc")
}

/// A running anvil (killed on drop) with a funded signer.
pub struct Chain {
    _anvil: AnvilInstance,
    pub provider: DynProvider,
}

/// What a verifier call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    True,
    False,
    /// Reverted (or returned something that is not an ABI bool).
    Revert(String),
}

impl Outcome {
    pub fn rejected(&self) -> bool {
        !matches!(self, Outcome::True)
    }
}

pub fn fr_u256(f: &Fr) -> U256 {
    U256::from_le_bytes(f.to_repr())
}

/// The scalar field modulus r.
pub fn modulus() -> U256 {
    fr_u256(&-Fr::from(1)) + U256::from(1)
}

impl Chain {
    pub async fn start() -> Chain {
        Self::start_with(&[]).await
    }

    /// A node that accepts runtime code over EIP-170's 24,576 bytes (for the reference verifier).
    pub async fn start_without_code_size_limit() -> Chain {
        Self::start_with(&["--disable-code-size-limit"]).await
    }

    async fn start_with(args: &[&str]) -> Chain {
        let anvil = Anvil::at(repo_root().join("node_modules/.bin/anvil"))
            .args(args)
            .try_spawn()
            .expect("anvil starts");
        let wallet = anvil.wallet().expect("anvil has keys");
        let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
        Chain { _anvil: anvil, provider }
    }

    /// Deploys init code; Err(reason) when the deployment reverts.
    pub async fn deploy(&self, code: Vec<u8>) -> Result<Address, String> {
        let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code)).with_gas_limit(16_000_000);
        let pending = self.provider.send_transaction(tx).await.map_err(|e| e.to_string())?;
        let receipt = pending.get_receipt().await.map_err(|e| e.to_string())?;
        if !receipt.status() {
            return Err("deployment reverted".into());
        }
        receipt.contract_address.ok_or_else(|| "no contract address".into())
    }

    pub async fn code_at(&self, addr: Address) -> Vec<u8> {
        self.provider.get_code_at(addr).await.expect("eth_getCode").to_vec()
    }

    pub async fn call_raw(&self, to: Address, data: Vec<u8>) -> Result<Bytes, String> {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(Bytes::from(data))
            .with_gas_limit(16_000_000);
        self.provider.call(tx).await.map_err(|e| e.to_string())
    }

    /// Gas of a mined transaction (status, gasUsed).
    pub async fn send_raw(&self, to: Address, data: Vec<u8>) -> (bool, u64) {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(Bytes::from(data))
            .with_gas_limit(10_000_000);
        let receipt =
            self.provider.send_transaction(tx).await.expect("send").get_receipt().await.expect("receipt");
        (receipt.status(), receipt.gas_used)
    }

    pub async fn estimate_raw(&self, to: Address, data: Vec<u8>) -> Result<u64, String> {
        let tx = TransactionRequest::default().with_to(to).with_input(Bytes::from(data));
        self.provider.estimate_gas(tx).await.map_err(|e| e.to_string())
    }

    pub async fn verify(&self, verifier: Address, proof: &[u8], instances: &[U256]) -> Outcome {
        let data = verifyProofCall { proof: Bytes::copy_from_slice(proof), instances: instances.to_vec() }
            .abi_encode();
        match self.call_raw(verifier, data).await {
            Err(e) => Outcome::Revert(e),
            Ok(out) => match verifyProofCall::abi_decode_returns(&out) {
                Ok(true) => Outcome::True,
                Ok(false) => Outcome::False,
                Err(e) => Outcome::Revert(format!("undecodable return {out}: {e}")),
            },
        }
    }

    /// verifyProof with an explicit gas limit.
    pub async fn verify_with_gas(
        &self,
        verifier: Address,
        proof: &[u8],
        instances: &[U256],
        gas: u64,
    ) -> Outcome {
        let data = Self::verify_calldata(proof, instances);
        let tx =
            TransactionRequest::default().with_to(verifier).with_input(Bytes::from(data)).with_gas_limit(gas);
        match self.provider.call(tx).await {
            Err(e) => Outcome::Revert(e.to_string()),
            Ok(out) => match verifyProofCall::abi_decode_returns(&out) {
                Ok(true) => Outcome::True,
                Ok(false) => Outcome::False,
                Err(e) => Outcome::Revert(format!("undecodable return {out}: {e}")),
            },
        }
    }

    pub fn verify_calldata(proof: &[u8], instances: &[U256]) -> Vec<u8> {
        verifyProofCall { proof: Bytes::copy_from_slice(proof), instances: instances.to_vec() }.abi_encode()
    }
}
