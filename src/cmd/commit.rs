//! `zkoracle commit <dir>`.

use clap::Args;
use eyre::{bail, WrapErr};
use zkoracle_prover::PrivateWeights;
use zkoracle_prover::{files, ModelDir};
use zkoracle_prover::{fr_to_hex, load_settings_and_srs, registered_commitment};

/// Arguments of `zkoracle commit`.
#[derive(Debug, Args)]
pub(crate) struct CommitArgs {
    #[command(flatten)]
    model: super::ModelDirArg,
}

impl CommitArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let dir = ModelDir::new(self.model.path());
        let settings = dir.read_settings()?;
        if !settings.is_private() {
            bail!(
                "{}: the model's weights are fixed into the verifying key (compiled with --params fixed); \
                 there is no commitment",
                self.model.path().display()
            );
        }
        let path = dir.weights();
        // `read` recomputes a hashed commitment from the stored values and rejects a mismatch.
        let weights = PrivateWeights::read(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
        let mut graph = settings.graph.clone();
        zkoracle_prover::fill_weights(&mut graph, &weights.values)
            .wrap_err_with(|| format!("{} does not fit {}", path.display(), files::CIRCUIT))?;
        if !settings.circuit_params.committed() {
            println!("{}", weights.commitment);
            return Ok(());
        }
        // The KZG commitment: the words the registry's `weightsCommitment` takes (comma-separated, as
        // script/03_RegisterModel.s.sol's WEIGHTS_COMMITMENT reads them), then the points.
        let (settings, params) = load_settings_and_srs(self.model.path())
            .wrap_err("the commitment is over the model's SRS: run `zkoracle setup` first")?;
        let salt = weights.salt_fr().wrap_err_with(|| format!("reading {}", path.display()))?;
        let commitment = registered_commitment(&params, &settings, &weights.values, &salt)?;
        let words: Vec<String> = commitment.words().iter().map(fr_to_hex).collect();
        println!("{}", words.join(","));
        eprintln!(
            "KZG commitment of {} weight column(s) (x ‖ y): {}",
            commitment.0.len(),
            commitment.to_hex()
        );
        Ok(())
    }
}
