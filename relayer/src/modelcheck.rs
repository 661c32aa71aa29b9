//! The start-up comparison of a served model with its on-chain registration: a relayer never proves for a
//! registration its key does not match (every fulfilment would revert) and never serves a model registered
//! with another verifier or a lower fee than the operator pinned.

use crate::{chain::IInferenceOracle, config::ModelConfig, prover::Prover};

/// `Err` names the first difference between the local model (and its config) and the registration.
pub(crate) fn compare(
    cfg: &ModelConfig,
    local: &dyn Prover,
    on_chain: &IInferenceOracle::Model,
) -> Result<(), String> {
    let p = &on_chain.params;
    let (inl, outl) = (p.inputLen as usize, p.outputLen as usize);
    if (inl, outl) != (local.input_len(), local.output_len()) {
        return Err(format!(
            "on-chain shape {inl}->{outl} differs from the local model {}->{}",
            local.input_len(),
            local.output_len()
        ));
    }
    let scales = (p.inputScale, p.outputScale);
    if local.scales().is_some_and(|s| s != scales) {
        return Err(format!("on-chain scales {scales:?} differ from the local model's {:?}", local.scales()));
    }
    if let Some(digest) = local.vk_digest().filter(|d| *d != p.vkDigest) {
        return Err(format!(
            "on-chain vkDigest {} differs from the local verifying key's {digest} (dir {})",
            p.vkDigest,
            cfg.dir.display()
        ));
    }
    // Every proof for a model whose weights are not the registered ones would revert.
    let words = local.weights_commitment_words();
    if p.weightsCommitment != words {
        return Err(format!(
            "registered weights commitment {:?} differs from the local model's {words:?}",
            p.weightsCommitment
        ));
    }
    if let Some(pinned) = cfg.verifier.filter(|v| *v != p.verifier) {
        return Err(format!("registered verifier {} is not the configured verifier {pinned}", p.verifier));
    }
    if let Some(min) = cfg.min_fee_wei.filter(|min| p.fee < *min) {
        return Err(format!("registered fee {} wei is below the configured min_fee_wei {min}", p.fee));
    }
    Ok(())
}
