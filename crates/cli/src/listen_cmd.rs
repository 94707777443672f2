//! `vmp listen`: a local receiver for the three ways a gateway's result
//! reaches a merchant, each verified with the merchant secret (signature and
//! ±30 minute window) and printed:
//!
//! - a notification: JSON POSTed by the gateway to `notify_url`, answered
//!   with the signed `success` ack (or, when it does not verify, `400` with
//!   the signed `false` ack, so the gateway sends it again);
//! - a `return_url` form: `application/x-www-form-urlencoded`, POSTed by the
//!   buyer's browser, answered with a small HTML page for that browser;
//! - a BOCPay `app_link` return: a GET with the signed parameters in the
//!   query string, answered with the same page.
//!
//! The page says in words what happened (paid, closed, …), shows the order
//! number and amount, and whether the signature verified; every value on it
//! is HTML-escaped. It is `200` when the parameters verified, `400` when not.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use vmp_client::axum::NOTIFICATION_BODY_LIMIT;
use vmp_client::notify::{self, NotificationError, TradeNotification, TradeStatus};
use vmp_client::sandbox::Sandbox;

use crate::sign_cmd::SecretArg;

/// `vmp listen`.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    #[command(flatten)]
    pub secret: SecretArg,
    /// Judge `time` by the gateway's sandbox clock (GET /sandbox/clock at
    /// --base-url) instead of this machine's, so a moved sandbox clock does
    /// not make notifications stale.
    #[arg(long, env = "VMP_SANDBOX_CLOCK")]
    pub sandbox_clock: bool,
    /// The gateway, for --sandbox-clock.
    #[arg(long, env = "VMP_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
}

/// The merchant secret every delivery is verified with and every ack is
/// signed with, and the sandbox whose clock is followed. No `Debug`: it
/// would be the only way to print the secret.
#[derive(Clone)]
struct Listener {
    secret: SecretString,
    sandbox: Option<Sandbox>,
}

pub async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let sandbox = match args.sandbox_clock {
        true => Some(Sandbox::new(&args.base_url).map_err(|e| anyhow::anyhow!("{e}"))?),
        false => None,
    };
    let listener_state = Listener { secret: args.secret.require()?, sandbox };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let app = Router::new().fallback(receive).with_state(listener_state);
    println!("listening on http://{bound}");
    println!("on any path: POST a notification (JSON) -> signed ack; POST a return_url form or GET an app_link");
    println!("(signed query) -> an HTML page for the buyer. Each is verified with the secret and printed here.");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}

/// How a delivery arrived, which decides the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// JSON POSTed to `notify_url` by the gateway: answered with an ack.
    Notification,
    /// A form POSTed to `return_url` by the buyer's browser: answered with a page.
    ReturnForm,
    /// A GET of BOCPay's `app_link` with the signed query: answered with a page.
    AppLink,
}

impl Delivery {
    fn describe(self) -> &'static str {
        match self {
            Self::Notification => "notification (JSON)",
            Self::ReturnForm => "return_url post (form)",
            Self::AppLink => "app_link return (query string)",
        }
    }
}

async fn receive(
    State(listener): State<Listener>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let now = match &listener.sandbox {
        None => OffsetDateTime::now_utc(),
        Some(sandbox) => sandbox.clock().await.unwrap_or_else(|e| {
            println!("could not read the sandbox clock ({e}); judging time by this machine's clock");
            OffsetDateTime::now_utc()
        }),
    };
    let local = now.to_offset(vmp_protocol::vmptime::VMP_OFFSET);
    let at = format!("{:02}:{:02}:{:02}", local.hour(), local.minute(), local.second());
    let path = uri.path();
    let secret = listener.secret.expose_secret();

    let (delivery, payload) = match method {
        Method::POST => {
            // The gateway's own request limit; a delivery is a few hundred bytes.
            let body = match axum::body::to_bytes(body, NOTIFICATION_BODY_LIMIT).await {
                Ok(b) => b,
                Err(e) => {
                    println!(
                        "[{at}] POST {path}: REJECTED: body not read: {e} (at most {NOTIFICATION_BODY_LIMIT} bytes)"
                    );
                    return (StatusCode::BAD_REQUEST, "body could not be read\n").into_response();
                }
            };
            let kind = if is_form(&headers) { Delivery::ReturnForm } else { Delivery::Notification };
            (kind, body.to_vec())
        }
        Method::GET => match uri.query().filter(|q| !q.is_empty()) {
            Some(query) => (Delivery::AppLink, query.as_bytes().to_vec()),
            None if path == "/favicon.ico" => return StatusCode::NOT_FOUND.into_response(),
            None => {
                println!("[{at}] GET {path}: no parameters, answered the help page");
                return Html(help_page()).into_response();
            }
        },
        other => {
            println!("[{at}] {other} {path}: ignored (only POST and GET are answered)");
            let mut resp = StatusCode::METHOD_NOT_ALLOWED.into_response();
            resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return resp;
        }
    };

    // The qrcode scene's notification (scene_cmd.rs).
    if delivery == Delivery::Notification && crate::scene_cmd::is_qrcode_notification(&payload) {
        let verified = crate::scene_cmd::verify_and_print_qrcode(&at, path, &payload, secret, now);
        return ack_response(secret, verified.is_ok(), now);
    }
    let verified = match delivery {
        Delivery::Notification => notify::verify_notification(&payload, secret, now),
        Delivery::ReturnForm | Delivery::AppLink => notify::verify_return_form(&payload, secret, now),
    };
    match &verified {
        Ok(n) => print_verified(&at, &method, path, delivery, n),
        Err(e) => println!("[{at}] {method} {path}: {}: REJECTED: {e}", delivery.describe()),
    }

    match delivery {
        Delivery::Notification => ack_response(secret, verified.is_ok(), now),
        Delivery::ReturnForm | Delivery::AppLink => {
            let received = received_pairs(&payload);
            let status = if verified.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            println!(
                "    -> answered the result page ({})",
                if verified.is_ok() { "verified" } else { "not verified" }
            );
            (status, Html(result_page(delivery, verified.as_ref(), &received))).into_response()
        }
    }
}

