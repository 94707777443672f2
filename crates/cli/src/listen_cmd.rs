//! `vmp listen`: a local receiver for notifications (JSON POSTs to
//! `notify_url`) and `return_url` form posts. Each delivery is verified with
//! the merchant secret (signature and ±30 minute window), printed, and
//! answered with the signed `success` ack; anything unverifiable is printed
//! with the reason and answered `400`.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use vmp_client::axum::{DeliveryKind, NotificationReceiver, NotificationRejection, VerifiedNotification};

use crate::sign_cmd::SecretArg;

/// `vmp listen`.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    #[command(flatten)]
    pub secret: SecretArg,
}

pub async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let receiver = NotificationReceiver::new(args.secret.require()?);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let app = Router::new().fallback(receive).with_state(receiver);
    println!("listening on http://{bound}");
    println!("POST notifications (JSON) or return_url forms to any path; each is verified and acknowledged");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(())
}

async fn receive(method: Method, uri: Uri, delivery: Result<VerifiedNotification, NotificationRejection>) -> Response {
    let now = time::OffsetDateTime::now_utc().to_offset(vmp_protocol::vmptime::VMP_OFFSET);
    let at = format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second());
    let path = uri.path();
    if method != Method::POST {
        println!("[{at}] {method} {path}: ignored (only POST is accepted)");
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    match delivery {
        Ok(n) => {
            let kind = match n.kind {
                DeliveryKind::Notify => "notification (JSON)",
                DeliveryKind::ReturnForm => "return_url post (form)",
            };
            let verdict = if n.notification.is_paid_sale() { "PAID" } else { "not paid" };
            println!("[{at}] POST {path}: {kind}, signature valid, {} -> {verdict}", n.notification.trade_status);
            let params = n.notification.to_params();
            let width = params.keys().map(str::len).max().unwrap_or(0);
            for (k, v) in params.iter() {
                println!("    {k:<width$}  {}", v.as_str());
            }
            println!("    -> answered the signed success ack");
            n.ack().into_response()
        }
        Err(rejection) => {
            println!("[{at}] POST {path}: REJECTED: {rejection}");
            rejection.into_response()
        }
    }
}
