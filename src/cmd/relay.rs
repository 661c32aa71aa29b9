//! `zkoracle relay --config relayer.toml`: the fulfilment daemon (see `zkoracle-relayer`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use eyre::WrapErr;
use zkoracle_prover::ProvingModel;
use zkoracle_relayer::{Config, ModelLoader, Proof, Prover};

/// Arguments of `zkoracle relay`.
#[derive(Debug, Args)]
pub(crate) struct RelayArgs {
    /// The relayer's TOML configuration (see docs/DEMO.md for every key).
    #[arg(short, long, default_value = "relayer.toml")]
    config: PathBuf,
}

impl RelayArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        init_tracing("info");
        let config = Config::from_file(&self.config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .wrap_err("starting the async runtime")?;
        runtime.block_on(zkoracle_relayer::run_with_loader(
            config,
            Arc::new(ProverLoader),
            shutdown_signal(),
        ))?;
        Ok(())
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: `default_filter`). A second call is a no-op.
pub(crate) fn init_tracing(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown signal received");
}

/// Loads model directories with [`ProvingModel::load`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProverLoader;

impl ModelLoader for ProverLoader {
    fn load(&self, dir: &Path) -> Result<Arc<dyn Prover>, String> {
        ProvingModel::load(dir)
            .map(|m| Arc::new(LoadedModel(m)) as Arc<dyn Prover>)
            .map_err(|e| e.to_string())
    }
}

/// A [`ProvingModel`] behind the relayer's [`Prover`] trait.
#[derive(Debug)]
struct LoadedModel(ProvingModel);

impl Prover for LoadedModel {
    fn input_len(&self) -> usize {
        self.0.input_len()
    }

    fn output_len(&self) -> usize {
        self.0.output_len()
    }

    fn max_abs_input(&self) -> i64 {
        self.0.max_abs_input()
    }

    fn prove_quantized(&self, input: &[i64]) -> Result<Proof, String> {
        let b = self.0.prove_quantized(input).map_err(|e| e.to_string())?;
        Ok(Proof {
            outputs: b.outputs,
            outputs_quantized: b.outputs_quantized,
            instances: b.instances,
            proof: b.proof,
            calldata: b.calldata,
        })
    }
}
