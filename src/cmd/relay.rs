//! `zkoracle relay --config relayer.toml`: the fulfilment daemon (see `zkoracle-relayer`).

use std::path::PathBuf;

use clap::Args;
use eyre::WrapErr;
use zkoracle_relayer::Config;

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
        runtime.block_on(zkoracle_relayer::run(config, shutdown_signal()))?;
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
