//! `vmp bench`: a load generator for a running gateway.
//!
//! It pre-signs Place an Order requests (distinct `out_trade_no`, the ten
//! services in turn) before any clock starts, then drives the gateway over
//! keep-alive HTTP/1.1 (one connection per worker) for a duration or a
//! count, and reports throughput, latency percentiles (HDR histogram) and
//! answers by `return_status`. With the same generator it measures the
//! gateway's no-op ceiling (`GET /healthz`) before and after the order
//! phase and prints orders / the mean of the two ceilings.
//! It checks its own results: every `00` answer has a distinct
//! `eft_trade_no`, the store gained exactly that many orders, and a sample
//! is queried back. `--notifications N` adds the notification bench
//! (see [`notify`]). Speed is reported, never asserted.

mod load;
mod notify;
mod orders;
mod report;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use clap::Args;
use hyper::Method;
use secrecy::ExposeSecret;
use vmp_server::merchant::{Merchant, MerchantStatus, generate_key, generate_secret};
use vmp_server::store::{NewMerchant, Store};

use crate::sign_cmd::SecretArg;
use load::{Answer, Req, Source, Stop, Target};
use orders::OrderPlan;
use report::{Check, CpuPerRequest, MachineCpu, Memory, PhaseReport, Report};

/// Orders pre-signed per second of `--duration` when `--presign` is not given.
const PRESIGN_PER_SECOND: f64 = 50_000.0;
/// Most orders one run may pre-sign (about 500 bytes each).
const PRESIGN_MAX: usize = 5_000_000;

