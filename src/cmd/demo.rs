//! `zkoracle demo`: the whole job on a throw-away local chain. Starts anvil, compiles and sets up the bundled
//! spread model, generates and compiles its verifier, deploys the oracle and the verifier with the forge scripts,
//! registers the model, deploys the consumer (`--consumer amm`: a SpreadGatedAMM; `--consumer uniswap-v4`: the
//! Uniswap v4 fee hook and its pool), runs the relayer in-process, makes the pool ask for a new fee from its
//! market features, waits for the proof-checked fulfilment, shows the fee it set and swaps at it.
//!
//! anvil and the relayer are stopped on success, on failure and on Ctrl-C; the forge scripts' address book
//! (`deployments/<chainid>.json`) is copied into the work directory and removed from the checkout.

mod contracts;
mod deploy;
mod forge;
mod market;
mod pool;
mod relayer;
mod uniswap;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use eyre::{bail, eyre, WrapErr};
use serde::Serialize;
use zkoracle_prover::CircuitSettings;
use zkoracle_prover::ModelDir;
use zkoracle_prover::{compile, CompileOptions};

use self::contracts::{DemoToken, SpreadGatedAMM};
use self::deploy::{deploy_amm, deploy_oracle, deploy_v4, Deployment, ModelRegistration};
use self::forge::{AddressBook, Forge};
use self::market::{advance_time, fmt_eth, fmt_tokens, group, tokens, Market, Trade};
use self::pool::{Consumer, Pool};
use self::relayer::{FulfilmentReport, RelayerHandle, RelayerSetup};
use self::uniswap::{V4Market, PIPS_PER_BPS};
use super::progress::Step;
use super::relay::{init_tracing, shutdown_signal};
use super::toolchain::{find_repo_root, node_tool, SOLC_SHIM};
use super::verifier::{write_verifier, Placement};

/// The bundled model the demo serves (`models/<MODEL>.onnx` and its sample input).
const MODEL: &str = "spread_mlp";
/// Environment variable the in-process relayer reads its key from (anvil's second dev account).
const RELAYER_KEY_ENV: &str = "ZKORACLE_DEMO_RELAYER_KEY";
/// The demo pool's trades before the spread request: (whole tokens in, token0 → token1).
const TRADES: [Trade; 3] = [
    Trade { amount: 40_000, zero_for_one: true },
    Trade { amount: 25_000, zero_for_one: false },
    Trade { amount: 60_000, zero_for_one: true },
];
/// Seconds of market time between the pool's deployment and the spread request.
const MARKET_SECS: u64 = 3600;
/// The swap quoted at the old and the new spread, in whole token0.
const QUOTE_TOKENS: u64 = 1_000;

/// Arguments of `zkoracle demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The consumer contract the model's verified output moves: a SpreadGatedAMM's spread, or a Uniswap v4
    /// pool's LP fee through the OracleDynamicFeeHook.
    #[arg(long, value_enum, default_value_t = Consumer::Amm)]
    consumer: Consumer,
    #[command(flatten)]
    opts: DemoOpts,
}

/// The options every `zkoracle demo` run takes, whatever the consumer.
#[derive(Debug, Args)]
pub(crate) struct DemoOpts {
    /// Work directory for the model, verifier, relayer database and address book
    /// (default: `<repository>/.zkoracle/demo`).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The zkoracle repository (default: found from the working directory or this executable).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Chain id of the local anvil chain (the scripts write `deployments/<chain-id>.json`).
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Seconds to wait for the relayer's fulfilment.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Also write a machine-readable summary here.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    srs_cache: super::setup::SrsCacheArgs,
}

