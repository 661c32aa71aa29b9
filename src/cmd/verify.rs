//! `zkoracle verify <dir> <proof.json>`.

use std::path::PathBuf;

use clap::Args;
use zkoracle_prover::{read_bundle, verify_bundle};

/// Arguments of `zkoracle verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    model: super::ModelDirArg,
    /// The proof to check.
    proof: PathBuf,
}

impl VerifyArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let bundle = read_bundle(&self.proof)?;
        let start = std::time::Instant::now();
        let verified = verify_bundle(self.model.path(), &bundle)?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        match verified.weights_commitment {
            Some(c) => {
                println!("proof valid ({ms:.1} ms): weights commitment {c}, vk {}", verified.vk_digest)
            }
            None => println!("proof valid ({ms:.1} ms): fixed weights, vk {}", verified.vk_digest),
        }
        Ok(())
    }
}
