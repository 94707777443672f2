//! The SDK against the real gateway, spawned in-process on 127.0.0.1:0,
//! plus a few fake gateways for answers the real one never gives.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use time::OffsetDateTime;
use vmp_client::{
    Amount, Client, ClientError, Currency, Lang, OrderPlaced, Params, PayScene, PayType, PlaceOrder, PlaceOrderBuilder,
    Request, RequestError, ReturnStatus, SecretString, Service, Wallet,
};
use vmp_protocol::sign::{self, EmptyValues};

mod support;
use support::Gateway;

fn amount(minor: i64) -> Amount {
    Amount::from_minor(minor).unwrap()
}

/// An HKD 10.50 order of `service` paid with `wallet`, before `build()`.
fn builder(service: Service, wallet: Wallet, out_trade_no: &str) -> PlaceOrderBuilder {
    PlaceOrder::builder(service)
        .wallet(wallet)
        .out_trade_no(out_trade_no)
        .amount(amount(1050))
        .currency(Currency::Hkd)
        .subject("SDK test")
}

/// [`builder`], built.
fn order(service: Service, wallet: Wallet, out_trade_no: &str) -> PlaceOrder {
    builder(service, wallet, out_trade_no).build().unwrap()
}

/// What a merchant's code does: build the order, then place it. A refusal
/// at `build()` becomes `ClientError::Request` through `?`.
async fn build_and_place(client: &Client, order: PlaceOrderBuilder) -> Result<OrderPlaced, ClientError> {
    let order = order.build()?;
    client.place_order(&order).await
}

#[tokio::test]
async fn places_an_order_for_every_ready_web_and_wap_sale() {
    // Arrange
    let gw = Gateway::start().await;
    let client = gw.client();
    for (i, service) in Service::web_sales().enumerate() {
        let spec = service.spec();
        let wallet = spec.wallets[0];
        let out_trade_no = format!("SDK{i:03}");
        // `lang` is accepted on every service and kept only where the page
        // has a language choice.
        let o = builder(service, wallet, &out_trade_no)
            .body("1 x item")
            .tid("T-1")
            .notify_url("http://127.0.0.1:9/notify")
            .return_url("http://127.0.0.1:9/return")
            .active_time(600)
            .lang(Lang::En)
            .build()
            .unwrap_or_else(|e| panic!("{service}: {e}"));
        assert_eq!(o.lang, spec.lang.then_some(Lang::En), "{service}");

        // Act
        let placed = client.place_order(&o).await.unwrap_or_else(|e| panic!("{service}: {e}"));
        let raw = client.send(&Request::PlaceOrder(o.clone())).await.unwrap_or_else(|e| panic!("{service}: {e}"));

        // Assert
        assert!(
            placed.pay_apptrade.starts_with(&format!("{}/VMP/", gw.base_url)),
            "{service}: {}",
            placed.pay_apptrade
        );
        assert!(placed.pay_apptrade.contains(&out_trade_no), "{service}");
        assert!(
            placed.eft_trade_no.as_str().bytes().all(|b| b.is_ascii_digit()),
            "{service}: eft_trade_no {}",
            placed.eft_trade_no
        );
        assert_eq!(placed.out_trade_no, out_trade_no.as_str());
        assert_eq!(placed.user_confirm_key, gw.key);
        assert_eq!(placed.pay_type.as_deref(), spec.pay_type().map(PayType::as_str), "{service}");
        assert_eq!(placed.wallet.as_deref(), Some(wallet.as_str()));
        assert_eq!(placed.fee_type.as_deref(), Some("HKD"));
        assert_eq!(placed.transaction_amount.as_deref(), Some("10.50"));
        assert_eq!(placed.tid.as_deref(), Some("T-1"));
        // `send` hands back the verified answer itself: the same order again
        // is the first answer replayed.
        assert_eq!(raw.get("return_status"), Some("00"), "{service}");
        assert_eq!(raw.get("eft_trade_no"), Some(placed.eft_trade_no.as_str()), "{service}");
    }
}

