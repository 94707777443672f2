//! Rate limits answer with a defined VMP code (HTTP 429, `-1`) and change nothing.

use vmp_protocol::Params;

use crate::helpers::{ENDPOINT, TestApp, spawn_app_with};

async fn send(app: &TestApp, p: &Params) -> (u16, Params, Option<String>) {
    let resp = app.client.post(format!("{}{ENDPOINT}", app.base)).body(p.to_json()).send().await.unwrap();
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, Params::from_json(&resp.bytes().await.unwrap()).unwrap(), retry)
}

#[tokio::test]
async fn over_the_merchant_rate_requests_get_429_and_minus_1_and_store_nothing() {
    let app = spawn_app_with(|s| s.rate_limit_merchant = Some(5)).await;
    let (mut ok, mut limited) = (0, 0);
    let started = std::time::Instant::now();
    for i in 0..30 {
        let (status, a, retry) = send(&app, &app.seed_request(&format!("RL{i}"))).await;
        match (status, a.get("return_status")) {
            (200, Some("00")) => ok += 1,
            (429, Some("-1")) => {
                limited += 1;
                assert_eq!(a.get("return_char"), Some("请求过于频繁，请稍后再试"));
                assert_eq!(retry.as_deref(), Some("1"));
            }
            other => panic!("unexpected {other:?}: {}", a.to_json()),
        }
    }
    // A burst of 2 × 5, plus what the rate refilled while the requests ran.
    let most = 10 + (started.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    assert!((10..=most).contains(&ok), "a burst of 10 then 5/s: {ok} accepted, at most {most}");
    assert!(limited > 0);
    assert_eq!(ok + limited, 30);
    assert_eq!(app.order_count().await, ok as i64, "limited requests store nothing");
}

#[tokio::test]
async fn forged_requests_do_not_spend_a_merchants_quota() {
    let app = spawn_app_with(|s| s.rate_limit_merchant = Some(5)).await;
    for i in 0..40 {
        let mut p = app.seed_request(&format!("FORGED{i}"));
        p.set("sign", "0".repeat(64));
        let (status, a, _) = send(&app, &p).await;
        assert_eq!((status, a.get("return_status")), (200, Some("10")));
    }
    let (status, a, _) = send(&app, &app.seed_request("REAL1")).await;
    assert_eq!((status, a.get("return_status")), (200, Some("00")), "{}", a.to_json());
}

#[tokio::test]
async fn over_the_ip_rate_requests_are_refused_before_anything_is_read() {
    let app = spawn_app_with(|s| s.rate_limit_ip = Some(5)).await;
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    for i in 0..25 {
        statuses.push(send(&app, &app.seed_request(&format!("IP{i}"))).await.0);
    }
    let most = 10 + (started.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited > 0 && 25 - limited <= most, "{statuses:?}");
    assert_eq!(app.order_count().await, (25 - limited) as i64);
}
