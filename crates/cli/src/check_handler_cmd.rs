//! `vmp check-handler URL`: grades a merchant's notify handler with
//! `vmp_server::handler_check` and prints a line per case (or `--json`).
//! Exit code 1 when any case is wrong.

use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::Args;
use vmp_protocol::Amount;
use vmp_server::handler_check::{self, CheckOptions};

use crate::order_cmd::parse_amount;
use crate::sign_cmd::SecretArg;

/// `vmp check-handler`.
#[derive(Debug, Args)]
pub struct CheckHandlerArgs {
    /// The notify handler's URL (only this URL is contacted).
    pub url: String,
    /// The merchant's user_confirm_key (default: $VMP_KEY).
    #[arg(long, env = "VMP_KEY")]
    pub key: Option<String>,
    #[command(flatten)]
    pub secret: SecretArg,
    /// Seconds the handler has to answer each notification (the gateway's notify timeout).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
    /// A real order of the merchant to report on, for handlers that check orders
    /// against their records (cases then run one after another).
    #[arg(long)]
    pub out_trade_no: Option<String>,
    /// The order amount (total_fee).
    #[arg(long, default_value = "0.01", value_parser = parse_amount)]
    pub amount: Amount,
    /// Print the report as JSON (for CI).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: CheckHandlerArgs) -> anyhow::Result<()> {
    let url = url::Url::parse(&args.url).map_err(|e| anyhow!("invalid URL {:?}: {e}", args.url))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("the handler URL must be an absolute http(s) URL");
    }
    let key = args.key.ok_or_else(|| anyhow!("no merchant key: pass --key or set VMP_KEY"))?;
    let opts = CheckOptions {
        url,
        key,
        secret: args.secret.require()?,
        timeout: Duration::from_secs(args.timeout),
        out_trade_no: args.out_trade_no,
        amount: args.amount,
    };
    let report = handler_check::run(opts, time::OffsetDateTime::now_utc()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if !report.all_passed() {
        bail!("{} of {} cases failed", report.failed, report.cases.len());
    }
    Ok(())
}
