//! `vmp sandbox …`: OpenVMP's sandbox API from the shell, for CI: settle
//! an order as its buyer would, read and move the gateway clock, and set a
//! merchant's fault rules. Talks to a gateway in sandbox mode
//! (`--base-url` / `VMP_BASE_URL`) through `vmp_client::sandbox`.

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use vmp_client::ClientError;
use vmp_client::sandbox::{Outcome, Sandbox, SandboxOrder};
use vmp_protocol::faults::{FaultRule, FaultRuleSpec};
use vmp_protocol::format_time;

/// `vmp sandbox …`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// The buyer pays (the magic amounts still apply: .77 fails, .80 closes, .45 errs).
    Pay(SettleArgs),
    /// The payment fails (TRADE_FAIL).
    Fail(SettleArgs),
    /// The buyer gives up (TRADE_CLOSED).
    Cancel(SettleArgs),
    /// Move the gateway clock forward: SECONDS, or 90s, 15m, 2h, 1d.
    Advance {
        #[command(flatten)]
        gateway: SandboxGateway,
        /// How far: seconds, or a number with s, m, h or d (at most 31 days at a time).
        #[arg(value_parser = parse_duration)]
        by: i64,
    },
    /// Print the gateway clock (yyyyMMddHHmmss, UTC+8).
    Clock {
        #[command(flatten)]
        gateway: SandboxGateway,
    },
    /// A merchant's fault rules: answers with a chosen code or late, notifications
    /// dropped, doubled, late, out of order or wrongly signed.
    #[command(subcommand)]
    Fault(FaultCommand),
}

/// Where the gateway is.
#[derive(Debug, Args)]
pub struct SandboxGateway {
    /// Base URL of the gateway.
    #[arg(long, env = "VMP_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
}

impl SandboxGateway {
    fn sandbox(&self) -> anyhow::Result<Sandbox> {
        Sandbox::new(&self.base_url).map_err(one_line)
    }
}

/// Which order, and the buyer's action.
#[derive(Debug, Args)]
pub struct SettleArgs {
    #[command(flatten)]
    pub gateway: SandboxGateway,
    /// The order's eft_trade_no (or name it with --out-trade-no).
    #[arg(required_unless_present = "out_trade_no", conflicts_with = "out_trade_no")]
    pub eft_trade_no: Option<String>,
    /// The merchant's out_trade_no (with --key).
    #[arg(long)]
    pub out_trade_no: Option<String>,
    /// The merchant's user_confirm_key, with --out-trade-no (default: $VMP_KEY).
    #[arg(long, env = "VMP_KEY")]
    pub key: Option<String>,
}

/// `vmp sandbox fault …`.
#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Add a rule; prints its id. Give --operation (an answer fault) or --notification.
    Add(Box<FaultAddArgs>),
    /// List the merchant's rules.
    List {
        #[command(flatten)]
        who: FaultMerchant,
        /// Print the rules as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete the merchant's rules (or one, with --id).
    Clear {
        #[command(flatten)]
        who: FaultMerchant,
        /// Only this rule.
        #[arg(long)]
        id: Option<i64>,
    },
}

/// The gateway and the merchant a rule belongs to.
#[derive(Debug, Args)]
pub struct FaultMerchant {
    #[command(flatten)]
    pub gateway: SandboxGateway,
    /// The merchant's user_confirm_key (default: $VMP_KEY).
    #[arg(long, env = "VMP_KEY")]
    pub key: Option<String>,
}

impl FaultMerchant {
    fn key(&self) -> anyhow::Result<&str> {
        self.key.as_deref().ok_or_else(|| anyhow!("no merchant key: pass --key or set VMP_KEY"))
    }
}

/// `vmp sandbox fault add`: the fields of a rule (docs/protocol.md "Sandbox faults").
#[derive(Debug, Args)]
pub struct FaultAddArgs {
    #[command(flatten)]
    pub who: FaultMerchant,
    /// Answer fault: sale, query, refund, refund-status, close, cancel or any.
    #[arg(long)]
    pub operation: Option<String>,
    /// Answer this return_status instead (e.g. 51, -1); nothing is stored.
    #[arg(long, allow_hyphen_values = true)]
    pub return_status: Option<String>,
    /// The return_char with it (default: eftPay's text for the code).
    #[arg(long)]
    pub return_char: Option<String>,
    /// Answer this many milliseconds late; for notifications, the delay or the reorder hold.
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// Notification fault: drop, duplicate, delay, reorder or bad_sign.
    #[arg(long)]
    pub notification: Option<String>,
    /// Fire for the next N (default 1).
    #[arg(long, conflicts_with = "percent")]
    pub count: Option<u64>,
    /// Fire for this percentage, until cleared.
    #[arg(long)]
    pub percent: Option<u64>,
}

