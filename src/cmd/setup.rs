//! `zkoracle setup <dir> [--srs <file>]`.

use std::path::PathBuf;

use clap::Args;
use zkoracle_prover::SrsSource;

use super::progress::Step;

/// Where the insecure development SRS is cached (every command that may generate one takes it).
#[derive(Debug, Args)]
pub(crate) struct SrsCacheArgs {
    /// Cache directory of the generated development SRS files [default: ~/.cache/zkoracle/srs]
    #[arg(long = "srs-cache", env = "ZKORACLE_SRS_DIR", value_name = "DIR")]
    srs_cache: Option<PathBuf>,
}

impl SrsCacheArgs {
    /// The cache directory.
    pub(crate) fn dir(&self) -> PathBuf {
        self.srs_cache.clone().unwrap_or_else(zkoracle_prover::default_dev_dir)
    }

    /// The development SRS in this cache.
    pub(crate) fn dev(&self) -> SrsSource {
        SrsSource::Dev { cache: self.dir() }
    }
}

/// Arguments of `zkoracle setup`.
#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    #[command(flatten)]
    model: super::ModelDirArg,
    /// A halo2 KZG SRS file (`kzg{k}.srs`, Perpetual Powers of Tau format); larger ones are downsized.
    /// Without it an insecure development SRS is generated and cached.
    #[arg(long)]
    srs: Option<PathBuf>,
    #[command(flatten)]
    cache: SrsCacheArgs,
}

impl SetupArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let step = Step::start("generating keys");
        let srs = self.srs.clone().map_or_else(|| self.cache.dev(), SrsSource::File);
        let report = zkoracle_prover::setup(self.model.path(), &srs)?;
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
