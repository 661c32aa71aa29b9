//! `zkoracle compile <model.onnx> --data <input.json> -o <dir>`.

use std::path::PathBuf;

use clap::Args;
use eyre::WrapErr;
use zkoracle_prover::ModelDir;
use zkoracle_prover::ParamsVisibility;
use zkoracle_prover::PrivateWeights;
use zkoracle_prover::{compile, CompileOptions, Prefer};

/// Arguments of `zkoracle compile`.
#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Sample input for calibration (EZKL's `{"input_data": [[...]]}` format).
    #[arg(long)]
    data: PathBuf,
    /// Output directory (gets `circuit.json`, and `weights.json` with `--params private`).
    #[arg(short, long)]
    output: PathBuf,
    /// Fixed-point scale in bits (default: calibrated).
    #[arg(long)]
    scale: Option<u8>,
    /// Operand columns per row (default: chosen with the scale, see the README).
    #[arg(long)]
    width: Option<usize>,
    /// Weight scale in bits (default: as large as the range checks allow without growing the circuit).
    #[arg(long)]
    weight_scale: Option<u8>,
    /// How model weights enter the circuit.
    #[arg(long, value_enum, default_value = "fixed")]
    params: ParamsMode,
    /// Range checks in limbs of this many bits (0: whole-range lookup tables); default: chosen with the
    /// scale and width (see the README).
    #[arg(long)]
    limb_bits: Option<u8>,
    /// Compile to exactly the circuit of an earlier `compile` output directory (same scales, width, range
    /// and k): with `--params private`, a model of the same architecture then shares its keys and verifier.
    #[arg(long, value_name = "DIR")]
    like: Option<PathBuf>,
    /// Among equally accurate candidates: the cheapest verification (`gas`) or the fastest proving and
    /// smallest proving key (`proving`).
    #[arg(long, value_enum, default_value = "gas")]
    prefer: PreferMode,
    /// Largest circuit (log2 rows) to build; a model that needs more is refused at once, naming the k and
    /// rows it would need. Default: what half this machine's memory proves (about 8 KiB per row).
    #[arg(long)]
    max_k: Option<u32>,
    /// Precise non-linear functions (docs/NONLINEAR.md): interpolated lookups for sigmoid, tanh, exp and the
    /// other smooth functions, exact reciprocal and reciprocal square root. Default: tried with and without,
    /// calibration keeps the more accurate within its proving budget.
    #[arg(long)]
    precise: Option<bool>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PreferMode {
    /// Fewest verifier MSM terms within 1.5x the least proving work (gas is paid on every fulfilment).
    Gas,
    /// Least proving work, then fewest verifier terms.
    Proving,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ParamsMode {
    /// Weights fixed into the verifying key.
    Fixed,
    /// Weights are private witnesses in dedicated columns behind a salted KZG commitment, blinded afresh in
    /// every proof (weights and salt written to `weights.json`; `zkoracle commit` prints the commitment).
    Private,
    /// Weights are private witnesses hashed by Poseidon in the circuit (a field-element commitment; a much
    /// larger circuit).
    Hashed,
}

impl CompileArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let params = match self.params {
            ParamsMode::Fixed => ParamsVisibility::Fixed,
            ParamsMode::Private => ParamsVisibility::Private,
            ParamsMode::Hashed => ParamsVisibility::Hashed,
        };
        let like = self
            .like
            .as_ref()
            .map(|dir| ModelDir::new(dir).read_settings())
            .transpose()
            .wrap_err("reading the --like directory")?;
        let opts = CompileOptions {
            scale: self.scale,
            width: self.width,
            weight_scale: self.weight_scale,
            params,
            limb_bits: self.limb_bits,
            like,
            prefer: match self.prefer {
                PreferMode::Gas => Prefer::Gas,
                PreferMode::Proving => Prefer::Proving,
            },
            max_k: self.max_k,
            precise: self.precise,
        };
        let settings = compile(&self.model, &self.data, &opts)?;
        let out = ModelDir::new(&self.output);
        if settings.is_private() {
            // The secret half first: a circuit.json never exists without its weights.
            let weights = PrivateWeights::for_circuit(&settings.graph, settings.circuit_params);
            out.write_weights(&weights).wrap_err("writing weights.json")?;
            let commitment = if weights.is_committed() {
                format!(
                    "{} weight column(s); `zkoracle commit {}` prints the commitment after setup",
                    settings.circuit_params.store,
                    self.output.display()
                )
            } else {
                format!("commitment {}", weights.commitment)
            };
            println!(
                "private parameters: {} values in {} (keep it secret), {commitment}",
                weights.values.len(),
                out.weights().display(),
            );
        }
        out.write_settings(&settings).wrap_err("writing circuit.json")?;
        println!(
            "compiled {}: {} inputs, {} outputs, scale 2^{} (weights 2^{}), k = {}, width {}, {} rows, range [-{}, {}){}",
            settings.model.file,
            settings.input_len(),
            settings.output_len(),
            settings.scale,
            settings.weight_scale,
            settings.k,
            settings.circuit_params.width,
            settings.rows,
            settings.bound,
            settings.bound,
            match settings.circuit_params.limb_bits {
                0 => String::new(),
                t if settings.circuit_params.interp || settings.circuit_params.exact => {
                    format!(", {t}-bit limb range checks, precise non-linear functions (docs/NONLINEAR.md)")
                }
                t => format!(", {t}-bit limb range checks"),
            }
        );
        println!(
            "max abs error vs float inference: {:.6} (over {} calibration inputs)",
            settings.calibration.max_abs_error, settings.calibration.samples
        );
        println!("wrote {}", out.circuit().display());
        Ok(())
    }
}
