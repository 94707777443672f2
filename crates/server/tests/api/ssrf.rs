//! Production mode: merchant URLs are checked when the order (or an
//! apply-refund) is placed, and every hostname is checked again at connect
//! time through the resolver.
//! The resolver is injected, so no test ever connects anywhere but 127.0.0.1.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vmp_server::Mode;
use vmp_server::lifecycle::{self, BuyerAction};
use vmp_server::merchant::{Merchant, MerchantStatus};
use vmp_server::netguard::{HostResolver, Lookup};
use vmp_server::store::NewMerchant;

use crate::helpers::{TestApp, spawn_app_with};

/// Resolves fixed names; counts lookups so the test can see the guard ran.
struct FakeDns {
    names: HashMap<&'static str, IpAddr>,
    lookups: AtomicUsize,
}

impl HostResolver for FakeDns {
    fn lookup(&self, host: &str) -> Lookup {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found: Vec<SocketAddr> = self.names.get(host).map(|ip| SocketAddr::new(*ip, 0)).into_iter().collect();
        Box::pin(async move { Ok(found) })
    }
}

async fn production_app(dns: Arc<FakeDns>) -> TestApp {
    let mut app = spawn_app_with(|s| {
        s.mode = Mode::Production;
        s.notifier.resolver = dns;
    })
    .await;
    let merchant = Merchant {
        key: "PROD1".into(),
        name: "prod".into(),
        secret: "prod-secret".to_owned().into(),
        status: MerchantStatus::Active,
        allowed_ports: vec![8443],
        previous: None,
    };
    app.state.store().add_merchant(NewMerchant { merchant, created_at: 0 }).await.unwrap();
    app.key = "PROD1".into();
    app.secret = "prod-secret".into();
    app
}

#[tokio::test]
async fn production_refuses_private_addresses_and_unapproved_ports_when_ordering() {
    let dns = Arc::new(FakeDns { names: HashMap::new(), lookups: AtomicUsize::new(0) });
    let app = production_app(dns).await;
    let cases = [
        ("notify_url", "http://127.0.0.1/notify", "private, loopback"),
        ("notify_url", "http://10.1.2.3/notify", "private, loopback"),
        ("notify_url", "http://169.254.169.254/latest/meta-data", "private, loopback"),
        ("notify_url", "http://[::1]/notify", "private, loopback"),
        ("notify_url", "https://merchant.example:9000/notify", "port 9000"),
        ("return_url", "http://192.168.0.10/return", "private, loopback"),
        ("return_url", "https://merchant.example:8080/return", "port 8080"),
    ];
    for (i, (field, url, says)) in cases.into_iter().enumerate() {
        let mut p = app.seed_request(&format!("PRODBAD{i}"));
        p.set(field, url);
        app.sign(&mut p);
        let a = app.post(&p).await;
        assert_eq!(a.get("return_status"), Some("-13"), "{url}: {}", a.to_json());
        let text = a.get("return_char").unwrap();
        // eftPay's text names the field; why (`says`) is in the log.
        assert!(text.contains(field), "{url} ({says}): {text}");
    }
    assert_eq!(app.order_count().await, 0);
    // An allow-listed port and ordinary ports are fine.
    for (i, url) in
        ["https://merchant.example:8443/notify", "https://merchant.example/notify", "http://merchant.example/n"]
            .iter()
            .enumerate()
    {
        let mut p = app.seed_request(&format!("PRODOK{i}"));
        p.set("notify_url", *url);
        app.sign(&mut p);
        assert_eq!(app.post(&p).await.get("return_status"), Some("00"), "{url}");
    }
}

