//! The `axum` feature: the notification extractor and the signed ack,
//! served on 127.0.0.1 and driven with reqwest.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use axum::Router;
use axum::routing::post;
use time::OffsetDateTime;
use vmp_client::axum::{Ack, DeliveryKind, NotificationReceiver, VerifiedNotification};
use vmp_client::{SecretString, is_ack_success};

const SECRET: &str = "receiver-secret";

mod support;
use support::paid_notification as notification;

async fn handler(n: VerifiedNotification) -> Ack {
    assert!(n.notification.is_paid_sale());
    let _ = match n.kind {
        DeliveryKind::Notify => "json",
        DeliveryKind::ReturnForm => "form",
    };
    n.ack()
}

async fn serve() -> String {
    let app =
        Router::new().route("/notify", post(handler)).with_state(NotificationReceiver::new(SecretString::from(SECRET)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/notify")
}

#[tokio::test]
async fn a_signed_json_notification_is_accepted_and_acked() {
    let url = serve().await;
    let body = notification(OffsetDateTime::now_utc()).to_signed_params(SECRET).to_json();
    let resp =
        reqwest::Client::new().post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let reply = resp.bytes().await.unwrap();
    assert!(is_ack_success(&reply, Some(SECRET)), "{reply:?}");
}

#[tokio::test]
async fn a_signed_return_form_is_accepted() {
    let url = serve().await;
    let params = notification(OffsetDateTime::now_utc()).to_signed_params(SECRET);
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k, v.as_str())))
        .finish();
    let resp = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn tampered_stale_or_foreign_notifications_get_400() {
    let url = serve().await;
    let now = OffsetDateTime::now_utc();
    let good = notification(now).to_signed_params(SECRET);
    let tampered = good.clone().with("total_fee", "0.01").to_json();
    let stale = notification(now - time::Duration::hours(2)).to_signed_params(SECRET).to_json();
    let foreign = notification(now).to_signed_params("other").to_json();
    for (body, want) in
        [(tampered, "signature"), (stale, "stale"), (foreign, "signature"), ("not json".to_owned(), "malformed")]
    {
        let resp = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{want}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(want), "{want}: {text}");
        assert!(!is_ack_success(text.as_bytes(), None), "{want}");
    }
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_unread() {
    let url = serve().await;
    // Signed and otherwise valid, but padded with many keys past the limit.
    let mut padded = notification(OffsetDateTime::now_utc()).to_signed_params(SECRET);
    for i in 0..12_000 {
        padded.set(format!("pad{i}"), "x");
    }
    let body = padded.to_json();
    assert!(body.len() > vmp_client::axum::NOTIFICATION_BODY_LIMIT);
    let resp =
        reqwest::Client::new().post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("at most 65536 bytes"), "{text}");
}

#[test]
fn debug_of_the_receiver_does_not_show_the_secret() {
    let r = NotificationReceiver::new(SecretString::from(SECRET));
    assert!(!format!("{r:?}").contains(SECRET));
}