/// What the demo measured (`--json`).
#[derive(Debug, Serialize)]
struct Summary {
    consumer: &'static str,
    chain_id: u64,
    oracle: Address,
    verifier: Address,
    vk_contract: Option<Address>,
    /// The consumer: `amm` for `--consumer amm`, `hook` for `--consumer uniswap-v4`.
    #[serde(flatten)]
    pool: PoolAddress,
    #[serde(serialize_with = "decimal")]
    model_id: U256,
    vk_digest: B256,
    scale: u8,
    output_scale: u8,
    verifier_runtime_size: usize,
    #[serde(serialize_with = "decimal")]
    request_id: U256,
    features: Vec<i64>,
    request_gas: u64,
    proving_ms: Option<u64>,
    fulfil_tx: String,
    fulfil_gas: u64,
    relayer_state: &'static str,
    fulfilled_after_ms: u64,
    model_output: i64,
    target_fee_bps: u16,
    fee_before_bps: u16,
    fee_after_bps: u16,
    #[serde(serialize_with = "decimal")]
    quote_in: U256,
    #[serde(serialize_with = "decimal")]
    quote_before: U256,
    #[serde(serialize_with = "decimal")]
    quote_after: U256,
    #[serde(serialize_with = "decimal")]
    swap_out: U256,
    /// `--consumer uniswap-v4`: the pool's LP fee at the PoolManager and the fee its `Swap` event charged.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    v4: Option<V4Summary>,
}

/// The consumer's address under its own key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum PoolAddress {
    Amm(Address),
    Hook(Address),
}

/// What only the Uniswap v4 demo measures (fees in v4's hundredths of a bps).
#[derive(Debug, Serialize)]
struct V4Summary {
    pool_manager: Address,
    pool_id: String,
    lp_fee_before: u32,
    lp_fee_after: u32,
    swap_fee: u32,
    swap_gas: u64,
}

/// A 256-bit integer as a decimal string.
fn decimal<S: serde::Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

/// Everything the async part needs.
struct Ctx<'a> {
    root: PathBuf,
    work: PathBuf,
    chain_id: u64,
    rpc_url: String,
    deployer: PrivateKeySigner,
    relayer: Address,
    book: &'a AddressBook,
    timeout: Duration,
    consumer: Consumer,
    /// The development SRS the demo keys its model with.
    srs: zkoracle_prover::SrsSource,
}

impl DemoArgs {
    pub(crate) fn run(self) -> eyre::Result<()> {
        init_tracing("warn");
        let Self { consumer, opts: o } = self;
        let root = match &o.repo {
            Some(r) => r.clone(),
            None => find_repo_root().ok_or_else(|| {
                eyre!("cannot find the zkoracle repository (foundry.toml + {SOLC_SHIM}); run from it or pass --repo")
            })?,
        };
        let root = root.canonicalize().wrap_err_with(|| format!("repository {}", root.display()))?;
        let anvil_bin = node_tool(&root, "anvil")?;
        node_tool(&root, "forge")?;
        let work = o.work_dir.clone().unwrap_or_else(|| root.join(".zkoracle").join("demo"));
        std::fs::create_dir_all(&work).wrap_err_with(|| format!("creating {}", work.display()))?;
        let work = work.canonicalize()?;
        // Results of an earlier run must not be mistaken for this one's.
        for stale in ["deployments.json", "relayer.sqlite", "relayer.sqlite-wal", "relayer.sqlite-shm"] {
            let p = work.join(stale);
            if p.exists() {
                std::fs::remove_file(&p).wrap_err_with(|| format!("removing {}", p.display()))?;
            }
        }
        let book = AddressBook::claim(&root, o.chain_id, work.join(".address-book"))?;

        let what = match consumer {
            Consumer::Amm => "an AMM's spread",
            Consumer::UniswapV4 => "a Uniswap v4 pool's LP fee through a hook",
        };
        println!("zkoracle demo: a proof-checked ML model sets {what} on a local chain\n");
        let anvil = start_anvil(&anvil_bin, o.chain_id)?;
        let (deployer, relayer) = dev_accounts(&anvil)?;
        // Set while the process is still single-threaded (before the async runtime and any spinner).
        std::env::set_var(RELAYER_KEY_ENV, format!("0x{}", hex::encode(relayer.to_bytes())));
        row("anvil", format!("{} (chain {}), stopped on exit", anvil.endpoint(), o.chain_id));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .wrap_err("starting the async runtime")?;
        let ctx = Ctx {
            root,
            work: work.clone(),
            chain_id: o.chain_id,
            rpc_url: anvil.endpoint(),
            deployer,
            relayer: relayer.address(),
            book: &book,
            timeout: Duration::from_secs(o.timeout),
            consumer,
            srs: o.srs_cache.dev(),
        };
        let outcome = runtime.block_on(async {
            tokio::select! {
                r = run_demo(&ctx) => r,
                () = shutdown_signal() => Err(eyre!("interrupted")),
            }
        });
        runtime.shutdown_timeout(Duration::from_secs(5));
        drop(anvil);
        drop(book);
        std::env::remove_var(RELAYER_KEY_ENV);
        let summary = outcome?;
        if let Some(path) = &o.json {
            let json = serde_json::to_vec_pretty(&summary)?;
            zkoracle_prover::write_atomic(path, &json)?;
        }
        println!(
            "\nrelayer and anvil stopped; model, verifier, relayer.toml and database are in {}",
            work.display()
        );
        Ok(())
    }
}

