//! `zkoracle compile <model.onnx> --data <input.json> -o <dir>`.

use std::path::PathBuf;

use clap::Args;
use eyre::WrapErr;
use zkoracle_prover::compile::{compile, CompileOptions};
use zkoracle_prover::keys::files;

/// Arguments of `zkoracle compile`.
#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Sample input for calibration (EZKL's `{"input_data": [[...]]}` format).
    #[arg(long)]
    data: PathBuf,
    /// Output directory (gets `circuit.json`).
    #[arg(short, long)]
    output: PathBuf,
    /// Fixed-point scale in bits (default: calibrated).
    #[arg(long)]
    scale: Option<u8>,
    /// Operand columns per row (default: the cheapest for the model).
    #[arg(long)]
    width: Option<usize>,
    /// Weight scale in bits (default: as large as the circuit's tables allow, at most 12).
    #[arg(long)]
    weight_scale: Option<u8>,
    /// How model weights enter the circuit.
    #[arg(long, value_enum, default_value = "fixed")]
    params: ParamsMode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ParamsMode {
    /// Weights fixed into the verifying key.
    Fixed,
}

impl CompileArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let ParamsMode::Fixed = self.params;
        let opts = CompileOptions { scale: self.scale, width: self.width, weight_scale: self.weight_scale };
        let settings = compile(&self.model, &self.data, &opts)?;
        let path = self.output.join(files::CIRCUIT);
        settings.write(&path).wrap_err("writing circuit.json")?;
        println!(
            "compiled {}: {} inputs, {} outputs, scale 2^{} (weights 2^{}), k = {}, width {}, {} rows, range [-{}, {})",
            settings.model.file,
            settings.input_len(),
            settings.output_len(),
            settings.scale,
            settings.weight_scale,
            settings.k,
            settings.circuit_params.width,
            settings.rows,
            settings.bound,
            settings.bound
        );
        println!(
            "max abs error vs float inference: {:.6} (over {} calibration inputs)",
            settings.calibration.max_abs_error, settings.calibration.samples
        );
        println!("wrote {}", path.display());
        Ok(())
    }
}