#[tokio::test]
async fn a_hostname_that_resolves_to_a_private_address_is_blocked_at_connect_time() {
    // Arrange: the merchant's host name points at loopback and a metadata address.
    let dns = Arc::new(FakeDns {
        names: HashMap::from([
            ("merchant.test", "127.0.0.1".parse().unwrap()),
            ("metadata.test", "169.254.169.254".parse().unwrap()),
        ]),
        lookups: AtomicUsize::new(0),
    });
    let app = production_app(Arc::clone(&dns)).await;
    let mut efts = Vec::new();
    for (i, host) in ["merchant.test", "metadata.test"].iter().enumerate() {
        let mut p = app.seed_request(&format!("DNS{i}"));
        p.set("notify_url", format!("http://{host}/notify"));
        app.sign(&mut p);
        let a = app.post(&p).await;
        assert_eq!(a.get("return_status"), Some("00"), "a hostname passes the order-time check: {}", a.to_json());
        efts.push(a.get("eft_trade_no").unwrap().to_owned());
    }

    // Act: the orders are paid (production has no sandbox API; use the lifecycle).
    for eft in &efts {
        let order = app.state.store().order_by_eft_trade_no(eft).await.unwrap().unwrap();
        lifecycle::buyer_action(&app.state, &order, BuyerAction::Pay, None).await.unwrap();
    }

    // Assert: each attempt is refused by the guard, recorded, and retried later.
    for eft in &efts {
        let mut row = None;
        for _ in 0..400 {
            let rows = app.state.store().notifications_for_order(eft).await.unwrap();
            if rows.first().is_some_and(|r| r.attempts >= 1) {
                row = rows.into_iter().next();
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let row = row.expect("an attempt was recorded");
        assert_eq!(row.status, "pending", "DNS may change: the schedule goes on");
        let attempts = app.state.store().attempts_for_notification(row.id).await.unwrap();
        assert_eq!(attempts[0].outcome, "error");
        assert!(attempts[0].excerpt.starts_with("blocked"), "{:?}", attempts[0]);
        assert_eq!(attempts[0].http_status, None, "nothing was sent");
    }
    assert!(dns.lookups.load(Ordering::SeqCst) >= 2, "the guard resolved through the injected resolver");
}

#[tokio::test]
async fn production_refuses_a_private_apply_refund_notify_url_and_stores_nothing() {
    let dns = Arc::new(FakeDns { names: HashMap::new(), lookups: AtomicUsize::new(0) });
    let app = production_app(dns).await;
    let mut p = app.seed_request("PRODREF1");
    p.set("transaction_amount", "3.00")
        .set("service", "service.wechat.web.MobileH5")
        .set("payType", "WeChat")
        .set("wallet", "WECHATHK")
        .set("pay_scene", "WEB");
    app.sign(&mut p);
    let a = app.post(&p).await;
    assert_eq!(a.get("return_status"), Some("00"), "{}", a.to_json());
    let order = app.state.store().order_by_eft_trade_no(a.get("eft_trade_no").unwrap()).await.unwrap().unwrap();
    lifecycle::buyer_action(&app.state, &order, BuyerAction::Pay, None).await.unwrap();

    let apply_refund = |out_refund_no: &str, notify_url: &str| {
        let mut r = vmp_protocol::Params::new().with("user_confirm_key", &app.key);
        r.set("service", "service.wechat.web.ApplyRefund")
            .set("out_trade_no", "PRODREF1")
            .set("out_refund_no", out_refund_no)
            .set("return_amount", "1.00")
            .set("wallet", "WECHATHK")
            .set("notify_url", notify_url)
            .set("time", crate::helpers::vmp_now());
        app.sign(&mut r);
        r
    };
    for (i, url) in ["http://10.0.0.1:8080/refunded", "http://127.0.0.1/refunded", "https://merchant.example:9000/r"]
        .into_iter()
        .enumerate()
    {
        let no = format!("PRODAR{i}");
        let answer = app.post(&apply_refund(&no, url)).await;
        assert_eq!(answer.get("return_status"), Some("-13"), "{url}: {}", answer.to_json());
        assert!(answer.get("return_char").is_some_and(|t| t.contains("notify_url")), "{}", answer.to_json());
        assert!(app.state.store().refund_by_out_refund_no(&app.key, &no).await.unwrap().is_none(), "{url}");
    }
    assert_eq!(app.state.store().refunds_total(order.eft_trade_no.as_str()).await.unwrap(), 0);

    let answer = app.post(&apply_refund("PRODAROK", "https://merchant.example/refunded")).await;
    assert_eq!(answer.get("return_status"), Some("00"), "{}", answer.to_json());
    assert_eq!(app.state.store().refunds_total(order.eft_trade_no.as_str()).await.unwrap(), 100);
}
