//! `zkoracle setup <dir> [--srs <file>]`.

use std::path::PathBuf;

use clap::Args;

use super::progress::Step;

/// Arguments of `zkoracle setup`.
#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Directory made by `zkoracle compile`.
    dir: PathBuf,
    /// A halo2 KZG SRS file (`kzg{k}.srs`, Perpetual Powers of Tau format); larger ones are downsized.
    /// Without it an insecure development SRS is generated and cached.
    #[arg(long)]
    srs: Option<PathBuf>,
}

impl SetupArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let step = Step::start("generating keys");
        let report = zkoracle_prover::setup(&self.dir, self.srs.as_deref())?;
        let secs = step.finish();
        if report.dev_srs {
            eprintln!(
                "warning: using the deterministic DEVELOPMENT SRS: its toxic waste is public, so anyone can forge \
                 proofs. Pass --srs <kzg{{k}}.srs> from a real ceremony for production."
            );
        }
        println!(
            "setup done in {secs:.2}s: pk.bin {} bytes, vk.bin {} bytes\nvk_digest {}",
            report.pk_bytes, report.vk_bytes, report.vk_digest
        );
        Ok(())
    }
}