/// `vmp bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Base URL of the gateway (plain http://).
    #[arg(long, env = "VMP_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// The merchant's user_confirm_key (default: $VMP_KEY). Without it, a fresh
    /// bench merchant is added to the store given by --data-dir/--database-url.
    #[arg(long, env = "VMP_KEY")]
    pub key: Option<String>,
    #[command(flatten)]
    pub secret: SecretArg,
    /// The gateway's SQLite data directory: adds the bench merchant and counts
    /// stored orders for the self-check.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The gateway's PostgreSQL store (postgres://…), instead of --data-dir.
    #[arg(long)]
    #[arg(value_parser = |s: &str| Ok::<_, std::convert::Infallible>(secrecy::SecretString::from(s.to_owned())))]
    pub database_url: Option<secrecy::SecretString>,
    /// Connections; each worker owns one keep-alive HTTP/1.1 connection.
    #[arg(long, short = 'c', default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: u16,
    /// Seconds per load phase (no-op ceiling, orders); ignored with --count.
    #[arg(long, default_value_t = 10.0, value_parser = parse_seconds)]
    pub duration: f64,
    /// Send exactly this many orders (and as many no-op requests) instead of
    /// running for --duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    pub count: Option<u64>,
    /// Orders to pre-sign for a --duration run (default 50,000 per second);
    /// the phase ends early if they run out.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
    pub presign: Option<u64>,
    /// Skip the no-op ceiling (GET /healthz, measured before and after the orders).
    #[arg(long)]
    pub no_ceiling: bool,
    /// Skip the Place an Order phase.
    #[arg(long)]
    pub no_orders: bool,
    /// Accepted orders to query back through QRcodeTradeQuery.do.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub verify_sample: u64,
    /// Also run the notification bench with this many orders: a receiver on
    /// 127.0.0.1, orders settled through the sandbox API.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub notifications: u64,
    /// Seconds to wait for every notification to be acknowledged.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub notify_wait: u64,
    /// PID of the gateway (on this machine): sample its VmRSS (/proc/PID/status) during the order
    /// phase, and read its CPU time (/proc/PID/stat) for CPU per request and the CPU bound.
    #[arg(long)]
    pub gateway_pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err("seconds: a number above 0, at most 86400".to_owned()),
    }
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let target = Target::resolve(&args.base_url).await?;
    let concurrency = usize::from(args.concurrency);
    let count = args.count.map(usize_of);
    let duration = Duration::from_secs_f64(args.duration);
    let stop = match count {
        Some(c) => Stop { count: Some(c), duration: None },
        None => Stop { count: None, duration: Some(duration) },
    };

    let store = open_store(&args).await?;
    let (key, secret, merchant_created) = merchant(&args, store.as_deref()).await?;
    let plan = OrderPlan {
        key: key.clone(),
        secret: Arc::from(secret.as_str()),
        prefix: run_prefix(),
        notify_url: None,
        time: vmp_protocol::format_time(time::OffsetDateTime::now_utc()),
    };

    let mut report = Report {
        base_url: args.base_url.clone(),
        concurrency,
        duration_s: count.is_none().then_some(args.duration),
        count,
        merchant: key,
        merchant_created,
        ok: true,
        ..Report::default()
    };

    if !args.no_ceiling {
        let phase = ceiling(&target, stop, concurrency, args.gateway_pid).await?;
        report.ok &= phase.all_http_ok();
        report.ceiling_per_s = Some(phase.per_s);
        report.ceiling = Some(phase);
    }

    if !args.no_orders {
        let n = match (count, args.presign) {
            (Some(c), _) => c,
            (None, Some(p)) => usize_of(p),
            (None, None) => (args.duration * PRESIGN_PER_SECOND).ceil().min(PRESIGN_MAX as f64) as usize,
        };
        let uri = target.uri(orders::JSAPI_PATH)?;
        let signing = Instant::now();
        let reqs = {
            let (plan, uri) = (plan.clone(), uri.clone());
            tokio::task::spawn_blocking(move || orders::presign(&plan, &uri, n)).await.context("pre-signing")?
        };
        report.presigned = reqs.len();
        report.presign_s = signing.elapsed().as_secs_f64();

        let store_before = match &store {
            Some(s) => Some(s.count_orders().await.context("counting stored orders")?),
            None => None,
        };
        let progress = Arc::new(AtomicU64::new(0));
        let sampler = match args.gateway_pid {
            Some(pid) => Some(RssSampler::start(pid, Arc::clone(&progress))?),
            None => None,
        };
        let ticker = tokio::spawn(tick(Arc::clone(&progress)));
        let cpu = CpuMeter::start(args.gateway_pid)?;
        let result = load::run(
            &target,
            Source::List(Arc::new(reqs)),
            stop,
            concurrency,
            orders::inspect_orders(&plan),
            Arc::clone(&progress),
        )
        .await;
        ticker.abort();
        // Before the self-check, whose queries are not part of the phase.
        let cpu = result.as_ref().ok().map(|r| cpu.finish(r.completed)).transpose()?;
        let memory = match sampler {
            Some(s) => Some(s.finish(progress.load(Ordering::Relaxed)).await?),
            None => None,
        };
        let result = result?;
        if let Some(before) = report.ceiling.as_ref().map(|c| c.per_s) {
            let after = ceiling(&target, stop, concurrency, args.gateway_pid).await?;
            report.ok &= after.all_http_ok();
            report.ceiling_per_s = Some((before + after.per_s) / 2.0);
            report.ceiling_after = Some(after);
        }
        let store_after = match &store {
            Some(s) => Some(s.count_orders().await.context("counting stored orders")?),
            None => None,
        };
        let mut check = check_orders(&result, store_before, store_after);
        query_sample(&target, &plan, &result.ids, usize_of(args.verify_sample), concurrency, &mut check).await?;
        let mut phase = PhaseReport::of(&result);
        (phase.cpu, phase.machine_cpu) = cpu.map_or((None, None), |(c, m)| (Some(c), m));
        if let Some(c) = report.ceiling_per_s.filter(|c| *c > 0.0) {
            report.ratio = Some(phase.per_s / c);
        }
        report.ok &= check.ok();
        report.orders = Some(phase);
        report.cpu_ratio = report.cpu_bound();
        report.check = Some(check);
        report.memory = memory;
    }

    if args.notifications > 0 {
        let wait = Duration::from_secs(args.notify_wait);
        let n = notify::run(&target, &plan, usize_of(args.notifications), concurrency, wait).await?;
        report.ok &= n.complete && n.rejected == 0;
        report.notifications = Some(n);
    }
    if let Some(s) = store {
        s.close().await.context("closing the store")?;
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).context("rendering the report")?);
    } else {
        print!("{}", report.text());
    }
    if !report.ok {
        bail!("self-check failed (see the report)");
    }
    Ok(())
}

