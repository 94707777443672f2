//! `vmp sign` and `vmp verify`: the VMP signature on a JSON message read
//! from stdin, with a merchant secret. Also home of the `--secret` flag
//! shared by the merchant-side commands.

use std::io::Read;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use vmp_protocol::vmptime::VmpTime;
use vmp_protocol::{Params, format_time, sign};

/// Largest message read from stdin.
const STDIN_LIMIT: u64 = 1024 * 1024;

/// `--secret` / `VMP_SECRET`: the merchant's secret_code. Never printed.
#[derive(Debug, Clone, Args)]
pub struct SecretArg {
    /// The merchant's secret (default: $VMP_SECRET).
    #[arg(long, env = "VMP_SECRET", hide_env_values = true, value_parser = parse_secret)]
    secret: Option<SecretString>,
}

fn parse_secret(s: &str) -> Result<SecretString, String> {
    if s.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(SecretString::from(s.to_owned()))
}

impl SecretArg {
    /// The secret, or a one-line error naming both ways to give it.
    pub fn require(&self) -> anyhow::Result<SecretString> {
        self.secret.clone().ok_or_else(|| anyhow!("no secret: pass --secret or set VMP_SECRET"))
    }
}

/// `vmp sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub secret: SecretArg,
    /// Set `time` to now (yyyyMMddHHmmss, UTC+8) before signing.
    #[arg(long)]
    pub stamp_time: bool,
}

/// `vmp verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub secret: SecretArg,
    /// Also require `time` within 30 minutes of now (UTC+8), as the gateway does.
    #[arg(long)]
    pub check_time: bool,
}

fn read_stdin_params() -> anyhow::Result<Params> {
    let mut body = Vec::new();
    std::io::stdin().take(STDIN_LIMIT + 1).read_to_end(&mut body).context("reading stdin")?;
    if body.len() as u64 > STDIN_LIMIT {
        bail!("stdin is larger than {STDIN_LIMIT} bytes");
    }
    Params::from_json(&body).map_err(|e| anyhow!("stdin is not a VMP message: {e}"))
}

/// Prints the message with `sign` set (compact JSON, keys in input order).
pub fn run_sign(args: SignArgs) -> anyhow::Result<()> {
    let secret = args.secret.require()?;
    let mut params = read_stdin_params()?;
    if args.stamp_time {
        params.set("time", format_time(time::OffsetDateTime::now_utc()));
    }
    sign::sign_in_place(secret.expose_secret(), &mut params);
    println!("{}", params.to_json());
    Ok(())
}

/// Prints `valid …` and succeeds, or fails with `invalid …` (exit code 1).
pub fn run_verify(args: VerifyArgs) -> anyhow::Result<()> {
    let secret = args.secret.require()?;
    let params = read_stdin_params()?;
    sign::verify(secret.expose_secret(), &params).map_err(|e| anyhow!("invalid: {e}"))?;
    if args.check_time {
        let time = params.get("time").ok_or_else(|| anyhow!("invalid: sign matches but time is missing"))?;
        let at = VmpTime::parse(time).map_err(|e| anyhow!("invalid: sign matches but {e}"))?;
        if !at.within_window_of(time::OffsetDateTime::now_utc()) {
            bail!("invalid: sign matches but time {time} is more than 30 minutes from now (UTC+8)");
        }
        println!("valid: sign matches and time is within 30 minutes");
    } else {
        println!("valid: sign matches");
    }
    Ok(())
}