#[tokio::test]
async fn every_wallet_and_scene_of_every_service_is_accepted() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let mut n = 0;
    for service in Service::web_sales() {
        let spec = service.spec();
        for wallet in spec.wallets {
            for scene in spec.pay_scenes {
                n += 1;
                let o = builder(service, *wallet, &format!("COMBO{n}"))
                    .pay_scene(*scene)
                    .build()
                    .unwrap_or_else(|e| panic!("{service} {wallet} {scene}: {e}"));
                client.place_order(&o).await.unwrap_or_else(|e| panic!("{service} {wallet} {scene}: {e}"));
            }
        }
    }
    assert!(n >= 13, "{n} combinations");
}

#[tokio::test]
async fn a_wrong_secret_is_reported_as_api_error_code_10() {
    let gw = Gateway::start().await;
    let client = Client::new(&gw.base_url, &gw.key, SecretString::from("not-the-secret")).unwrap();

    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "WRONGSECRET")).await.unwrap_err();

    match &err {
        ClientError::Api { status, code, message } => {
            assert_eq!(status, "10");
            assert_eq!(*code, Some(ReturnStatus::SignatureError));
            // eftPay's own text for the code (签名异常，不予继续访问).
            assert_eq!(message, ReturnStatus::SignatureError.template());
        }
        other => panic!("expected Api 10, got {other:?}"),
    }
    assert!(err.to_string().contains("return_status 10"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_unknown_key_is_reported_as_api_error_code_minus_13_naming_user_confirm_key() {
    let gw = Gateway::start().await;
    let client = Client::new(&gw.base_url, "NOSUCHKEY", SecretString::from("x")).unwrap();
    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "NOKEY")).await.unwrap_err();
    assert_eq!(err.api_code(), Some(ReturnStatus::InvalidParameter), "{err}");
    let ClientError::Api { message, .. } = &err else { panic!("{err:?}") };
    assert!(message.contains("user_confirm_key"), "{message}");
}

#[tokio::test]
async fn a_reused_out_trade_no_is_code_03_and_an_identical_retry_replays() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let first = order(Service::OctOnline, Wallet::Oct, "DUP1");
    let placed = client.place_order(&first).await.unwrap();

    let again = client.place_order(&first).await.unwrap();
    assert_eq!(again.eft_trade_no, placed.eft_trade_no);

    let different = builder(Service::OctOnline, Wallet::Oct, "DUP1").amount(amount(2000)).build().unwrap();
    let err = client.place_order(&different).await.unwrap_err();
    assert_eq!(err.api_code(), Some(ReturnStatus::DuplicateOrder), "{err}");
}

#[tokio::test]
async fn a_wrong_wallet_is_refused_by_the_builder_and_nothing_reaches_the_gateway() {
    // Arrange: a fake gateway that records every request it gets.
    let (base, seen) = fake_gateway(|req| signed_answer("s3cret", req, |_| {})).await;
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();

    // Act
    let err = build_and_place(&client, builder(Service::AlipayWap, Wallet::WechatHk, "W1")).await.unwrap_err();

    // Assert
    let ClientError::Request(refusal) = &err else { panic!("expected a refusal before sending, got {err:?}") };
    assert!(matches!(refusal, RequestError::Wallet { allowed, .. } if allowed.contains("ALIPAYHK")), "{refusal:?}");
    assert_eq!(refusal.field(), "wallet");
    assert_eq!(refusal.return_status(), ReturnStatus::WalletRestricted, "what the gateway would have answered");
    assert_eq!(err.api_code(), None, "the gateway never answered");
    assert!(err.to_string().contains("wallet"), "{err}");
    assert!(seen.lock().unwrap().is_empty(), "nothing may reach the gateway");
}