/// anvil on 127.0.0.1 and a free port; killed when the instance is dropped. It mines each transaction at
/// once and also a block every second, as a live chain would, so confirmations keep coming.
fn start_anvil(bin: &Path, chain_id: u64) -> eyre::Result<AnvilInstance> {
    Anvil::at(bin)
        .host("127.0.0.1")
        .port(0u16)
        .chain_id(chain_id)
        .block_time(1)
        .arg("--mixed-mining")
        .try_spawn()
        .map_err(|e| eyre!("starting {}: {e}", bin.display()))
}

/// anvil's first two development keys: the deployer (and trader), and the relayer's.
fn dev_accounts(anvil: &AnvilInstance) -> eyre::Result<(PrivateKeySigner, PrivateKeySigner)> {
    let key = |i: usize| {
        anvil
            .nth_key(i)
            .cloned()
            .map(PrivateKeySigner::from)
            .ok_or_else(|| eyre!("anvil reported no dev key #{i}"))
    };
    Ok((key(0)?, key(1)?))
}

/// One aligned output line.
fn row(label: &str, text: impl std::fmt::Display) {
    println!("  {label:<14} {text}");
}

/// Runs a blocking step on a blocking thread behind a spinner; returns its value and seconds.
async fn blocking<T: Send + 'static>(
    msg: &str,
    f: impl FnOnce() -> eyre::Result<T> + Send + 'static,
) -> eyre::Result<(T, f64)> {
    let step = Step::start(msg);
    let out = tokio::task::spawn_blocking(f).await.map_err(|e| eyre!("{msg}: {e}"))?;
    let secs = step.finish();
    Ok((out?, secs))
}

/// Compiles and sets up the bundled model into `<work>/<MODEL>`.
async fn prepare_model(ctx: &Ctx<'_>) -> eyre::Result<(PathBuf, CircuitSettings, B256)> {
    let dir = ctx.work.join(MODEL);
    let onnx = ctx.root.join("models").join(format!("{MODEL}.onnx"));
    let data = ctx.root.join("models").join(format!("{MODEL}.input.json"));
    let d = dir.clone();
    let (settings, secs) = blocking("compiling the model into a circuit", move || {
        std::fs::create_dir_all(&d)?;
        let settings = compile(&onnx, &data, &CompileOptions::default())?;
        ModelDir::new(&d).write_settings(&settings)?;
        Ok(settings)
    })
    .await?;
    row(
        "model",
        format!(
            "{}: {} inputs -> {} output, scales 2^{} in / 2^{} out, k = {}, {} rows, |input| <= {} ({:.2}s)",
            settings.model.file,
            settings.input_len(),
            settings.output_len(),
            settings.scale,
            settings.output_scale,
            settings.k,
            settings.rows,
            settings.max_abs_input,
            secs
        ),
    );
    let (d, srs) = (dir.clone(), ctx.srs.clone());
    let (report, secs) =
        blocking("generating proving and verifying keys", move || Ok(zkoracle_prover::setup(&d, &srs)?))
            .await?;
    let srs = if report.dev_srs { "development SRS: not for production" } else { "ceremony SRS" };
    row(
        "keys",
        format!(
            "vk digest {}, pk {:.1} MB ({srs}, {secs:.2}s)",
            report.vk_digest,
            report.pk_bytes as f64 / 1e6
        ),
    );
    Ok((dir, settings, report.vk_digest))
}