/// A short prefix unique to this run: `B` + base-36 milliseconds + base-36
/// process id + `-` (two benches started in the same millisecond against
/// one store must not send the same `out_trade_no`s).
fn run_prefix() -> String {
    let ms = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    format!("B{}{}-", base36(ms), base36(u64::from(std::process::id())))
}

fn base36(mut n: u64) -> String {
    let mut digits = Vec::new();
    while n > 0 {
        let d = u8::try_from(n % 36).unwrap_or(0);
        digits.push(char::from(if d < 10 { b'0' + d } else { b'A' + d - 10 }));
        n /= 36;
    }
    digits.reverse();
    digits.into_iter().collect()
}

async fn open_store(args: &BenchArgs) -> anyhow::Result<Option<Arc<dyn Store>>> {
    let dir = match (&args.data_dir, &args.database_url) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => bail!("give --data-dir or --database-url, not both"),
        (Some(dir), None) => {
            if !dir.join("openvmp.db").is_file() {
                bail!("{} holds no gateway store (openvmp.db is missing)", dir.display());
            }
            dir.clone()
        }
        (None, Some(_)) => PathBuf::from("."),
    };
    // The store's master keys, when it has any, come from the environment
    // (VMP_MASTER_KEY_FILE or VMP_MASTER_KEY), as for `vmp serve`.
    let file = std::env::var_os("VMP_MASTER_KEY_FILE").map(std::path::PathBuf::from);
    let keys = crate::cli::master_keys(file.as_deref())?;
    let url = args.database_url.as_ref().map(secrecy::ExposeSecret::expose_secret);
    let (store, _) = vmp_server::store::open_with(&dir, url, 1, keys, false).await?;
    Ok(Some(store))
}

/// The merchant to place orders as: the given one, or a fresh one in the store.
async fn merchant(args: &BenchArgs, store: Option<&dyn Store>) -> anyhow::Result<(String, String, bool)> {
    if let Some(key) = &args.key {
        let secret = args.secret.require()?;
        return Ok((key.clone(), secret.expose_secret().to_owned(), false));
    }
    let Some(store) = store else {
        bail!("no merchant: pass --key and --secret (or VMP_KEY/VMP_SECRET), or --data-dir/--database-url to add one");
    };
    let key = generate_key().context("generating a merchant key")?;
    let secret = generate_secret().context("generating a merchant secret")?;
    let merchant = Merchant {
        key: key.clone(),
        name: "vmp bench".to_owned(),
        secret: secret.clone(),
        status: MerchantStatus::Active,
        allowed_ports: Vec::new(),
        previous: None,
    };
    let created_at = time::OffsetDateTime::now_utc().unix_timestamp();
    store.add_merchant(NewMerchant { merchant, created_at }).await.context("adding the bench merchant")?;
    Ok((key, secret.expose_secret().to_owned(), true))
}

/// The no-op ceiling: `GET /healthz` with the same generator and stop rule.
async fn ceiling(
    target: &Target,
    stop: Stop,
    concurrency: usize,
    gateway_pid: Option<u32>,
) -> anyhow::Result<PhaseReport> {
    let healthz = Req { method: Method::GET, uri: target.uri("/healthz")?, body: Bytes::new() };
    let inspect: load::Inspect = Arc::new(|_, _, status, _| Answer { label: format!("HTTP {status}"), id: None });
    let cpu = CpuMeter::start(gateway_pid)?;
    let r = load::run(target, Source::Repeat(healthz), stop, concurrency, inspect, Arc::default()).await?;
    let mut phase = PhaseReport::of(&r);
    let (cpu, machine) = cpu.finish(r.completed)?;
    (phase.cpu, phase.machine_cpu) = (Some(cpu), machine);
    Ok(phase)
}

