//! `zkoracle verifier <dir> -o <Verifier.sol> [--compile]`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use eyre::WrapErr;
use zkoracle_codegen::{
    build_verifier_for, compile_verifier, generate_private_verifier, generate_verifier_with,
    write_verifier_files, CompiledVerifier, VerifierSource, VkPlacement, WeightsKnowledge, EIP170_LIMIT,
};
use zkoracle_prover::read_vk;
use zkoracle_prover::write_atomic;
use zkoracle_prover::ModelDir;
use zkoracle_prover::{load_settings_and_srs, weights_knowledge_spec};

use super::progress::Step;
use super::toolchain::solc_path;

/// Arguments of `zkoracle verifier`.
#[derive(Debug, Args)]
pub(crate) struct VerifierArgs {
    #[command(flatten)]
    model: super::ModelDirArg,
    /// Where to write the Solidity verifier (e.g. `Verifier.sol`).
    #[arg(short, long)]
    output: PathBuf,
    /// Also compile it, writing `<stem>.json` (ABI, bytecode, sizes) and `<stem>.bytecode` (creation code
    /// as hex, for `script/02_DeployVerifier.s.sol`) next to the source.
    #[arg(long)]
    compile: bool,
    /// The solc to compile with (default: `tools/solc` in the working directory, else in the repository
    /// that holds this executable).
    #[arg(long, env = "ZKORACLE_SOLC")]
    solc: Option<PathBuf>,
    /// Where the verifying key's commitments live; `auto` embeds them unless the compiled verifier would
    /// exceed EIP-170's 24,576 bytes (without `--compile`, `auto` embeds).
    #[arg(long, value_enum, default_value = "auto")]
    vk_placement: Placement,
}

/// `--vk-placement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Placement {
    /// Embedded when it fits EIP-170, separate otherwise.
    Auto,
    /// Commitments are constants of the verifier.
    Embedded,
    /// Commitments live in a data-only `Halo2VerifyingKey` contract deployed first.
    Separate,
}

/// What [`write_verifier`] produced.
#[derive(Debug)]
pub(crate) struct VerifierOutput {
    /// The generated source.
    pub(crate) source: VerifierSource,
    /// The compiled contracts, when compiled.
    pub(crate) compiled: Option<CompiledVerifier>,
    /// Every file written.
    pub(crate) files: Vec<PathBuf>,
}

/// Generates the verifier of the model in `dir`, writes it to `out_sol` and, with `solc`, compiles it
/// and writes the artifacts next to it.
pub(crate) fn write_verifier(
    dir: &Path,
    out_sol: &Path,
    solc: Option<&Path>,
    placement: Placement,
) -> eyre::Result<VerifierOutput> {
    let (settings, params) = load_settings_and_srs(dir)?;
    let vk = read_vk(&ModelDir::new(dir).vk(), &settings)?;
    let n = settings.num_instances;
    // A `--params private` verifier also checks the weights knowledge proof.
    let weights = weights_knowledge_spec(&settings, &params).map(|w| WeightsKnowledge {
        columns: w.columns,
        first_word: w.first_word,
        bases: w.bases,
        domain: w.domain,
    });
    let (source, compiled) = match (solc, placement) {
        (Some(solc), Placement::Auto) => {
            let (s, c) = build_verifier_for(&params, &vk, (n, weights.as_ref()), solc)?;
            (s, Some(c))
        }
        (solc, p) => {
            let p = if p == Placement::Separate { VkPlacement::Separate } else { VkPlacement::Embedded };
            let source = match &weights {
                Some(w) => generate_private_verifier(&params, &vk, n, (p, w))?,
                None => generate_verifier_with(&params, &vk, n, p)?,
            };
            let compiled = solc.map(|solc| compile_verifier(&source, solc)).transpose()?;
            (source, compiled)
        }
    };
    let mut written = write_verifier_files(out_sol, &source, compiled.as_ref())?;
    if let Some(c) = &compiled {
        let hex_file = |suffix: &str, code: &[u8]| -> eyre::Result<PathBuf> {
            let path = sibling(out_sol, suffix)?;
            write_atomic(&path, format!("0x{}\n", hex::encode(code)).as_bytes())?;
            Ok(path)
        };
        written.push(hex_file("bytecode", &c.creation_bytecode)?);
        if let Some(vk_contract) = &c.vk_contract {
            written.push(hex_file("vk.bytecode", &vk_contract.creation_bytecode)?);
        }
    }
    Ok(VerifierOutput { source, compiled, files: written })
}

/// `<dir>/<stem>.<suffix>` for `path` = `<dir>/<stem>.sol`.
fn sibling(path: &Path, suffix: &str) -> eyre::Result<PathBuf> {
    let stem =
        path.file_stem().ok_or_else(|| eyre::eyre!("{} has no file name", path.display()))?.to_string_lossy();
    Ok(path.with_file_name(format!("{stem}.{suffix}")))
}

impl VerifierArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let solc = if self.compile { Some(solc_path(self.solc.as_deref())?) } else { None };
        let step = Step::start(if self.compile {
            "generating and compiling the verifier"
        } else {
            "generating the verifier"
        });
        let out = write_verifier(self.model.path(), &self.output, solc.as_deref(), self.vk_placement)
            .wrap_err_with(|| format!("verifier for {}", self.model.path().display()))?;
        let secs = step.finish();
        let placement = match out.source.placement {
            VkPlacement::Embedded => "verifying key embedded",
            VkPlacement::Separate => "verifying key in a separate Halo2VerifyingKey contract",
        };
        println!(
            "generated {} in {secs:.2}s: {} instances, {}-byte proofs, {placement}",
            VerifierSource::VERIFIER_CONTRACT,
            out.source.num_instances,
            out.source.proof_len
        );
        if let Some(c) = &out.compiled {
            println!(
                "compiled with solc {}: runtime size {} bytes ({:.1}% of the EIP-170 limit {EIP170_LIMIT})",
                c.solc_version,
                c.runtime_size(),
                100.0 * c.runtime_size() as f64 / EIP170_LIMIT as f64
            );
            if let Some(vk) = &c.vk_contract {
                println!(
                    "{}: runtime size {} bytes (deploy it first; the verifier's constructor takes its address)",
                    vk.name,
                    vk.runtime_bytecode.len()
                );
            }
        }
        for f in &out.files {
            println!("wrote {}", f.display());
        }
        Ok(())
    }
}
