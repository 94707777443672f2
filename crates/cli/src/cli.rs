//! Command-line shape of `vmp`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use vmp_protocol::retry::RetrySchedule;
use vmp_server::{Mode, SandboxMerchant};

/// OpenVMP: a self-hostable, wire-compatible eftPay VMP payment gateway.
#[derive(Debug, Parser)]
#[command(name = "vmp", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (embedded SQLite in --data-dir).
    Serve(Box<ServeArgs>),
    /// Administer merchants in the store.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Administer the gateway's store: master keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Merchant side: place, query, refund and close orders on a gateway (--base-url, --key, --secret).
    #[command(subcommand)]
    Order(crate::order_cmd::OrderCommand),
    /// Sign a JSON message read from stdin with a merchant secret.
    Sign(crate::sign_cmd::SignArgs),
    /// Verify the sign of a JSON message read from stdin (exit 1 if invalid).
    Verify(crate::sign_cmd::VerifyArgs),
    /// Receive notifications and return_url posts on 127.0.0.1; verify and ack them.
    Listen(crate::listen_cmd::ListenArgs),
    /// Load-test a running gateway: orders/s vs the no-op ceiling, latency, notifications/s.
    Bench(Box<crate::bench_cmd::BenchArgs>),
    /// The sandbox API for CI: settle orders, move the clock, fault rules (sandbox mode only).
    #[command(subcommand)]
    Sandbox(crate::sandbox_cmd::SandboxCommand),
    /// Grade a merchant's notify handler: valid, forged, stale, duplicate and out-of-order notifications.
    CheckHandler(crate::check_handler_cmd::CheckHandlerArgs),
    /// Console: list and show orders of a gateway (admin API, --admin-token).
    #[command(subcommand)]
    Orders(crate::console_cmd::OrdersCommand),
    /// Console: list notifications, deliver an owed one now, resend one.
    #[command(subcommand)]
    Notifications(crate::console_cmd::NotificationsCommand),
    /// Console: follow the request log live (`vmp requests tail`).
    #[command(subcommand)]
    Requests(crate::console_cmd::RequestsCommand),
}

#[derive(Debug, Args)]
pub struct DataDir {
    /// Directory of the embedded store.
    #[arg(long, env = "VMP_DATA_DIR", default_value = "vmp-data")]
    pub data_dir: PathBuf,
    /// postgres://… to use PostgreSQL instead of the embedded store.
    #[arg(long, env = "VMP_DATABASE_URL", hide_env_values = true, value_parser = secret_arg)]
    pub database_url: Option<SecretString>,
    /// File of master keys that encrypt secrets at rest, one per line
    /// (required in production). Or set VMP_MASTER_KEY to the key itself
    /// (several: comma-separated).
    #[arg(long, env = "VMP_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// The master keys given by a key file or `VMP_MASTER_KEY` (read here,
/// never a flag: a flag's value shows in the process list).
pub fn master_keys(file: Option<&std::path::Path>) -> anyhow::Result<vmp_server::vault::KeySource> {
    let variable = std::env::var("VMP_MASTER_KEY").ok().filter(|v| !v.is_empty()).map(SecretString::from);
    let variable = variable.as_ref().map(secrecy::ExposeSecret::expose_secret);
    Ok(vmp_server::vault::KeySource::from_options(file, variable)?)
}

impl DataDir {
    /// The master keys given by `--master-key-file` or `VMP_MASTER_KEY`.
    pub fn master_keys(&self) -> anyhow::Result<vmp_server::vault::KeySource> {
        master_keys(self.master_key_file.as_deref())
    }