/// Distinct ids, answers that were not ours, and the store count.
fn check_orders(r: &load::PhaseResult, before: Option<i64>, after: Option<i64>) -> Check {
    let accepted = r.labels.get("00").copied().unwrap_or(0);
    let distinct = r.ids.iter().map(|(_, id)| id.as_str()).collect::<HashSet<_>>().len() as u64;
    let mut problems = Vec::new();
    // The bench's orders are all valid (distinct numbers, no sandbox magic
    // amount), so any other answer means the run did not measure accepted
    // orders: a wrong merchant or data dir, or a gateway bug.
    let refused: Vec<String> = r
        .labels
        .iter()
        .filter(|(label, _)| !matches!(label.as_str(), "00" | "00 (wrong order)"))
        .map(|(label, n)| format!("{label} × {n}"))
        .collect();
    if !refused.is_empty() {
        problems.push(format!("valid orders were not accepted: {}", refused.join(", ")));
    }
    if accepted == 0 {
        problems.push("no order was accepted".to_owned());
    }
    if let Some(wrong) = r.labels.get("00 (wrong order)") {
        problems.push(format!("{wrong} accepted answers named another order or no eft_trade_no"));
    }
    if distinct != accepted {
        problems.push(format!("{accepted} accepted orders share {distinct} eft_trade_no (duplicates)"));
    }
    if let (Some(b), Some(a)) = (before, after) {
        let gained = a - b;
        let accepted = i64::try_from(accepted).unwrap_or(i64::MAX);
        // A request without an answer may or may not have been stored.
        let unsure = i64::try_from(r.transport_errors).unwrap_or(i64::MAX);
        if gained < accepted {
            problems.push(format!("the store gained {gained} orders but {accepted} were accepted (missing orders)"));
        } else if gained > accepted.saturating_add(unsure) {
            problems.push(format!(
                "the store gained {gained} orders but {accepted} were accepted (duplicates or foreign writes)"
            ));
        }
    }
    Check {
        accepted,
        distinct_eft_trade_no: distinct,
        store_before: before,
        store_after: after,
        sample_queried: 0,
        sample_found: 0,
        problems,
    }
}

/// Queries up to `sample` accepted orders (evenly spread) and expects each
/// to be found with the `eft_trade_no` it was accepted with.
async fn query_sample(
    target: &Target,
    plan: &OrderPlan,
    ids: &[(usize, String)],
    sample: usize,
    concurrency: usize,
    check: &mut Check,
) -> anyhow::Result<()> {
    let sample = sample.min(ids.len());
    if sample == 0 {
        return Ok(());
    }
    let uri = target.uri(orders::QUERY_PATH)?;
    let step = ids.len() / sample;
    let picked: Vec<&(usize, String)> = ids.iter().step_by(step.max(1)).take(sample).collect();
    let reqs: Vec<Req> = picked
        .iter()
        .map(|(i, _)| Req {
            method: Method::POST,
            uri: uri.clone(),
            body: Bytes::from(plan.query_body(&plan.out_trade_no(*i))),
        })
        .collect();
    let expected = Arc::new(picked.iter().map(|(_, eft)| eft.clone()).collect::<Vec<_>>());
    let r = load::run(
        target,
        Source::List(Arc::new(reqs)),
        Stop { count: None, duration: None },
        concurrency.min(sample),
        orders::inspect_queries(expected),
        Arc::default(),
    )
    .await?;
    check.sample_queried = picked.len() as u64;
    check.sample_found = r.labels.get("found").copied().unwrap_or(0);
    if check.sample_found != check.sample_queried {
        let other: Vec<String> =
            r.labels.iter().filter(|(k, _)| k.as_str() != "found").map(|(k, v)| format!("{k} × {v}")).collect();
        check.problems.push(format!(
            "{} of {} sampled accepted orders not found by query ({})",
            check.sample_queried - check.sample_found,
            check.sample_queried,
            other.join(", ")
        ));
    }
    Ok(())
}