async fn run_demo(ctx: &Ctx<'_>) -> eyre::Result<Summary> {
    let (model_dir, settings, vk_digest) = prepare_model(ctx).await?;
    let (dir, sol, solc) = (model_dir.clone(), model_dir.join("Verifier.sol"), ctx.root.join(SOLC_SHIM));
    let (verifier, secs) = blocking("generating and compiling the Solidity verifier", move || {
        write_verifier(&dir, &sol, Some(&solc), Placement::Auto)
    })
    .await?;
    let compiled = verifier.compiled.as_ref().ok_or_else(|| eyre!("the verifier was not compiled"))?;
    row(
        "verifier",
        format!(
            "Halo2Verifier: {} B runtime (EIP-170 limit 24,576), {} B proofs, solc {} ({secs:.1}s)",
            group(&compiled.runtime_size().to_string()),
            group(&verifier.source.proof_len.to_string()),
            compiled.solc_version.split('+').next().unwrap_or_default()
        ),
    );

    let forge = Forge {
        bin: node_tool(&ctx.root, "forge")?,
        root: ctx.root.clone(),
        rpc_url: ctx.rpc_url.clone(),
        private_key: format!("0x{}", hex::encode(ctx.deployer.to_bytes())),
    };
    let step = Step::start("compiling the contracts (forge build)");
    forge.build().await?;
    step.finish();
    let scripts = match ctx.consumer {
        Consumer::Amm => "01..04",
        Consumer::UniswapV4 => "01..03 and 05",
    };
    let step = Step::start(&format!("deploying with script/{scripts} (forge script --broadcast)"));
    let fee = U256::from(10u64).pow(U256::from(15)); // 0.001 ETH per request
    let registration = ModelRegistration { name: MODEL, settings: &settings, vk_digest, fee };
    let d = deploy_oracle(&forge, ctx.book, compiled, &registration).await?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(ctx.deployer.clone()))
        .connect(&ctx.rpc_url)
        .await
        .wrap_err("connecting to anvil")?
        .erased();
    let trader = ctx.deployer.address();
    let pool = match ctx.consumer {
        Consumer::Amm => {
            let a = deploy_amm(&forge, ctx.book).await?;
            Pool::Amm(Market {
                amm: SpreadGatedAMM::new(a.amm, provider.clone()),
                tokens: a.tokens.map(|t| DemoToken::new(t, provider.clone())),
                trader,
                provider: provider.clone(),
            })
        }
        Consumer::UniswapV4 => {
            let v = deploy_v4(&forge, ctx.book).await?;
            Pool::V4(V4Market::connect(&v, provider.clone(), trader).await?)
        }
    };
    let secs = step.finish();
    std::fs::copy(ctx.book.path(), ctx.work.join("deployments.json")).wrap_err("saving the address book")?;
    row("deployed", format!("InferenceOracle {}, Halo2Verifier {} ({secs:.1}s)", d.oracle, d.verifier));
    if let Some(vk) = d.vk_contract {
        row("", format!("Halo2VerifyingKey {vk}"));
    }
    row("registered", format!("model id {}, fee {} ETH per request", d.model_id, fmt_eth(fee)));
    let symbols = pool.symbols().await?;
    match &pool {
        Pool::Amm(m) => row(
            "pool",
            format!("SpreadGatedAMM {} ({}/{}, 1,000,000 each)", m.amm.address(), symbols[0], symbols[1]),
        ),
        Pool::V4(m) => {
            row(
                "hook",
                format!("OracleDynamicFeeHook {} (address flags mined with CREATE2)", m.hook.address()),
            );
            row(
                "pool",
                format!(
                    "v4 PoolManager {}, pool {} ({}/{}, dynamic fee, full-range liquidity 1,000,000)",
                    m.manager.address(),
                    m.pool_id,
                    symbols[0],
                    symbols[1]
                ),
            );
        }
    }

    let start_block = provider.get_block_number().await?;
    let mut relayer = RelayerHandle::start(RelayerSetup {
        work: &ctx.work,
        model_dir: &model_dir,
        rpc_url: &ctx.rpc_url,
        chain_id: ctx.chain_id,
        oracle: d.oracle,
        model_id: d.model_id,
        start_block,
        key_env: RELAYER_KEY_ENV,
    })?;
    row(
        "relayer",
        format!("in-process, fulfilling from {} (config {})", ctx.relayer, relayer.config_path.display()),
    );

    let result = exchange(ctx, &provider, &pool, &d, &settings, &mut relayer, &symbols).await;
    relayer.stop().await;
    let mut summary = result?;
    summary.vk_digest = vk_digest;
    summary.verifier_runtime_size = compiled.runtime_size();
    Ok(summary)
}

