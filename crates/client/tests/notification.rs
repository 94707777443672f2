//! `Client::verify_notification`: what a merchant's `notify_url` handler
//! calls on the body the gateway POSTs, with the client's secret and clock.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use time::OffsetDateTime;
use time::macros::datetime;
use vmp_client::{Client, NotificationError, Params, SecretString};
use vmp_protocol::sign::{self, EmptyValues};

const SECRET: &str = "merchant-secret";

/// The client's clock in every test: 2024-01-01 12:00:00 in UTC+8.
const NOW: OffsetDateTime = datetime!(2024-01-01 04:00:00 UTC);

fn client() -> Client {
    Client::new("http://127.0.0.1:9", "KEY1", SecretString::from(SECRET)).unwrap().with_clock(|| NOW)
}

mod support;
use support::paid_notification as notification;

#[test]
fn a_signed_notification_within_the_window_is_returned_as_sent() {
    // Arrange
    let sent = notification(NOW - time::Duration::seconds(2));
    let body = sent.to_signed_params(SECRET).to_json();

    // Act
    let got = client().verify_notification(body.as_bytes()).unwrap();

    // Assert
    assert_eq!(got, sent);
    assert!(got.is_paid_sale());
}

#[test]
fn a_notification_signed_with_its_empty_values_included_is_accepted() {
    // Some signers include empty values as `key=`; the SDK takes both rules.
    let mut p = notification(NOW).to_params().with("tid", "");
    let included = sign::sign(&format!("{SECRET}{}", sign::signing_string(&p, EmptyValues::Include)), &Params::new());
    assert_ne!(included, sign::sign(SECRET, &p), "the two rules must differ for this test to mean anything");
    p.set("sign", included);

    let got = client().verify_notification(p.to_json().as_bytes()).unwrap();

    assert_eq!(got.out_trade_no, "ORDER-1");
}

#[test]
fn a_tampered_or_foreign_notification_is_a_bad_signature() {
    let good = notification(NOW).to_signed_params(SECRET);
    let cases = [
        ("total_fee changed", good.clone().with("total_fee", "0.01").to_json()),
        ("trade_status changed", good.clone().with("trade_status", "TRADE_FAIL").to_json()),
        ("field added", good.clone().with("rate", "1").to_json()),
        ("signed by another secret", notification(NOW).to_signed_params("someone-else").to_json()),
        ("unsigned", notification(NOW).to_params().to_json()),
    ];
    for (what, body) in cases {
        let err = client().verify_notification(body.as_bytes()).unwrap_err();
        assert!(matches!(err, NotificationError::BadSignature(_)), "{what}: {err:?}");
    }
}

#[test]
fn a_notification_more_than_30_minutes_from_the_clients_clock_is_stale() {
    for (what, at) in [
        ("31 minutes old", NOW - time::Duration::minutes(31)),
        ("31 minutes ahead", NOW + time::Duration::minutes(31)),
        ("two hours old", NOW - time::Duration::hours(2)),
    ] {
        let body = notification(at).to_signed_params(SECRET).to_json();
        let err = client().verify_notification(body.as_bytes()).unwrap_err();
        assert!(matches!(&err, NotificationError::Stale { .. }), "{what}: {err:?}");
        assert!(err.to_string().contains("stale"), "{what}: {err}");
    }
    // Just inside the window on either side is fine.
    for at in [NOW - time::Duration::minutes(29), NOW + time::Duration::minutes(29)] {
        let body = notification(at).to_signed_params(SECRET).to_json();
        assert!(client().verify_notification(body.as_bytes()).is_ok(), "{at}");
    }
}

#[test]
fn a_body_that_is_not_a_notification_is_malformed() {
    for body in [&b"not json"[..], b"", b"[]"] {
        let err = client().verify_notification(body).unwrap_err();
        assert!(matches!(err, NotificationError::Malformed(_)), "{body:?}: {err:?}");
    }
}
