//! `vmp serve`.

use anyhow::Context;
use secrecy::ExposeSecret;
use vmp_server::store::EnsuredMerchant;
use vmp_server::{Application, HttpLimits, Settings};

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing()?;
    // Each connection is a file descriptor: the default soft limit (often
    // 1024) would cap the gateway far below what the machine allows.
    match vmp_server::listener::raise_open_file_limit() {
        Ok(limit) => tracing::info!(open_file_limit = limit, "raised the open-file soft limit to the hard limit"),
        Err(e) => tracing::warn!(error.message = %e, "could not raise the open-file limit"),
    }
    let mut settings = Settings::new(args.data.data_dir.clone());
    settings.init = args.init;
    settings.listen = args.listen;
    settings.public_url = args.public_url;
    settings.mode = args.mode;
    settings.node_id = args.node_id;
    settings.database_url = args.data.database_url.clone();
    if let Some(schedule) = args.notify_retry_schedule {
        settings.notifier.schedule = schedule;
    }
    settings.notifier.timeout = std::time::Duration::from_secs(args.notify_timeout);
    settings.rate_limit_ip = args.rate_limit_ip;
    settings.rate_limit_merchant = args.rate_limit_merchant;
    if let Some(n) = args.max_batch {
        settings.max_batch = usize::from(n);
    }
    let secs = std::time::Duration::from_secs;
    settings.http = HttpLimits {
        header_timeout: secs(args.header_timeout),
        idle_timeout: args.idle_timeout.map(secs),
        body_timeout: secs(args.body_timeout),
        max_header_bytes: usize::try_from(args.max_header_bytes)?,
        max_connections: usize::try_from(args.max_connections)?,
        drain_timeout: secs(args.drain_timeout),
    };
    settings.metrics_listen = args.metrics_listen;
    settings.master_key = args.data.master_keys()?;
    settings.sandbox_merchant = args.sandbox_merchant.clone();
    settings.request_log_days = args.request_log_days;
    settings.admin_token_file = args.admin_token_file.clone();
    let app = Application::build(settings).await?;
    println!("OpenVMP gateway ({} mode) listening on http://{}", args.mode, app.local_addr());
    if let Some(addr) = app.metrics_addr() {
        println!("metrics on http://{addr}/metrics");
    }
    match &args.data.database_url {
        Some(_) => println!("store: PostgreSQL"),
        None => println!("data directory: {}", args.data.data_dir.display()),
    }
    if let Some((key, done)) = app.sandbox_merchant() {
        let what = match done {
            EnsuredMerchant::Created => "created",
            EnsuredMerchant::Updated => "secret set, active",
            EnsuredMerchant::Unchanged => "unchanged",
        };
        // The key only: the caller chose the secret and it is never printed.
        println!("sandbox merchant {key} (--sandbox-merchant): {what}");
    }
    println!("console on http://{}/console", app.local_addr());
    if let Some(token) = app.generated_admin_token() {
        // Printed once, to the console only: only its hash is stored.
        println!("admin token (shown once, keep it; /console and /admin/api ask for it): {}", token.expose_secret());
    }
    if let Some(m) = app.bootstrap_merchant() {
        // Printed once, to the console only: this is the one place a secret is shown.
        println!("created sandbox merchant (shown once, keep the secret):");
        println!("  user_confirm_key: {}", m.key);
        println!("  secret:           {}", m.secret.expose_secret());
    }
    app.run_until_stopped(shutdown_signal()).await.context("gateway stopped with an error")?;
    println!("OpenVMP gateway stopped");
    Ok(())
}

/// Logs to stderr, filtered by `VMP_LOG`; `VMP_LOG_FORMAT=json` writes one
/// JSON object per line (for log shippers), `text` (default) plain lines.
fn init_tracing() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VMP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = std::env::var("VMP_LOG_FORMAT").unwrap_or_default();
    // A log line that cannot be written (stderr closed: `vmp serve 2>&1 | head`)
    // is dropped; reporting it would itself write to stderr and panic.
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false);
    let _ = match format.as_str() {
        "json" => builder.json().with_current_span(false).try_init(),
        "" | "text" => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
        other => anyhow::bail!("VMP_LOG_FORMAT must be json or text, not {other:?}"),
    };
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
