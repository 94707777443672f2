//! The bench report: serialisable (`--json`) and printable.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::load::{Latency, PhaseResult};
use super::notify::NotifyReport;

/// One load phase.
#[derive(Debug, Serialize)]
pub struct PhaseReport {
    /// Answers received.
    pub requests: u64,
    /// Requests without an answer (connection errors, timeouts).
    pub transport_errors: u64,
    /// Seconds from start to the last answer.
    pub elapsed_s: f64,
    /// Answers per second.
    pub per_s: f64,
    /// Latency summary.
    pub latency: Latency,
    /// Answers by class (`return_status` for orders).
    pub answers: BTreeMap<String, u64>,
    /// Whether the pre-signed requests ran out before the duration did.
    pub exhausted: bool,
    /// CPU time spent per answered request during the phase, when measured.
    pub cpu: Option<CpuPerRequest>,
    /// How busy the whole machine was during the phase (Linux `/proc/stat`).
    pub machine_cpu: Option<MachineCpu>,
}

/// CPU time (user + system, from `/proc/PID/stat`) per answered request.
/// Steadier than req/s on a shared machine: it does not depend on how much
/// CPU the machine happened to give the run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuPerRequest {
    /// The gateway's, when `--gateway-pid` was given.
    pub gateway_us: Option<f64>,
    /// This load generator's own.
    pub generator_us: f64,
}

/// Where the machine's CPU time went during one phase, in per cent of all
/// cores (`/proc/stat`; every process, not only the gateway and the bench).
/// A phase whose processes sleep and wake a lot leaves cores idle that the
/// no-op ceiling keeps busy; the ratio then falls short of the CPU bound.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MachineCpu {
    /// User, system and interrupt time.
    pub busy_pct: f64,
    /// Nothing to run.
    pub idle_pct: f64,
    /// Nothing to run while some task waited for a disk.
    pub iowait_pct: f64,
    /// Taken by the hypervisor (virtual machines).
    pub steal_pct: f64,
}

impl CpuPerRequest {
    /// Gateway + generator, when both were measured.
    fn round_trip_us(&self) -> Option<f64> {
        self.gateway_us.map(|g| g + self.generator_us)
    }
}

impl PhaseReport {
    /// Summarises a phase.
    pub fn of(r: &PhaseResult) -> Self {
        Self {
            requests: r.completed,
            transport_errors: r.transport_errors,
            elapsed_s: r.elapsed.as_secs_f64(),
            per_s: r.per_second(),
            latency: Latency::of(&r.histogram),
            answers: r.labels.clone(),
            exhausted: r.exhausted,
            cpu: None,
            machine_cpu: None,
        }
    }

    /// Whether every request got an `HTTP 200` answer (the ceiling phase's labels).
    pub fn all_http_ok(&self) -> bool {
        self.transport_errors == 0 && self.answers.keys().all(|k| k == "HTTP 200")
    }
}

/// The order phase's self-check.
#[derive(Debug, Default, Serialize)]
pub struct Check {
    /// `00` answers for this bench's orders.
    pub accepted: u64,
    /// Distinct `eft_trade_no` among them.
    pub distinct_eft_trade_no: u64,
    /// Orders in the store before the phase (when the store was given).
    pub store_before: Option<i64>,
    /// Orders in the store after the phase.
    pub store_after: Option<i64>,
    /// Accepted orders queried back through QRcodeTradeQuery.do.
    pub sample_queried: u64,
    /// Of those, found with the same `eft_trade_no`.
    pub sample_found: u64,
    /// Everything that did not add up (empty: the check passed).
    pub problems: Vec<String>,
}

