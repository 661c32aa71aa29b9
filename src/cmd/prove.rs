//! `zkoracle prove <dir> --data <input.json> -o <proof.json> [--repeat N]`.

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::Args;
use zkoracle_prover::read_input;
use zkoracle_prover::{write_bundle, DEFAULT_COSET_CACHE_MB};
use zkoracle_prover::{ProofBundle, ProvingModel};

use super::progress::Step;

/// Arguments of `zkoracle prove`.
#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    #[command(flatten)]
    model: super::ModelDirArg,
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
    /// Benchmark the warm prover (the relayer's): after the first (cold) proof, keep the SRS points' window
    /// multiples and the proving key's coset evaluations in memory (`--cache-mb`) and prove N more times in
    /// this process; prints cold and warm prove times. proof.json is the cold proof.
    #[arg(long, default_value_t = 0)]
    repeat: usize,
    /// Memory budget of the warm prover's caches in MiB, the MSM tables first (with `--repeat`; the
    /// relayer's `prover_cache_mb`).
    #[arg(long, default_value_t = DEFAULT_COSET_CACHE_MB)]
    cache_mb: usize,
}

impl ProveArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let load = Step::start("loading proving key");
        let mut model = ProvingModel::load(self.model.path())?;
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
        if self.repeat > 0 {
            self.warm(&mut model, &input, &bundle, secs)?;
        }
        Ok(())
    }

    /// `--repeat`: builds the MSM tables and the coset cache, proves `repeat` more times and prints cold and
    /// warm times.
    fn warm(
        &self,
        model: &mut ProvingModel,
        input: &[f64],
        cold: &ProofBundle,
        cold_s: f64,
    ) -> eyre::Result<()> {
        let budget = self.cache_mb.saturating_mul(1 << 20);
        let step = Step::start("caching the SRS window multiples");
        let tables = model.cache_msm_tables(budget);
        let tables_s = step.finish();
        let step = Step::start("caching the key's cosets");
        let stats = model.cache_cosets(budget.saturating_sub(tables));
        let cache_s = step.finish();
        let mut times = Vec::with_capacity(self.repeat);
        for _ in 0..self.repeat {
            let step = Step::start("proving (warm)");
            let warm = model.prove(input, self.fulfiller)?;
            times.push(step.finish());
            if warm.outputs_quantized != cold.outputs_quantized || warm.proof.len() != cold.proof.len() {
                eyre::bail!("a warm proof differs in shape from the cold one");
            }
        }
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "coset cache: {:.1} MiB ({} of {} extended-domain parts, {} polynomials each) built in {cache_s:.3}s",
            stats.bytes() as f64 / f64::from(1u32 << 20),
            stats.parts_cached,
            stats.parts_total,
            stats.polys_per_part,
        );
        println!("MSM tables: {:.1} MiB built in {tables_s:.3}s", tables as f64 / f64::from(1u32 << 20));
        println!("warm prove: best {best:.3}s, mean {mean:.3}s over {} (cold {cold_s:.3}s)", times.len());
        println!(
            "bench: cold_prove_s={cold_s:.4} warm_prove_s={best:.4} warm_mean_s={mean:.4} cache_build_s={cache_s:.4} \
             cache_mib={:.1} tables_build_s={tables_s:.4} tables_mib={:.1}",
            stats.bytes() as f64 / f64::from(1u32 << 20),
            tables as f64 / f64::from(1u32 << 20)
        );
        Ok(())
    }
}