#[tokio::test]
async fn a_wrong_combination_is_refused_before_anything_is_sent() {
    let (base, seen) = fake_gateway(|req| signed_answer("s3cret", req, |_| {})).await;
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();
    let cases = [
        (builder(Service::AlipayWap, Wallet::WechatHk, "C1"), "wallet"),
        (builder(Service::AlipayWap, Wallet::AlipayHk, "C2").pay_scene(PayScene::Web), "pay_scene"),
        (builder(Service::AlipayWap, Wallet::AlipayHk, "C3").return_url("https://m.example/r?a=1"), "return_url"),
        (builder(Service::AlipayWap, Wallet::AlipayHk, "C4").amount(amount(123_456_789)), "transaction_amount"),
        (builder(Service::AlipayWap, Wallet::AlipayHk, "has space"), "out_trade_no"),
        (PlaceOrder::builder(Service::AlipayWap).wallet(Wallet::AlipayHk).out_trade_no("C6"), "transaction_amount"),
    ];
    for (o, field) in cases {
        let err = build_and_place(&client, o).await.unwrap_err();
        let ClientError::Request(refusal) = &err else { panic!("{field}: {err:?}") };
        assert_eq!(refusal.field(), field, "{refusal}");
        assert!(err.to_string().contains(field), "{field}: {err}");
        if refusal.return_status() == ReturnStatus::InvalidParameter {
            assert!(refusal.return_char().contains(field), "{field}: {}", refusal.return_char());
        }
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing may reach the gateway");
}

#[tokio::test]
async fn lang_is_accepted_on_a_service_without_a_language_choice_and_ignored() {
    // This was refused before sending; eftPay accepts it on every service.
    let gw = Gateway::start().await;
    let client = gw.client();

    let ignored = builder(Service::WechatMobileH5, Wallet::WechatHk, "LANG1").lang(Lang::Cn).build().unwrap();
    let kept = builder(Service::MpgsWeb, Wallet::Mpgs, "LANG2").lang(Lang::Hk).build().unwrap();

    assert_eq!(ignored.lang, None);
    assert!(!Request::PlaceOrder(ignored.clone()).to_params().contains("lang"));
    client.place_order(&ignored).await.unwrap();
    assert_eq!(kept.lang, Some(Lang::Hk));
    assert_eq!(Request::PlaceOrder(kept.clone()).to_params().get("lang"), Some("hk"));
    client.place_order(&kept).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_transport_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::new(format!("http://127.0.0.1:{port}"), "KEY1", SecretString::from("s")).unwrap();
    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "T1")).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn a_silent_gateway_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and never answers.
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let client = Client::new(format!("http://{addr}"), "KEY1", SecretString::from("s"))
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "T2")).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    hold.abort();
}