impl Check {
    /// Whether nothing is missing or duplicated.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Resident memory of the gateway during the order phase.
#[derive(Debug, Serialize)]
pub struct Memory {
    /// Gateway process id.
    pub pid: u32,
    /// VmRSS before the phase, KiB.
    pub before_kib: u64,
    /// VmRSS after the phase, KiB.
    pub after_kib: u64,
    /// Highest VmRSS sampled, KiB.
    pub peak_kib: u64,
    /// VmRSS once 10 % of the phase's orders were answered, KiB (steady state).
    pub at_10_percent_kib: Option<u64>,
    /// Samples: (seconds into the phase, orders answered, VmRSS KiB).
    pub samples: Vec<(f64, u64, u64)>,
}

impl Memory {
    /// `after - before`, MiB (negative when it shrank).
    pub fn growth_mib(&self) -> f64 {
        (self.after_kib as f64 - self.before_kib as f64) / 1024.0
    }
}

/// Everything one `vmp bench` run measured.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Gateway base URL.
    pub base_url: String,
    /// Connections (= workers).
    pub concurrency: usize,
    /// Seconds per phase, unless `count` is set.
    pub duration_s: Option<f64>,
    /// Requests per phase, when set.
    pub count: Option<usize>,
    /// The merchant used.
    pub merchant: String,
    /// Whether the bench created the merchant in the store.
    pub merchant_created: bool,
    /// Orders pre-signed for the order phase, and how long it took.
    pub presigned: usize,
    /// Seconds spent pre-signing (before the clock started).
    pub presign_s: f64,
    /// GET /healthz with the same generator.
    pub ceiling: Option<PhaseReport>,
    /// GET /healthz again right after the order phase, so that the two
    /// ceilings bracket it.
    pub ceiling_after: Option<PhaseReport>,
    /// The ceiling the ratio is taken against: the mean of `ceiling` and
    /// `ceiling_after` (the VM's speed drifts during a run; bracketing the
    /// order phase cancels a steady drift).
    pub ceiling_per_s: Option<f64>,
    /// Place an Order.
    pub orders: Option<PhaseReport>,
    /// orders per second / ceiling per second.
    pub ratio: Option<f64>,
    /// (gateway + generator CPU per `/healthz`) / (the same per order): the
    /// ratio the run would show if the machine were as busy in the order
    /// phase as in the ceilings (needs `--gateway-pid`). The ceiling side is
    /// the mean of the ceilings before and after.
    pub cpu_ratio: Option<f64>,
    /// The order phase's self-check.
    pub check: Option<Check>,
    /// Gateway memory during the order phase (with --gateway-pid).
    pub memory: Option<Memory>,
    /// The notification bench (with --notifications N).
    pub notifications: Option<NotifyReport>,
    /// Whether every check passed.
    pub ok: bool,
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn phase_line(out: &mut String, name: &str, p: &PhaseReport) {
    let l = &p.latency;
    let _ = writeln!(
        out,
        "{name:<26} {:>9} {:>8.2} {:>10.0} {:>8} {:>8} {:>8} {:>9}",
        p.requests,
        p.elapsed_s,
        p.per_s,
        ms(l.p50_us),
        ms(l.p90_us),
        ms(l.p99_us),
        ms(l.max_us)
    );
}

fn answers(p: &PhaseReport) -> String {
    let mut parts: Vec<String> = p.answers.iter().map(|(k, v)| format!("{k} × {v}")).collect();
    if p.transport_errors > 0 {
        parts.push(format!("no answer × {}", p.transport_errors));
    }
    if parts.is_empty() { "none".to_owned() } else { parts.join(", ") }
}

impl Report {
    /// Computes [`Report::cpu_ratio`] from the phases' CPU figures.
    pub fn cpu_bound(&self) -> Option<f64> {
        let per_order = self.orders.as_ref()?.cpu?.round_trip_us()?;
        let ceilings: Vec<f64> =
            [&self.ceiling, &self.ceiling_after].into_iter().flatten().filter_map(|c| c.cpu?.round_trip_us()).collect();
        if ceilings.is_empty() || per_order <= 0.0 {
            return None;
        }
        Some(ceilings.iter().sum::<f64>() / ceilings.len() as f64 / per_order)
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let span = match (self.count, self.duration_s) {
            (Some(c), _) => format!("{c} requests per phase"),
            (None, Some(d)) => format!("{d} s per phase"),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "vmp bench: {}, {} connections, {span}", self.base_url, self.concurrency);
        let created = if self.merchant_created { " (created for this run)" } else { "" };
        let _ = writeln!(out, "merchant {}{created}", self.merchant);
        if self.presigned > 0 {
            let _ = writeln!(out, "pre-signed {} orders in {:.2} s (before the clock)", self.presigned, self.presign_s);
        }
        if self.ceiling.is_some() || self.orders.is_some() {
            let _ = writeln!(
                out,
                "\n{:<26} {:>9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>9}",
                "phase", "requests", "seconds", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
            );
        }
        if let Some(c) = &self.ceiling {
            let name = if self.ceiling_after.is_some() { "no-op ceiling, before" } else { "no-op ceiling (/healthz)" };
            phase_line(&mut out, name, c);
        }
        if let Some(o) = &self.orders {
            phase_line(&mut out, "Place an Order", o);
        }
        if let Some(c) = &self.ceiling_after {
            phase_line(&mut out, "no-op ceiling, after", c);
        }
        if let Some(r) = self.ratio {
            let of = match (self.ceiling_per_s, &self.ceiling_after) {
                (Some(c), Some(_)) => format!(" (of {c:.0} req/s, the mean of the ceilings before and after)"),
                _ => String::new(),
            };
            let _ = writeln!(out, "\norders / ceiling: {:.1} %{of}", r * 100.0);
        }
        if let Some(r) = self.cpu_ratio {
            let _ = writeln!(
                out,
                "orders / ceiling by CPU per request: {:.1} % (the ratio if the machine were as busy in every phase)",
                r * 100.0
            );
        }
        let phases = [("ceiling", &self.ceiling), ("orders", &self.orders), ("ceiling after", &self.ceiling_after)];
        for (name, phase) in phases {
            if let Some(cpu) = phase.as_ref().and_then(|p| p.cpu) {
                let gateway = cpu
                    .gateway_us
                    .map_or_else(|| "not measured (no --gateway-pid)".to_owned(), |g| format!("{g:.1} µs"));
                let _ =
                    writeln!(out, "CPU per request, {name}: gateway {gateway}, generator {:.1} µs", cpu.generator_us);
            }
        }
        for (name, phase) in phases {
            if let Some(m) = phase.as_ref().and_then(|p| p.machine_cpu) {
                let _ = writeln!(
                    out,
                    "machine CPU, {name}: {:.1} % busy, {:.1} % idle, {:.1} % I/O wait, {:.1} % stolen",
                    m.busy_pct, m.idle_pct, m.iowait_pct, m.steal_pct
                );
            }
        }
        for (name, phase) in [("ceiling", &self.ceiling), ("ceiling after", &self.ceiling_after)] {
            if let Some(c) = phase {
                let _ = writeln!(out, "{name} answers: {}", answers(c));
                if !c.all_http_ok() {
                    let _ = writeln!(out, "  problem: not every /healthz answer was HTTP 200, so this is no ceiling");
                }
            }
        }
        if let Some(o) = &self.orders {
            let _ = writeln!(out, "order answers (return_status): {}", answers(o));
            if o.exhausted {
                let _ = writeln!(out, "note: the pre-signed orders ran out before the duration (raise --presign)");
            }
        }
        if let Some(c) = &self.check {
            let store = match (c.store_before, c.store_after) {
                (Some(b), Some(a)) => format!("store +{} orders", a - b),
                _ => "store not counted (no --data-dir/--database-url)".to_owned(),
            };
            let _ = writeln!(
                out,
                "self-check: {} accepted, {} distinct eft_trade_no, {store}, {}/{} sampled orders found by query: {}",
                c.accepted,
                c.distinct_eft_trade_no,
                c.sample_found,
                c.sample_queried,
                if c.ok() { "ok" } else { "FAILED" }
            );
            for p in &c.problems {
                let _ = writeln!(out, "  problem: {p}");
            }
        }
        if let Some(m) = &self.memory {
            let steady = m
                .at_10_percent_kib
                .map(|k| format!(", {:+.1} MiB after the first 10 %", (m.after_kib as f64 - k as f64) / 1024.0))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "gateway memory (pid {}): VmRSS {:.1} MiB -> {:.1} MiB ({:+.1} MiB{steady}), peak {:.1} MiB",
                m.pid,
                m.before_kib as f64 / 1024.0,
                m.after_kib as f64 / 1024.0,
                m.growth_mib(),
                m.peak_kib as f64 / 1024.0
            );
        }
        if let Some(n) = &self.notifications {
            let _ = writeln!(
                out,
                "\nnotifications: {} orders placed ({:.0}/s), settled via the sandbox API in {:.2} s ({:.0}/s; {})",
                n.orders,
                n.place.per_s,
                n.settle.elapsed_s,
                n.settle.per_s,
                answers(&n.settle)
            );
            let _ = writeln!(
                out,
                "  {}/{} acknowledged {:.2} s after the first settle: {:.0} acknowledged/s{}",
                n.acknowledged,
                n.expected,
                n.all_acknowledged_after_s,
                n.acknowledged_per_s,
                if n.complete { "" } else { " (INCOMPLETE)" }
            );
            let l = &n.settle_to_ack;
            let _ = writeln!(
                out,
                "  settle -> ack latency ms: p50 {} p90 {} p99 {} max {}; deliveries {} (rejected {}, unexpected {}, not paid {})",
                ms(l.p50_us),
                ms(l.p90_us),
                ms(l.p99_us),
                ms(l.max_us),
                n.deliveries,
                n.rejected,
                n.unexpected,
                n.not_paid
            );
        }
        let _ = writeln!(out, "\nresult: {}", if self.ok { "ok" } else { "FAILED (see above)" });
        out
    }
}
