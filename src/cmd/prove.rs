//! `zkoracle prove <dir> --data <input.json> -o <proof.json>`.

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::Args;
use zkoracle_prover::input::read_input;
use zkoracle_prover::proof::write_bundle;
use zkoracle_prover::ProvingModel;

use super::progress::Step;

/// Arguments of `zkoracle prove`.
#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// Directory made by `zkoracle compile` and `zkoracle setup`.
    dir: PathBuf,
    /// The input (EZKL's `{"input_data": [[...]]}` format).
    #[arg(long)]
    data: PathBuf,
    /// Where to write proof.json.
    #[arg(short, long)]
    output: PathBuf,
    /// The account that will send `fulfill`: the proof is bound to it (the last public instance) and fails
    /// for any other sender. The zero address (the default) suits offline verification only.
    #[arg(long, default_value_t = Address::ZERO)]
    fulfiller: Address,
}

impl ProveArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let load = Step::start("loading proving key");
        let model = ProvingModel::load(&self.dir)?;
        let load_s = load.finish();
        let input = read_input(&self.data)?;
        let step = Step::start("proving");
        let bundle = model.prove(&input, self.fulfiller)?;
        let secs = step.finish();
        write_bundle(&self.output, &bundle)?;
        println!("outputs {:?}", bundle.outputs);
        println!(
            "proved in {secs:.3}s (key load {load_s:.3}s): {} proof bytes, {} instances -> {}",
            bundle.proof.len(),
            bundle.instances.len(),
            self.output.display()
        );
        Ok(())
    }
}