/// Progress on stderr every 15 s, for long phases.
async fn tick(progress: Arc<AtomicU64>) {
    let started = Instant::now();
    let mut interval = tokio::time::interval(Duration::from_secs(15));
    interval.tick().await;
    loop {
        interval.tick().await;
        let done = progress.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        eprintln!("  … {done} orders answered in {secs:.0} s ({:.0}/s)", done as f64 / secs);
    }
}

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// User + system CPU time of a process (`None`: this one), from `/proc`.
fn cpu_seconds(pid: Option<u32>) -> anyhow::Result<f64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| anyhow!("{path}: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<f64> {
        let v: u64 = fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(|| anyhow!("{path}: no field {i}"))?;
        Ok(v as f64 / USER_HZ)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    Ok(tick(11)? + tick(12)?)
}

/// The whole machine's CPU time so far, in ticks, from the first line of
/// `/proc/stat` (`None` where there is no such file).
#[derive(Debug, Clone, Copy, PartialEq)]
struct MachineTicks {
    /// user + nice + system + irq + softirq (guest time is inside user).
    busy: u64,
    idle: u64,
    iowait: u64,
    steal: u64,
}

impl MachineTicks {
    fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    fn parse(stat: &str) -> Option<Self> {
        let fields = stat.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = fields.split_whitespace().map(|f| f.parse().ok()).collect::<Option<_>>()?;
        // proc(5): user nice system idle iowait irq softirq steal …
        let f = |i: usize| v.get(i).copied();
        Some(Self { busy: f(0)? + f(1)? + f(2)? + f(5)? + f(6)?, idle: f(3)?, iowait: f(4)?, steal: f(7)? })
    }

    /// Shares of the time between `self` and `later`, or `None` if no tick passed.
    fn shares_until(&self, later: &Self) -> Option<MachineCpu> {
        let d = |a: u64, b: u64| b.saturating_sub(a) as f64;
        let (busy, idle, iowait, steal) = (
            d(self.busy, later.busy),
            d(self.idle, later.idle),
            d(self.iowait, later.iowait),
            d(self.steal, later.steal),
        );
        let total = busy + idle + iowait + steal;
        (total > 0.0).then(|| MachineCpu {
            busy_pct: busy * 100.0 / total,
            idle_pct: idle * 100.0 / total,
            iowait_pct: iowait * 100.0 / total,
            steal_pct: steal * 100.0 / total,
        })
    }
}

/// CPU time of the gateway, of this generator and of the whole machine
/// across one phase.
struct CpuMeter {
    /// The gateway's PID and its CPU seconds at the start.
    gateway: Option<(u32, f64)>,
    generator: f64,
    machine: Option<MachineTicks>,
}

impl CpuMeter {
    fn start(gateway_pid: Option<u32>) -> anyhow::Result<Self> {
        let gateway = gateway_pid.map(|p| cpu_seconds(Some(p)).map(|s| (p, s))).transpose()?;
        Ok(Self { gateway, generator: cpu_seconds(None)?, machine: MachineTicks::read() })
    }

    /// CPU per answered request, and how busy the machine was.
    fn finish(&self, requests: u64) -> anyhow::Result<(CpuPerRequest, Option<MachineCpu>)> {
        let n = requests.max(1) as f64;
        let gateway = match self.gateway {
            Some((pid, before)) => Some((cpu_seconds(Some(pid))? - before) * 1e6 / n),
            None => None,
        };
        let generator_us = (cpu_seconds(None)? - self.generator) * 1e6 / n;
        let machine = self.machine.zip(MachineTicks::read()).and_then(|(a, b)| a.shares_until(&b));
        Ok((CpuPerRequest { gateway_us: gateway, generator_us }, machine))
    }
}