/// Market activity, the fee request, the fulfilment and the swap at the new fee.
async fn exchange(
    ctx: &Ctx<'_>,
    provider: &DynProvider,
    pool: &Pool,
    d: &Deployment,
    settings: &CircuitSettings,
    relayer: &mut RelayerHandle,
    symbols: &[String; 2],
) -> eyre::Result<Summary> {
    let step = Step::start("trading on the pool");
    pool.trade(&TRADES).await?;
    advance_time(provider, MARKET_SECS).await?;
    step.finish();
    let trades: Vec<String> = TRADES
        .iter()
        .map(|t| {
            let (a, b) = if t.zero_for_one { (&symbols[0], &symbols[1]) } else { (&symbols[1], &symbols[0]) };
            format!("{} {a}->{b}", group(&t.amount.to_string()))
        })
        .collect();
    row("market", format!("swaps {}, then {} min", trades.join(", "), MARKET_SECS / 60));

    let fee_name = pool.fee_name();
    let fee_before = pool.fee_bps().await?;
    let lp_fee_before = match pool {
        Pool::V4(m) => Some(m.slot0_lp_fee().await?),
        Pool::Amm(_) => None,
    };
    let quote_in = tokens(QUOTE_TOKENS);
    let quote_before = pool.quote(quote_in).await?;
    let request = pool.request_fee(d.oracle, d.model_id).await?;
    let requested = Instant::now();
    println!();
    row(
        "request id",
        format!(
            "{} ({}, fee {} ETH, {} gas)",
            request.request_id,
            pool.request_fn(),
            fmt_eth(request.fee),
            group(&request.gas_used.to_string())
        ),
    );
    row("features", format!("{:?} (input scale 2^{})", request.features, settings.scale));

    let step = Step::start("relayer: proving the inference and fulfilling");
    let f: FulfilmentReport =
        relayer.wait_fulfilled(d.oracle, request.request_id, ctx.timeout, request.block).await?;
    step.finish();
    let fulfilled_after_ms = u64::try_from(requested.elapsed().as_millis()).unwrap_or(u64::MAX);
    match f.proving_ms {
        Some(ms) => {
            row("proving time", format!("{:.3} s (relayer, {} B proof)", ms as f64 / 1e3, f.proof_len))
        }
        None => row("proving time", "not recorded by the relayer"),
    }
    row(
        "fulfil gas",
        format!("{} (tx {}, {} by the relayer)", group(&f.gas_used.to_string()), f.tx, f.relayer_state),
    );
    let update = pool.fee_update(&f.logs).ok_or_else(|| {
        eyre!("the fulfilment did not update the {fee_name} (callback failed or result ignored?)")
    })?;
    let output = i64::try_from(update.model_output)
        .map_err(|_| eyre!("model output {} overflows", update.model_output))?;
    let real = output as f64 / f64::powi(2.0, i32::from(settings.output_scale));
    row(
        "model output",
        format!(
            "{real:.4} ({} at output scale 2^{}) -> target {fee_name} {} bps",
            update.model_output, settings.output_scale, update.target_fee_bps
        ),
    );
    let fee_after = pool.fee_bps().await?;
    if fee_after != update.new_fee_bps {
        bail!("the {} reports {fee_after} bps, its event {} bps", pool.contract(), update.new_fee_bps);
    }
    row(
        fee_name,
        format!(
            "{fee_before} bps -> {fee_after} bps (at most {} bps per update)",
            pool.max_step_bps().await?
        ),
    );
    let lp_fee_after = match pool {
        Pool::V4(m) => {
            let after = m.slot0_lp_fee().await?;
            if after != u32::from(fee_after) * PIPS_PER_BPS {
                bail!("the pool's slot0 holds LP fee {after}, the hook {fee_after} bps");
            }
            row(
                "pool slot0",
                format!(
                    "lpFee {} -> {after} (hundredths of a bps, PoolManager.extsload)",
                    lp_fee_before.unwrap_or_default()
                ),
            );
            Some(after)
        }
        Pool::Amm(_) => None,
    };
    let quote_after = pool.quote(quote_in).await?;
    row(
        "swap quote",
        format!(
            "{} {} -> {} {} at {fee_after} bps ({} at {fee_before} bps)",
            group(&QUOTE_TOKENS.to_string()),
            symbols[0],
            fmt_tokens(quote_after),
            symbols[1],
            fmt_tokens(quote_before)
        ),
    );
    let swap = pool.swap_exact(quote_in, quote_after).await?;
    let charged = match swap.v4 {
        Some(s) => format!(
            ", the PoolManager's Swap event charged fee {} ({} gas)",
            s.fee_pips,
            group(&s.gas_used.to_string())
        ),
        None => String::new(),
    };
    row(
        "swap",
        format!(
            "executed at the new {fee_name}: received {} {}{charged}",
            fmt_tokens(swap.amount_out),
            symbols[1]
        ),
    );
    let v4 = match (pool, swap.v4) {
        (Pool::V4(m), Some(s)) => Some(V4Summary {
            pool_manager: *m.manager.address(),
            pool_id: m.pool_id.to_string(),
            lp_fee_before: lp_fee_before.unwrap_or_default(),
            lp_fee_after: lp_fee_after.unwrap_or_default(),
            swap_fee: s.fee_pips,
            swap_gas: s.gas_used,
        }),
        _ => None,
    };
    Ok(Summary {
        consumer: ctx.consumer.name(),
        chain_id: ctx.chain_id,
        oracle: d.oracle,
        verifier: d.verifier,
        vk_contract: d.vk_contract,
        pool: match pool {
            Pool::Amm(_) => PoolAddress::Amm(pool.address()),
            Pool::V4(_) => PoolAddress::Hook(pool.address()),
        },
        model_id: d.model_id,
        vk_digest: B256::ZERO,
        scale: settings.scale,
        output_scale: settings.output_scale,
        verifier_runtime_size: 0,
        request_id: request.request_id,
        features: request.features,
        request_gas: request.gas_used,
        proving_ms: f.proving_ms,
        fulfil_tx: f.tx.to_string(),
        fulfil_gas: f.gas_used,
        relayer_state: f.relayer_state,
        fulfilled_after_ms,
        model_output: output,
        target_fee_bps: update.target_fee_bps,
        fee_before_bps: fee_before,
        fee_after_bps: fee_after,
        quote_in,
        quote_before,
        quote_after,
        swap_out: swap.amount_out,
        v4,
    })
}