pub async fn run(cmd: SandboxCommand) -> anyhow::Result<()> {
    match cmd {
        SandboxCommand::Pay(a) => settle(a, Outcome::Success).await,
        SandboxCommand::Fail(a) => settle(a, Outcome::Fail).await,
        SandboxCommand::Cancel(a) => settle(a, Outcome::Cancel).await,
        SandboxCommand::Advance { gateway, by } => {
            let now = gateway.sandbox()?.advance(by).await.map_err(one_line)?;
            println!("now: {}", format_time(now));
            Ok(())
        }
        SandboxCommand::Clock { gateway } => {
            let now = gateway.sandbox()?.clock().await.map_err(one_line)?;
            println!("{}", format_time(now));
            Ok(())
        }
        SandboxCommand::Fault(f) => fault(f).await,
    }
}

async fn settle(args: SettleArgs, outcome: Outcome) -> anyhow::Result<()> {
    let order = match (args.eft_trade_no, args.out_trade_no) {
        (Some(eft), _) => SandboxOrder::eft_trade_no(eft),
        (None, Some(out)) => {
            let key =
                args.key.ok_or_else(|| anyhow!("--out-trade-no needs the merchant: pass --key or set VMP_KEY"))?;
            SandboxOrder::out_trade_no(key, out)
        }
        (None, None) => bail!("name the order: EFT_TRADE_NO or --out-trade-no"),
    };
    let settled = args.gateway.sandbox()?.pay(&order, outcome).await.map_err(one_line)?;
    println!("result: {}", settled.result);
    println!("trade_status: {}", settled.trade_status);
    println!("eft_trade_no: {}", settled.eft_trade_no);
    println!("out_trade_no: {}", settled.out_trade_no);
    Ok(())
}

async fn fault(cmd: FaultCommand) -> anyhow::Result<()> {
    match cmd {
        FaultCommand::Add(args) => {
            let spec = FaultRuleSpec {
                operation: args.operation,
                return_status: args.return_status,
                return_char: args.return_char,
                delay_ms: args.delay_ms,
                notification: args.notification,
                count: args.count,
                percent: args.percent,
                ..FaultRuleSpec::default()
            };
            // Judged here by the gateway's own rules: nothing bad is sent.
            let rule = FaultRule::parse(&spec).map_err(|e| anyhow!("invalid fault rule: {e}"))?;
            let key = args.who.key()?;
            let stored = args.who.gateway.sandbox()?.add_fault(key, &rule).await.map_err(one_line)?;
            println!("added rule {}: {rule}", stored.id.unwrap_or_default());
            Ok(())
        }
        FaultCommand::List { who, json } => {
            let rules = who.gateway.sandbox()?.faults(who.key()?).await.map_err(one_line)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rules)?);
                return Ok(());
            }
            if rules.is_empty() {
                println!("no fault rules");
            }
            for spec in rules {
                let text = FaultRule::parse(&spec).map_or_else(|e| format!("(unreadable: {e})"), |r| r.to_string());
                let left = spec.remaining.map(|n| format!(", {n} left")).unwrap_or_default();
                println!("{:>5}  {text}{left}", spec.id.unwrap_or_default());
            }
            Ok(())
        }
        FaultCommand::Clear { who, id } => {
            let n = who.gateway.sandbox()?.clear_faults(who.key()?, id).await.map_err(one_line)?;
            println!("cleared {n} fault rule{}", if n == 1 { "" } else { "s" });
            Ok(())
        }
    }
}

/// Seconds, or a number with `s`, `m`, `h` or `d`.
fn parse_duration(s: &str) -> Result<i64, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a duration (e.g. 900, 90s, 15m, 2h, 1d)"));
    }
    digits.parse::<i64>().ok().and_then(|n| n.checked_mul(scale)).ok_or_else(|| format!("{s:?} is too long"))
}

/// A sandbox API error as one line, with a hint where one helps.
fn one_line(e: ClientError) -> anyhow::Error {
    let hint = match &e {
        ClientError::Transport { .. } => " (is the gateway running? check --base-url / VMP_BASE_URL)",
        ClientError::SandboxRefused { status: 404, message, .. } if message == "not found" => {
            " (the sandbox API answers only in sandbox mode)"
        }
        _ => "",
    };
    anyhow!("{e}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        for (text, seconds) in [("900", 900), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86_400)] {
            assert_eq!(parse_duration(text), Ok(seconds), "{text}");
        }
        for bad in ["", "m", "1w", "-5", "1.5h", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