/// VmRSS of a process, KiB.
fn read_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (is --gateway-pid right?)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("/proc/{pid}/status has no VmRSS line"))
}

/// Samples the gateway's VmRSS twice a second during a phase.
struct RssSampler {
    pid: u32,
    before: u64,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<(f64, u64, u64)>>,
}

impl RssSampler {
    fn start(pid: u32, progress: Arc<AtomicU64>) -> anyhow::Result<Self> {
        let before = read_rss(pid)?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut samples = Vec::new();
            let mut interval = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        if let Ok(kib) = read_rss(pid) {
                            samples.push((started.elapsed().as_secs_f64(), progress.load(Ordering::Relaxed), kib));
                        }
                    }
                    _ = &mut stopped => break,
                }
            }
            samples
        });
        Ok(Self { pid, before, stop, task })
    }

    async fn finish(self, total: u64) -> anyhow::Result<Memory> {
        let _ = self.stop.send(());
        let samples = self.task.await.context("memory sampler failed")?;
        let after = read_rss(self.pid)?;
        let peak = samples.iter().map(|s| s.2).chain([self.before, after]).max().unwrap_or(after);
        let at_10_percent = samples.iter().find(|s| s.1 * 10 >= total && total > 0).map(|s| s.2);
        Ok(Memory {
            pid: self.pid,
            before_kib: self.before,
            after_kib: after,
            peak_kib: peak,
            at_10_percent_kib: at_10_percent,
            samples,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;

    fn phase(labels: &[(&str, u64)], ids: &[&str], transport_errors: u64) -> load::PhaseResult {
        load::PhaseResult {
            completed: labels.iter().map(|(_, n)| n).sum(),
            transport_errors,
            elapsed: Duration::from_secs(1),
            histogram: hdrhistogram::Histogram::new(3).unwrap(),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect::<BTreeMap<_, _>>(),
            ids: ids.iter().enumerate().map(|(i, id)| (i, (*id).to_owned())).collect(),
            exhausted: false,
        }
    }

    #[test]
    fn a_clean_run_passes() {
        let c = check_orders(&phase(&[("00", 3)], &["1", "2", "3"], 0), Some(10), Some(13));
        assert!(c.ok(), "{:?}", c.problems);
        assert_eq!((c.accepted, c.distinct_eft_trade_no), (3, 3));
    }

    #[test]
    fn a_missing_order_fails() {
        let c = check_orders(&phase(&[("00", 3)], &["1", "2", "3"], 0), Some(10), Some(12));
        assert!(c.problems.iter().any(|p| p.contains("missing")), "{:?}", c.problems);
    }

    #[test]
    fn a_duplicated_order_fails_in_the_store_and_in_the_answers() {
        let c = check_orders(&phase(&[("00", 3)], &["1", "2", "3"], 0), Some(10), Some(14));
        assert!(c.problems.iter().any(|p| p.contains("duplicates")), "{:?}", c.problems);
        let c = check_orders(&phase(&[("00", 3)], &["1", "2", "2"], 0), None, None);
        assert!(c.problems.iter().any(|p| p.contains("share 2 eft_trade_no")), "{:?}", c.problems);
    }

    #[test]
    fn an_unanswered_request_may_or_may_not_be_stored() {
        let r = phase(&[("00", 3)], &["1", "2", "3"], 1);
        assert!(check_orders(&r, Some(0), Some(3)).ok());
        assert!(check_orders(&r, Some(0), Some(4)).ok());
        assert!(!check_orders(&r, Some(0), Some(5)).ok());
    }

    #[test]
    fn a_refused_order_fails() {
        // The store count agrees with the accepted ones; the refusal alone fails the run.
        let c = check_orders(&phase(&[("00", 2), ("-13", 1)], &["1", "2"], 0), Some(0), Some(2));
        assert_eq!(c.problems, ["valid orders were not accepted: -13 × 1"]);
        let c = check_orders(&phase(&[("-13", 5)], &[], 0), Some(0), Some(0));
        assert!(c.problems.iter().any(|p| p == "no order was accepted"), "{:?}", c.problems);
        let c = check_orders(&phase(&[("HTTP 503", 1), ("00", 1)], &["1"], 0), None, None);
        assert!(!c.ok(), "{:?}", c.problems);
    }

    #[test]
    fn a_ceiling_counts_only_when_every_answer_is_http_200() {
        assert!(report::PhaseReport::of(&phase(&[("HTTP 200", 5)], &[], 0)).all_http_ok());
        assert!(!report::PhaseReport::of(&phase(&[("HTTP 200", 5), ("HTTP 404", 1)], &[], 0)).all_http_ok());
        assert!(!report::PhaseReport::of(&phase(&[("HTTP 200", 5)], &[], 1)).all_http_ok());
    }

    #[test]
    fn an_answer_for_another_order_fails() {
        let c = check_orders(&phase(&[("00", 2), ("00 (wrong order)", 1)], &["1", "2"], 0), Some(0), Some(3));
        assert!(!c.ok());
    }

    #[test]
    fn run_prefixes_leave_room_in_out_trade_no() {
        let p = run_prefix();
        assert!(p.starts_with('B') && p.ends_with('-') && p.len() <= 16, "{p}");
        // prefix + "N" + a 7-digit index fits the 28-character limit.
        assert!(p.len() + 1 + 7 <= 28);
    }

    #[test]
    fn machine_shares_come_from_the_first_proc_stat_line() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let a = MachineTicks::parse("cpu  100 0 50 800 10 0 10 5 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n");
        let b = MachineTicks::parse("cpu  160 0 70 810 15 0 20 10 9 0\nintr 1\n");
        let (a, b) = (a.expect("parsed"), b.expect("parsed"));
        assert_eq!(a, MachineTicks { busy: 160, idle: 800, iowait: 10, steal: 5 });
        let m = a.shares_until(&b).expect("ticks passed");
        // busy +90, idle +10, iowait +5, steal +5: 110 ticks.
        let close = |x: f64, y: f64| (x - y).abs() < 1e-9;
        assert!(close(m.busy_pct, 9000.0 / 110.0) && close(m.idle_pct, 1000.0 / 110.0), "{m:?}");
        assert!(close(m.iowait_pct, 500.0 / 110.0) && close(m.steal_pct, 500.0 / 110.0), "{m:?}");
        assert!(a.shares_until(&a).is_none(), "no tick, no shares");
        assert!(MachineTicks::parse("cpu0 1 2 3 4 5 6 7 8\n").is_none());
        assert!(MachineTicks::parse("cpu  1 2 x 4 5 6 7 8\n").is_none());
        assert!(MachineTicks::parse("cpu  1 2 3 4 5 6 7\n").is_none(), "steal is required");
    }

    #[test]
    fn the_cpu_bound_divides_round_trips_and_needs_the_gateway() {
        let with_cpu = |gateway_us: Option<f64>, generator_us: f64| {
            let mut p = report::PhaseReport::of(&phase(&[("HTTP 200", 1)], &[], 0));
            p.cpu = Some(CpuPerRequest { gateway_us, generator_us });
            p
        };
        let mut r = Report {
            ceiling: Some(with_cpu(Some(8.0), 9.0)),
            ceiling_after: Some(with_cpu(Some(10.0), 9.0)),
            orders: Some(with_cpu(Some(40.0), 14.0)),
            ..Report::default()
        };
        // Ceilings 17 and 19 µs per round trip (mean 18), orders 54 µs.
        let bound = r.cpu_bound().expect("both measured");
        assert!((bound - 18.0 / 54.0).abs() < 1e-12, "{bound}");
        r.ceiling_after = None;
        assert!((r.cpu_bound().expect("one ceiling") - 17.0 / 54.0).abs() < 1e-12);
        r.orders = Some(with_cpu(None, 14.0));
        assert_eq!(r.cpu_bound(), None, "without --gateway-pid there is no bound");
    }
}
