//! `vmp orders`, `vmp notifications`, `vmp requests`: the developer
//! console from a terminal, through the gateway's admin API
//! (`/admin/api/`, see `GET /admin/api/openapi.json`) with the admin token.
//! Tables for people, `--json` for scripts (the API's own JSON).

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Where the gateway is and the admin token.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the gateway.
    #[arg(long, env = "VMP_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// The admin token (default: $VMP_ADMIN_TOKEN; not needed in sandbox
    /// mode on this machine).
    #[arg(long, env = "VMP_ADMIN_TOKEN", hide_env_values = true, value_parser = secret)]
    pub admin_token: Option<SecretString>,
    /// A file holding the admin token (instead of --admin-token).
    #[arg(long, env = "VMP_ADMIN_TOKEN_FILE", conflicts_with = "admin_token")]
    pub admin_token_file: Option<std::path::PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn secret(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s.to_owned()))
}

/// `vmp orders …`.
#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Orders, newest first, with filters.
    List(Box<OrdersList>),
    /// One order with its timeline (requests, page views, settlement, notification attempts, refunds).
    Show {
        /// The order's eft_trade_no.
        eft_trade_no: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `vmp orders list`.
#[derive(Debug, Args)]
pub struct OrdersList {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Only this merchant's (user_confirm_key).
    #[arg(long)]
    pub merchant: Option<String>,
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Only this state (PENDING, TRADE_SUCCESS, TRADE_FAIL, TRADE_CLOSED, TRADE_REFUND).
    #[arg(long)]
    pub state: Option<String>,
    /// Created at or after (UTC+8: YYYY-MM-DD or YYYY-MM-DDTHH:MM).
    #[arg(long)]
    pub from: Option<String>,
    /// Created before (a date alone: up to its end).
    #[arg(long)]
    pub to: Option<String>,
    /// Search an out_trade_no or eft_trade_no.
    #[arg(long)]
    pub search: Option<String>,
    /// Orders per page (1-200).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Where to start (the `next` a previous page printed).
    #[arg(long)]
    pub cursor: Option<String>,
}

/// `vmp notifications …`.
#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Notifications: owed, delivered, failed.
    List {
        #[command(flatten)]
        admin: AdminArgs,
        /// owed, delivered or failed.
        #[arg(long)]
        status: Option<String>,
        /// Only this merchant's.
        #[arg(long)]
        merchant: Option<String>,
        /// Only this order's (eft_trade_no).
        #[arg(long)]
        order: Option<String>,
        /// Notifications per page (1-200).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Make an owed notification's next attempt now.
    Deliver {
        /// The notification's number.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Send a delivered or failed notification again (a new delivery).
    Resend {
        /// The notification's number.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `vmp requests …`.
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Follow the request log live: every API request as it is answered.
    Tail {
        #[command(flatten)]
        admin: AdminArgs,
        /// Only this merchant's.
        #[arg(long)]
        merchant: Option<String>,
        /// Milliseconds between polls.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
        interval_ms: u64,
    },
}

/// A client of one gateway's admin API.
struct AdminApi {
    http: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

impl AdminApi {
    fn new(args: &AdminArgs) -> anyhow::Result<Self> {
        let token = match (&args.admin_token, &args.admin_token_file) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the admin token file {}", path.display()))?;
                Some(SecretString::from(text.trim().to_owned()))
            }
            (None, None) => None,
        };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self { http, base: args.base_url.trim_end_matches('/').to_owned(), token })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t.expose_secret()),
            None => req,
        };
        let resp = req.send().await.with_context(|| format!("reaching the gateway at {}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().await.with_context(|| format!("reading the gateway's answer ({status})"))?;
        if !status.is_success() {
            let message = body.get("error").and_then(Value::as_str).unwrap_or("no message");
            bail!("{message} (HTTP {})", status.as_u16());
        }
        Ok(body)
    }

    async fn get(&self, path: &str, query: &[(&str, Option<String>)]) -> anyhow::Result<Value> {
        let q: Vec<(&str, String)> = query.iter().filter_map(|(k, v)| v.clone().map(|v| (*k, v))).collect();
        self.send(self.http.get(format!("{}/admin/api{path}", self.base)).query(&q)).await
    }

    async fn post(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}/admin/api{path}", self.base)).json(&serde_json::json!({}))).await
    }
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Prints rows as left-aligned columns.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// `vmp orders …`.
pub async fn orders(cmd: OrdersCommand) -> anyhow::Result<()> {
    match cmd {
        OrdersCommand::List(a) => {
            let api = AdminApi::new(&a.admin)?;
            let page = api
                .get(
                    "/orders",
                    &[
                        ("merchant", a.merchant.clone()),
                        ("service", a.service.clone()),
                        ("state", a.state.clone()),
                        ("from", a.from.clone()),
                        ("to", a.to.clone()),
                        ("q", a.search.clone()),
                        ("limit", a.limit.map(|l| l.to_string())),
                        ("cursor", a.cursor.clone()),
                    ],
                )
                .await?;
            if a.admin.json {
                return print_json(&page);
            }
            let rows: Vec<Vec<String>> = page["orders"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|o| {
                    vec![
                        text(o, "eft_trade_no"),
                        text(o, "out_trade_no"),
                        text(o, "merchant"),
                        text(o, "service"),
                        format!("{} {}", text(o, "currency"), text(o, "amount")),
                        text(o, "trade_status"),
                        text(o, "created"),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!("no orders match");
            } else {
                table(
                    &["EFT_TRADE_NO", "OUT_TRADE_NO", "MERCHANT", "SERVICE", "AMOUNT", "STATUS", "CREATED (UTC+8)"],
                    &rows,
                );
            }
            if let Some(next) = page["next"].as_str() {
                println!("next page: --cursor {next}");
            }
            Ok(())
        }
        OrdersCommand::Show { eft_trade_no, admin } => {
            let api = AdminApi::new(&admin)?;
            let d = api.get(&format!("/orders/{eft_trade_no}"), &[]).await?;
            if admin.json {
                return print_json(&d);
            }
            let o = &d["order"];
            println!("order {}  {}", text(o, "eft_trade_no"), text(o, "trade_status"));
            for (label, key) in [
                ("out_trade_no", "out_trade_no"),
                ("merchant", "merchant"),
                ("service", "service"),
                ("wallet", "wallet"),
                ("amount", "amount"),
                ("currency", "currency"),
                ("created", "created"),
                ("notify_url", "notify_url"),
            ] {
                println!("  {label:<13} {}", text(o, key));
            }
            println!("timeline:");
            for e in d["timeline"].as_array().map(Vec::as_slice).unwrap_or_default() {
                println!("  {}  {:<21} {}", text(e, "at"), text(e, "kind"), text(e, "summary"));
            }
            Ok(())
        }
    }
}

/// `vmp notifications …`.
pub async fn notifications(cmd: NotificationsCommand) -> anyhow::Result<()> {
    match cmd {
        NotificationsCommand::List { admin, status, merchant, order, limit } => {
            let api = AdminApi::new(&admin)?;
            let page = api
                .get(
                    "/notifications",
                    &[
                        ("status", status),
                        ("merchant", merchant),
                        ("eft_trade_no", order),
                        ("limit", limit.map(|l| l.to_string())),
                    ],
                )
                .await?;
            if admin.json {
                return print_json(&page);
            }
            let rows: Vec<Vec<String>> = page["notifications"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|n| {
                    vec![
                        text(n, "id"),
                        text(n, "eft_trade_no"),
                        text(n, "trade_status"),
                        text(n, "status"),
                        text(n, "attempts"),
                        text(n, "url"),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!("no notifications match");
            } else {
                table(&["ID", "EFT_TRADE_NO", "TRADE_STATUS", "STATUS", "ATTEMPTS", "URL"], &rows);
            }
            Ok(())
        }
        NotificationsCommand::Deliver { id, admin } => {
            let done = AdminApi::new(&admin)?.post(&format!("/notifications/{id}/deliver")).await?;
            if admin.json {
                return print_json(&done);
            }
            println!("{}", text(&done, "message"));
            Ok(())
        }
        NotificationsCommand::Resend { id, admin } => {
            let n = AdminApi::new(&admin)?.post(&format!("/notifications/{id}/resend")).await?;
            if admin.json {
                return print_json(&n);
            }
            println!("resent #{id} as notification #{} to {}", text(&n, "id"), text(&n, "url"));
            Ok(())
        }
    }
}

/// `vmp requests …`.
pub async fn requests(cmd: RequestsCommand) -> anyhow::Result<()> {
    let RequestsCommand::Tail { admin, merchant, interval_ms } = cmd;
    let api = AdminApi::new(&admin)?;
    let first = api.get("/requests", &[("limit", Some("1".into())), ("merchant", merchant.clone())]).await?;
    let mut cursor = first["follow"].as_str().context("the gateway's answer has no follow cursor")?.to_owned();
    eprintln!("following the request log of {} (Ctrl-C to stop)", api.base);
    loop {
        let page = api
            .get(
                "/requests",
                &[("after", Some(cursor.clone())), ("limit", Some("200".into())), ("merchant", merchant.clone())],
            )
            .await?;
        let requests = page["requests"].as_array().map(Vec::as_slice).unwrap_or_default();
        for r in requests {
            if admin.json {
                println!("{r}");
            } else {
                let latency = r["latency_us"]
                    .as_i64()
                    .map_or_else(|| "-".to_owned(), |us| format!("{:.1}ms", us as f64 / 1000.0));
                let mut line = format!(
                    "{}  {:<3}  {:<20}  {:<40}  {:<12}  {:<28}  {latency}",
                    text(r, "at"),
                    text(r, "return_status"),
                    text(r, "endpoint"),
                    text(r, "service"),
                    text(r, "merchant"),
                    text(r, "out_trade_no"),
                );
                if let Some(reason) = r["reason"].as_str() {
                    line.push_str("  ");
                    line.push_str(reason);
                }
                println!("{line}");
            }
        }
        if let Some(next) = page["follow"].as_str() {
            next.clone_into(&mut cursor);
        }
        if requests.len() < 200 {
            tokio::time::sleep(Duration::from_millis(interval_ms)).await;
        }
    }
}