/// The signed ack of a notification: `success` (200) when it verified,
/// else `false` (400), so the gateway sends it again.
fn ack_response(secret: &str, success: bool, now: OffsetDateTime) -> Response {
    let ack = notify::ack(secret, success, now).to_json();
    println!("    -> answered the signed {} ack", if success { "success" } else { "false" });
    let status = if success { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], ack).into_response()
}

fn print_verified(at: &str, method: &Method, path: &str, delivery: Delivery, n: &TradeNotification) {
    let verdict = if n.is_paid_sale() { "PAID" } else { "not paid" };
    println!("[{at}] {method} {path}: {}, signature valid, {} -> {verdict}", delivery.describe(), n.trade_status);
    let params = n.to_params();
    let width = params.keys().map(str::len).max().unwrap_or(0);
    for (k, v) in params.iter() {
        println!("    {k:<width$}  {}", v.as_str());
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// The parameters as received, for the page: shown even when they did not
/// verify (marked so), since that is when a developer needs to see them.
fn received_pairs(payload: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(payload).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// `trade_status` in words for the buyer's page.
fn status_in_words(status: &TradeStatus) -> String {
    match status {
        TradeStatus::TradeSuccess => "Paid".to_owned(),
        TradeStatus::TradeProcessing => "Processing (not final yet)".to_owned(),
        TradeStatus::WaitBuyerPay => "Waiting for the buyer to pay".to_owned(),
        TradeStatus::TradeClosed => "Closed (not paid, or fully refunded)".to_owned(),
        TradeStatus::TradeFail => "Failed".to_owned(),
        TradeStatus::TradeRefund => "Partly refunded".to_owned(),
        TradeStatus::ApplySuccess => "Refund application accepted".to_owned(),
        TradeStatus::Unknown(s) => format!("Unknown status {s}"),
    }
}

use vmp_server::html::escape;

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.5rem}.ok{color:#17692c}.bad{color:#a4161a}table{border-collapse:collapse;font-size:.9rem}\
td,th{text-align:left;padding:.2rem .6rem;border-bottom:1px solid #ddd}td:first-child{white-space:nowrap}\
td+td{word-break:break-all}dt{font-weight:600}dd{margin:0 0 .6rem}";

fn page(title: &str, verified: &str, content: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{PAGE_STYLE}</style></head>\n\
         <body data-verified=\"{verified}\">\n{content}</body></html>\n",
        title = escape(title),
    )
}

/// The page for a `return_url` form or an `app_link` GET.
fn result_page(
    delivery: Delivery,
    verified: Result<&TradeNotification, &NotificationError>,
    received: &[(String, String)],
) -> String {
    let field = |name: &str| received.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut c = String::new();
    let how = match delivery {
        Delivery::AppLink => "BOCPay app_link return (GET with a signed query string)",
        _ => "return_url form POST",
    };
    match verified {
        Ok(n) => {
            let _ = write!(
                c,
                "<h1>{}</h1>\n<p class=\"ok\" id=\"signature\">Signature verified with the merchant secret.</p>\n\
                 <dl>\n<dt>Trade status</dt><dd id=\"status\">{} <code>{}</code></dd>\n\
                 <dt>Order number (out_trade_no)</dt><dd id=\"out-trade-no\">{}</dd>\n\
                 <dt>Amount</dt><dd id=\"amount\">{} {}</dd>\n\
                 <dt>Gateway order (eft_trade_no)</dt><dd>{}</dd>\n</dl>\n",
                escape(&status_in_words(&n.trade_status)),
                escape(&status_in_words(&n.trade_status)),
                escape(n.trade_status.as_str()),
                escape(&n.out_trade_no),
                escape(&n.currency),
                escape(&n.total_fee),
                escape(&n.eft_trade_no),
            );
            if !n.is_paid_sale() {
                c.push_str("<p>This order is not paid.</p>\n");
            }
            c.push_str(
                "<p><small>A return only tells what the gateway said when it sent the buyer back; \
                 the notification (or a query) is the authority on payment.</small></p>\n",
            );
        }
        Err(e) => {
            let status = field("trade_status").map(TradeStatus::parse);
            let _ = write!(
                c,
                "<h1>Not verified</h1>\n<p class=\"bad\" id=\"signature\">The signature did not verify: {}. \
                 Nothing below can be trusted.</p>\n\
                 <dl>\n<dt>Trade status (unverified)</dt><dd id=\"status\">{}</dd>\n\
                 <dt>Order number (out_trade_no, unverified)</dt><dd id=\"out-trade-no\">{}</dd>\n\
                 <dt>Amount (unverified)</dt><dd id=\"amount\">{} {}</dd>\n</dl>\n",
                escape(&e.to_string()),
                escape(&status.as_ref().map(status_in_words).unwrap_or_else(|| "none given".to_owned())),
                escape(field("out_trade_no").unwrap_or("none given")),
                escape(field("currency").unwrap_or("")),
                escape(field("total_fee").unwrap_or("none given")),
            );
        }
    }
    let _ = writeln!(c, "<p>Received as: {}.</p>", escape(how));
    if !received.is_empty() {
        c.push_str("<table>\n<tr><th>parameter</th><th>value</th></tr>\n");
        for (k, v) in received {
            let _ = writeln!(c, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v));
        }
        c.push_str("</table>\n");
    }
    let title = if verified.is_ok() { "Payment result (verified)" } else { "Payment result (NOT verified)" };
    page(title, if verified.is_ok() { "yes" } else { "no" }, &c)
}

fn help_page() -> String {
    page(
        "vmp listen",
        "none",
        "<h1>vmp listen</h1>\n<p>Nothing to verify here. POST a notification (JSON) or a return_url form, \
         or open an app_link with the signed parameters in its query string.</p>\n",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::datetime;
    use vmp_protocol::notify::TradeType;
    use vmp_protocol::{Amount, VmpTime};

    use super::*;

    fn notification(out_trade_no: &str) -> TradeNotification {
        TradeNotification {
            user_confirm_key: "KEY1".into(),
            trade_no: "T1".into(),
            transaction_id: "T1".into(),
            out_trade_no: out_trade_no.into(),
            eft_trade_no: "01261126142200357000000".into(),
            eftpay_trade_no: "01261126142200357000000".into(),
            total_fee: "12.30".into(),
            amount: Amount::parse("12.30").unwrap(),
            currency: "HKD".into(),
            trade_status: TradeStatus::TradeSuccess,
            gmt_payment: "2026-11-26 12:00:00".into(),
            wallet: "BOCVMPUPI".into(),
            tid: None,
            trade_type: TradeType::Sale,
            card_scheme: None,
            time: VmpTime::from_datetime(datetime!(2026-11-26 04:00:00 UTC)),
        }
    }

    #[test]
    fn escape_replaces_every_character_that_could_open_markup() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("ORDER-1 訂單"), "ORDER-1 訂單");
    }

    #[test]
    fn a_verified_page_names_the_status_in_words_and_escapes_the_order_number() {
        let n = notification("<script>alert(1)</script>");
        let received = vec![("out_trade_no".to_owned(), "<script>alert(1)</script>".to_owned())];
        let html = result_page(Delivery::ReturnForm, Ok(&n), &received);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("Paid") && html.contains("HKD 12.30"), "{html}");
        assert!(html.contains("Signature verified"), "{html}");
        assert!(html.contains("data-verified=\"yes\""), "{html}");
    }

    #[test]
    fn an_unverified_page_says_so_and_marks_what_it_shows_as_unverified() {
        let err = NotificationError::MissingField("sign");
        let received = vec![
            ("trade_status".to_owned(), "TRADE_SUCCESS".to_owned()),
            ("out_trade_no".to_owned(), "O\"1".to_owned()),
        ];
        let html = result_page(Delivery::AppLink, Err(&err), &received);
        assert!(html.contains("did not verify") && html.contains("unverified"), "{html}");
        assert!(html.contains("O&quot;1") && !html.contains("O\"1"), "{html}");
        assert!(html.contains("app_link"), "{html}");
        assert!(html.contains("data-verified=\"no\""), "{html}");
    }
}
