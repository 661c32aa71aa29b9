//! `zkoracle floor <dir> [--data <input.json>] [--json] [--repeat N]`: the prover's MSM/FFT floor for a compiled model.

use std::path::PathBuf;

use clap::Args;
use zkoracle_prover::floor;
use zkoracle_prover::read_input;

use super::progress::Step;

/// Arguments of `zkoracle floor`.
#[derive(Debug, Args)]
pub(crate) struct FloorArgs {
    #[command(flatten)]
    model: super::ModelDirArg,
    /// An input (EZKL's `{"input_data": [[...]]}`): time the advice and lookup MSMs on its witness (needs
    /// `zkoracle setup`). Without it every MSM gets random full-width scalars (the dense upper bound).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Timed repetitions; each figure is the best.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[command(flatten)]
    cache: super::setup::SrsCacheArgs,
}

impl FloorArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        let step = Step::start("timing MSMs and FFTs");
        let input = self.data.as_deref().map(read_input).transpose()?;
        let fl = floor(self.model.path(), input.as_deref(), self.repeat, &self.cache.dir())?;
        step.finish();
        let (c, s) = (&fl.counts, &fl.seconds);
        if self.json {
            let mut v = serde_json::to_value(&fl)?;
            v["floor_s"] = s.total().into();
            v["msm_s"] = s.msm().into();
            v["fft_s"] = s.fft().into();
            println!("{}", serde_json::to_string(&v)?);
            return Ok(());
        }
        println!(
            "k {} (extended {}), degree {}: {} advice, {} instance, {} fixed columns; {} lookups; {} equality \
             columns in {} permutation products; {} quotient pieces (from {})",
            c.k,
            c.extended_k,
            c.degree,
            c.advice_columns,
            c.instance_columns,
            c.fixed_columns,
            c.lookups,
            c.equality_columns,
            c.permutation_products,
            c.quotient_pieces,
            fl.source
        );
        let n = 1u64 << c.k;
        let rows = [
            ("MSM, Lagrange bases", c.msm_lagrange, n, s.msm_lagrange),
            ("  of which witness", fl.witness_msms, n, s.msm_witness),
            ("  (signed)", fl.witness_msms, n, s.msm_witness_signed),
            ("MSM, monomial bases", c.msm_monomial, n, s.msm_monomial),
            ("inverse FFT", c.ifft, n, s.ifft),
            ("coset FFT", c.coset_fft, n, s.coset_fft),
            ("extended inverse FFT", c.extended_ifft, 1u64 << c.extended_k, s.extended_ifft),
        ];
        println!("{:<22} {:>6} {:>9} {:>10}", "operation", "count", "size", "seconds");
        for (name, count, size, secs) in rows {
            println!("{name:<22} {count:>6} {size:>9} {secs:>10.4}");
        }
        println!(
            "floor {:.4} s (MSM {:.4} s, FFT {:.4} s), best of {}, {} MSM scalars; proof: {} points + {} scalars \
             = {} bytes",
            s.total(),
            s.msm(),
            s.fft(),
            fl.repeats,
            fl.scalars,
            c.proof_points,
            c.proof_scalars,
            c.evm_proof_bytes()
        );
        Ok(())
    }
}