    /// Opens the store with its master keys (refused when they do not fit).
    pub async fn open_store(&self) -> anyhow::Result<std::sync::Arc<dyn vmp_server::store::Store>> {
        let url = self.database_url.as_ref().map(secrecy::ExposeSecret::expose_secret);
        Ok(vmp_server::store::open_with(&self.data_dir, url, 1, self.master_keys()?, false).await?.0)
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VMP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataDir,
    /// Create an empty store even though the data directory held one whose
    /// database is missing (without it, such a directory refuses to start).
    #[arg(long)]
    pub init: bool,
    /// Public base URL for pay links (default: http://LISTEN).
    #[arg(long, env = "VMP_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// sandbox or production.
    #[arg(long, env = "VMP_MODE", default_value = "sandbox")]
    pub mode: Mode,
    /// Instance number 0-99 (first digits of eft_trade_no); default 1 on
    /// SQLite, drawn from the database on PostgreSQL.
    #[arg(long, env = "VMP_NODE_ID", value_parser = clap::value_parser!(u8).range(0..=99))]
    pub node_id: Option<u8>,
    /// Notification retry delays after the first attempt, e.g. 15s,15s,30s,3m,1h.
    #[arg(long, env = "VMP_NOTIFY_RETRY_SCHEDULE", value_parser = parse_schedule)]
    pub notify_retry_schedule: Option<RetrySchedule>,
    /// Per-attempt notification timeout in seconds.
    #[arg(long, env = "VMP_NOTIFY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub notify_timeout: u64,
    /// Most writes per group commit (1 = one fsync per request: the
    /// benchmark baseline). Default 256.
    #[arg(long, hide = true, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub max_batch: Option<u16>,
    /// Requests per second per client IP (0 = unlimited; default: unlimited
    /// in sandbox, 2000 in production).
    #[arg(long, env = "VMP_RATE_LIMIT_IP")]
    pub rate_limit_ip: Option<u32>,
    /// Requests per second per merchant (0 = unlimited; default: unlimited
    /// in sandbox, 1000 in production).
    #[arg(long, env = "VMP_RATE_LIMIT_MERCHANT")]
    pub rate_limit_merchant: Option<u32>,
    /// Seconds a client has to send a request's line and headers (from
    /// connecting, for its first request).
    #[arg(long, env = "VMP_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a keep-alive connection may wait for its next request
    /// (default: the header timeout).
    #[arg(long, env = "VMP_IDLE_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: Option<u64>,
    /// Seconds a client has to send a request's body, after its headers.
    #[arg(long, env = "VMP_BODY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Most bytes of request line and headers (more: 431, connection closed).
    #[arg(long, env = "VMP_MAX_HEADER_BYTES", default_value_t = 16384, value_parser = clap::value_parser!(u64).range(1024..=1_048_576))]
    pub max_header_bytes: u64,
    /// Most connections served at once; more are closed at once (lowered
    /// to fit the open-file limit).
    #[arg(long, env = "VMP_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections: u64,
    /// Seconds shutdown waits for open requests before closing their connections.
    #[arg(long, env = "VMP_DRAIN_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_timeout: u64,
    /// Serve Prometheus metrics on this address (GET /metrics); off when absent.
    #[arg(long, env = "VMP_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// KEY:SECRET of a sandbox merchant to create (or give this secret) at
    /// start, so CI knows its credentials in advance (sandbox mode only).
    #[arg(long, env = "VMP_SANDBOX_MERCHANT", hide_env_values = true, value_parser = SandboxMerchant::parse)]
    pub sandbox_merchant: Option<SandboxMerchant>,
    /// Days to keep the request log shown by the console (0 = off; default:
    /// 7 in sandbox, off in production).
    #[arg(long, env = "VMP_REQUEST_LOG_DAYS", value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub request_log_days: Option<u32>,
    /// File holding the admin token of /console and /admin/api (default:
    /// generated at the first start and printed once; only its hash is stored).
    #[arg(long, env = "VMP_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
}

/// Values that must never show in `Debug` output (passwords, secrets).
fn secret_arg(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s.to_owned()))
}

fn parse_schedule(s: &str) -> Result<RetrySchedule, String> {
    s.parse().map_err(|e: vmp_protocol::retry::ScheduleError| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Add a merchant; prints its key and secret once.
    Add {
        #[command(flatten)]
        data: DataDir,
        /// Key to use (at most 12 printable ASCII characters); generated if absent.
        #[arg(long)]
        user_confirm_key: Option<String>,
        /// Secret to use; generated if absent.
        #[arg(long, env = "VMP_MERCHANT_SECRET", hide_env_values = true)]
        #[arg(value_parser = secret_arg)]
        secret: Option<SecretString>,
        /// Display name.
        #[arg(long, default_value = "Merchant")]
        name: String,
        /// A port other than 80/443 this merchant may use for notify_url and
        /// return_url in production mode (repeatable).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        allow_port: Vec<u16>,
    },
    /// List merchants (never their secrets).
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Disable a merchant: its requests get code 22.
    Disable {
        /// The merchant's user_confirm_key.
        key: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Enable a disabled merchant again.
    Enable {
        /// The merchant's user_confirm_key.
        key: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Give a merchant a new secret (printed once); during the overlap
    /// requests signed with either secret verify, and notifications keep
    /// the old one until promote-secret or the overlap's end.
    RotateSecret {
        /// The merchant's user_confirm_key.
        key: String,
        /// How long the old secret keeps verifying: 1m to 30d (e.g. 90s, 30m, 24h, 7d).
        #[arg(long, default_value = "24h")]
        overlap: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Sign notifications and return_url payloads with the new secret from
    /// now on (after rotate-secret, once the merchant's receivers have it).
    PromoteSecret {
        /// The merchant's user_confirm_key.
        key: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Give a merchant a new secret (printed once) that replaces the old
    /// one at once: requests signed with the old one fail from now on.
    ResetSecret {
        /// The merchant's user_confirm_key.
        key: String,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Re-encrypt every secret under the one new key among the given master
    /// keys, online; then the old key can be removed everywhere. Run again,
    /// it finishes an interrupted rotation.
    RotateMasterKey {
        #[command(flatten)]
        data: DataDir,
    },
    /// Print a fresh random master key (base64), for a key file or VMP_MASTER_KEY.
    NewMasterKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_arguments_never_shows_a_password_or_secret() {
        let cli = Cli::try_parse_from(["vmp", "serve", "--database-url", "postgres://vmp:db-pass-123@db.example/vmp"])
            .unwrap();
        assert!(!format!("{cli:?}").contains("db-pass-123"));
        let cli = Cli::try_parse_from(["vmp", "merchant", "add", "--secret", "merchant-secret-456"]).unwrap();
        assert!(!format!("{cli:?}").contains("merchant-secret-456"));
        let cli = Cli::try_parse_from(["vmp", "serve", "--sandbox-merchant", "CI1:sandbox-secret-789"]).unwrap();
        assert!(!format!("{cli:?}").contains("sandbox-secret-789"));
    }
}
