//! `zkoracle commit <dir>`.

use std::path::PathBuf;

use clap::Args;
use eyre::{bail, WrapErr};
use zkoracle_prover::keys::files;
use zkoracle_prover::params::PrivateWeights;
use zkoracle_prover::settings::CircuitSettings;

/// Arguments of `zkoracle commit`.
#[derive(Debug, Args)]
pub(crate) struct CommitArgs {
    /// Directory made by `zkoracle compile --params private`.
    dir: PathBuf,
}

impl CommitArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let settings = CircuitSettings::read(&self.dir.join(files::CIRCUIT))?;
        if !settings.is_private() {
            bail!(
                "{}: the model's weights are fixed into the verifying key (compiled with --params fixed); \
                 there is no commitment",
                self.dir.display()
            );
        }
        let path = self.dir.join(files::WEIGHTS);
        // `read` recomputes the commitment from the stored values and rejects a mismatch.
        let weights = PrivateWeights::read(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
        let mut graph = settings.graph;
        zkoracle_prover::params::fill(&mut graph, &weights.values)
            .wrap_err_with(|| format!("{} does not fit {}", path.display(), files::CIRCUIT))?;
        println!("{}", weights.commitment);
        Ok(())
    }
}
