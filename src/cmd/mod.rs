//! Subcommands, one `Args` struct per file.

mod commit;
mod compile;
mod demo;
mod floor;
mod progress;
mod prove;
mod relay;
mod setup;
mod toolchain;
mod verifier;
mod verify;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

/// The model directory every command after `compile` reads (`<DIR>`), flattened into each one's arguments.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ModelDirArg {
    /// Model directory: made by `zkoracle compile` (circuit.json; weights.json with `--params
    /// private|hashed`), with `zkoracle setup`'s keys (pk.bin, vk.bin, kzg.srs) for the commands after it.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

impl ModelDirArg {
    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }
}

/// zkoracle: verifiable ML inference for EVM chains.
#[derive(Debug, Parser)]
#[command(name = "zkoracle", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Calibrate and quantize an ONNX model into a circuit (`<dir>/circuit.json`).
    Compile(compile::CompileArgs),
    /// Print the Poseidon commitment to a `--params private` model's weights (what the registry stores).
    Commit(commit::CommitArgs),
    /// Generate the proving and verifying keys (`<dir>/pk.bin`, `<dir>/vk.bin`).
    Setup(setup::SetupArgs),
    /// Prove an inference (`proof.json`).
    Prove(prove::ProveArgs),
    /// Verify a `proof.json` natively; exit 0 only when valid.
    Verify(verify::VerifyArgs),
    /// Generate (and with `--compile`, compile) the model's Solidity verifier.
    Verifier(verifier::VerifierArgs),
    /// Run the relayer: prove and fulfil the oracle's requests for the configured models.
    Relay(relay::RelayArgs),
    /// Run the whole job end to end on a local anvil chain (`make demo`).
    Demo(demo::DemoArgs),
    /// Diagnostic: count and time the MSMs and FFTs a proof needs at the model's k (the prover's floor).
    Floor(floor::FloorArgs),
}

/// Parses arguments, runs the command, and turns any error into a one-line reason and exit code 1.
pub(crate) fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(a) => a.run(),
        Command::Commit(a) => a.run(),
        Command::Setup(a) => a.run(),
        Command::Prove(a) => a.run(),
        Command::Verify(a) => a.run(),
        Command::Verifier(a) => a.run(),
        Command::Relay(a) => a.run(),
        Command::Demo(a) => a.run(),
        Command::Floor(a) => a.run(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            std::process::ExitCode::FAILURE
        }
    }
}