/// Request bodies and user agents a fake gateway received.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A fake gateway answering `answer(request_body)`; records what it got.
async fn fake_gateway(answer: impl Fn(&Params) -> String + Clone + Send + Sync + 'static) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().route(
        "/VMP/Servlet/JSAPIService.do",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let answer = answer.clone();
            let record = record.clone();
            async move {
                let ua = headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned);
                record.lock().unwrap().push((body.clone(), ua));
                answer(&Params::from_json(body.as_bytes()).unwrap())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

/// A Place an Order answer about `request`, before it is signed.
fn unsigned_answer(request: &Params) -> Params {
    Params::new()
        .with("return_status", "00")
        .with("return_char", "")
        .with("pay_apptrade", "http://gw.example/VMP/wap/payPage?x=1")
        .with("user_confirm_key", request.get("user_confirm_key").unwrap())
        .with("out_trade_no", request.get("out_trade_no").unwrap())
        .with("eft_trade_no", "0100000000000001")
        .with("time", request.get("time").unwrap())
}

fn signed_answer(secret: &str, request: &Params, tweak: impl Fn(&mut Params)) -> String {
    let mut a = unsigned_answer(request);
    tweak(&mut a);
    sign::sign_in_place(secret, &mut a);
    a.to_json()
}

/// Signs `p` as a signer following `rule` for empty values would. The sign
/// is SHA-256(secret ‖ signing string), so signing no parameters at all
/// with the key `secret ‖ signing string` hashes exactly that.
fn sign_by_rule(secret: &str, p: &mut Params, rule: EmptyValues) {
    let signature = sign::sign(&format!("{secret}{}", sign::signing_string(p, rule)), &Params::new());
    p.set("sign", signature);
}

#[tokio::test]
async fn requests_are_compact_signed_json_with_utc8_time_and_no_empty_fields() {
    let (base, seen) = fake_gateway(|req| signed_answer("s3cret", req, |_| {})).await;
    let fixed = time::macros::datetime!(2024-01-01 04:00:00 UTC);
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret"))
        .unwrap()
        .with_clock(move || fixed)
        .with_user_agent("shop/1.0");

    let o = builder(Service::AlipayWap, Wallet::AlipayHk, "REQ1").body("").tid("").build().unwrap();
    let placed = client.place_order(&o).await.unwrap();

    assert_eq!(placed.eft_trade_no, "0100000000000001");
    let seen = seen.lock().unwrap();
    let (body, ua) = &seen[0];
    assert_eq!(ua.as_deref(), Some("shop/1.0"));
    assert!(!body.contains(": ") && !body.contains('\n'), "compact: {body}");
    let p = Params::from_json(body.as_bytes()).unwrap();
    assert_eq!(sign::verify("s3cret", &p), Ok(()));
    assert_eq!(p.get("time"), Some("20240101120000"));
    assert_eq!(p.get("payType"), Some("Alipay"));
    assert_eq!(p.get("fee_type"), Some("HKD"));
    assert_eq!(p.get("transaction_amount"), Some("10.50"));
    assert!(!p.contains("body") && !p.contains("tid"), "{body}");
    assert!(p.iter().all(|(_, v)| !v.is_empty()), "{body}");
}

#[tokio::test]
async fn an_answer_signed_with_its_empty_return_char_included_verifies() {
    // eftPay's answers carry "return_char":"" on 00; whether its signing
    // string skips it or includes it as `return_char=` is not settled, so
    // the SDK must take both.
    let request = Params::new().with("user_confirm_key", "KEY1").with("out_trade_no", "INC1").with("time", "1");
    let mut skip = unsigned_answer(&request);
    sign_by_rule("s3cret", &mut skip, EmptyValues::Skip);
    let mut include = unsigned_answer(&request);
    sign_by_rule("s3cret", &mut include, EmptyValues::Include);
    assert_eq!(skip.get("sign").map(str::to_owned), Some(sign::sign("s3cret", &skip)), "the helper signs as eftPay");
    assert_ne!(skip.get("sign"), include.get("sign"), "the two rules must differ for this test to mean anything");

    for (rule, secret, status) in [
        (EmptyValues::Skip, "s3cret", "00"),
        (EmptyValues::Include, "s3cret", "00"),
        (EmptyValues::Include, "s3cret", "03"),
        (EmptyValues::Include, "someone-else", "00"),
    ] {
        // Arrange
        let (base, _) = fake_gateway(move |req| {
            let mut a = unsigned_answer(req);
            if status != "00" {
                // A refusal carries its text, and an empty field elsewhere.
                a.set("return_status", status)
                    .set("return_char", ReturnStatus::DuplicateOrder.template())
                    .set("tid", "");
            }
            sign_by_rule(secret, &mut a, rule);
            a.to_json()
        })
        .await;
        let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();

        // Act
        let result = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "INC1")).await;

        // Assert
        let what = format!("{rule:?} {secret} {status}");
        match (secret, status) {
            ("s3cret", "00") => assert_eq!(result.unwrap().eft_trade_no, "0100000000000001", "{what}"),
            ("s3cret", _) => {
                assert_eq!(result.unwrap_err().api_code(), Some(ReturnStatus::DuplicateOrder), "{what}");
            }
            _ => assert!(matches!(result, Err(ClientError::BadAnswerSignature(_))), "{what}: {result:?}"),
        }
    }
}

#[tokio::test]
async fn a_forged_answer_is_rejected() {
    let (base, _) = fake_gateway(|req| signed_answer("someone-else", req, |_| {})).await;
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();
    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "F1")).await.unwrap_err();
    assert!(matches!(err, ClientError::BadAnswerSignature(_)), "{err:?}");
}

#[tokio::test]
async fn an_answer_for_another_order_is_rejected() {
    let (base, _) = fake_gateway(|req| {
        signed_answer("s3cret", req, |a| {
            a.set("out_trade_no", "SOMETHING-ELSE");
        })
    })
    .await;
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();
    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "F2")).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn a_clock_far_off_gets_code_12_from_the_gateway() {
    let gw = Gateway::start().await;
    let client = gw.client().with_clock(|| OffsetDateTime::now_utc() - time::Duration::hours(8));
    let err = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "CLOCK1")).await.unwrap_err();
    assert_eq!(err.api_code(), Some(ReturnStatus::TimeMismatch), "{err}");
}

#[test]
fn debug_of_the_client_does_not_show_the_secret() {
    let client = Client::new("http://127.0.0.1:9", "KEY1", SecretString::from("very-secret-value")).unwrap();
    let text = format!("{client:?} {client:#?}");
    assert!(!text.contains("very-secret-value"), "{text}");
}
