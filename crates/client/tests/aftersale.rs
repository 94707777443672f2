//! Query, refund, refund status and close through the SDK, against the real
//! gateway spawned in-process on 127.0.0.1:0 (orders are paid with the
//! sandbox HTTP API), plus a fake gateway for answers the real one never
//! gives.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use tokio::sync::oneshot;
use vmp_client::{
    Amount, Client, ClientError, CloseOrder, Currency, InvalidRequest, OrderPlaced, OrderRef, Params, PlaceOrder,
    Query, QueryEndpoint, Refund, RefundService, RefundStatus, RefundStatusQuery, ReturnStatus, SecretString, Service,
    TradeStatus, TradeType, Wallet,
};
use vmp_protocol::sign;
use vmp_server::{Application, Settings};

/// Bound on every HTTP call a test makes.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A gateway on a free port with a fresh store; stops when dropped.
struct Gateway {
    state: vmp_server::AppState,
    base_url: String,
    key: String,
    secret: String,
    http: reqwest::Client,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::new(dir.path());
        settings.listen = "127.0.0.1:0".parse().unwrap();
        let app = Application::build(settings).await.unwrap();
        let base_url = format!("http://{}", app.local_addr());
        let merchant = app.bootstrap_merchant().unwrap();
        let key = merchant.key.clone();
        let secret = secrecy::ExposeSecret::expose_secret(&merchant.secret).to_owned();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().unwrap();
        Self { state, base_url, key, secret, http, _stop: stop, _dir: dir }
    }

    fn client(&self) -> Client {
        Client::new(&self.base_url, &self.key, SecretString::from(self.secret.clone()))
            .unwrap()
            .with_timeout(CALL_TIMEOUT)
    }

    /// POSTs JSON to the sandbox API; returns the answer's fields.
    async fn sandbox(&self, path: &str, body: &str) -> Params {
        let resp = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        Params::from_json(&resp.bytes().await.unwrap()).unwrap()
    }

    /// The buyer pays (or the payment fails) through the sandbox API.
    async fn pay(&self, placed: &OrderPlaced) -> Params {
        self.sandbox(&format!("/sandbox/orders/{}/pay", placed.eft_trade_no), r#"{"outcome":"success"}"#).await
    }

    /// Places an order of `minor` units and pays it.
    async fn paid_order(&self, service: Service, wallet: Wallet, out_trade_no: &str, minor: i64) -> OrderPlaced {
        let placed = self.client().place_order(&order(service, wallet, out_trade_no, minor)).await.unwrap();
        let paid = self.pay(&placed).await;
        assert_eq!(paid.get("trade_status"), Some("TRADE_SUCCESS"), "{}", paid.to_json());
        placed
    }
}

fn amount(minor: i64) -> Amount {
    Amount::from_minor(minor).unwrap()
}

fn order(service: Service, wallet: Wallet, out_trade_no: &str, minor: i64) -> PlaceOrder {
    PlaceOrder::new(service, wallet, out_trade_no, amount(minor), Currency::Hkd, "after-sale test")
}

/// The `return_status` code of a failed call, or a panic naming what came back.
fn api_code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ReturnStatus {
    match result {
        Err(ClientError::Api { code: Some(code), .. }) => code,
        other => panic!("expected an Api error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_paid_order_is_queried_refunded_in_two_parts_and_ends_closed() {
    // Arrange: a paid HKD 1.00 order.
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "LIFE1", 100).await;

    // Act + Assert: the sale is paid.
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(sale.trade_type, Some(TradeType::Sale));
    assert_eq!(sale.transaction_amount, amount(100));
    assert_eq!(sale.out_trade_no, "LIFE1");
    assert_eq!(sale.eft_trade_no, placed.eft_trade_no);
    assert_eq!(sale.user_confirm_key, gw.key);
    assert_eq!(sale.known_currency(), Some(Currency::Hkd));
    assert_eq!(sale.known_wallet(), Some(Wallet::AlipayHk));
    assert_eq!(sale.pay_type.as_deref(), Some("Alipay"));
    assert_eq!(sale.refund_amount, None);
    assert_eq!(sale.trade_time.as_deref().map(str::len), Some(19), "yyyy-MM-dd HH:mm:ss");

    // A partial refund through the wallet's own service.
    let first = Refund::new(&placed, Wallet::AlipayHk, "LIFE1-R1", amount(30)).reason("one item returned");
    let r1 = client.refund(&first).await.unwrap();
    assert_eq!(r1.trade_status, TradeStatus::TradeRefund);
    assert!(!r1.is_pending());
    assert_eq!(r1.out_refund_no, "LIFE1-R1");
    assert_eq!(r1.return_amount, Some(amount(30)));
    assert_eq!(r1.total_fee, Some(amount(100)));
    assert_eq!(r1.wallet.as_deref(), Some("ALIPAYHK"));
    assert_eq!(r1.refund_time.as_deref().map(str::len), Some(14), "yyyyMMddHHmmss");

    // The refund, queried by out_trade_no through service.common.Query.
    let q1 = client
        .query(&Query::refund(OrderRef::out_trade_no("LIFE1"), "LIFE1-R1").via(QueryEndpoint::CommonQuery))
        .await
        .unwrap();
    assert_eq!(q1.trade_type, Some(TradeType::Refund));
    assert_eq!(q1.trade_status, TradeStatus::TradeRefund);
    assert_eq!(q1.transaction_amount, amount(30));
    assert_eq!(q1.original_amount, Some(amount(100)));
    assert_eq!(q1.refund_no.as_deref(), Some("LIFE1-R1"));

    let status = client.refund_status(&RefundStatusQuery::new(&placed, "LIFE1-R1")).await.unwrap();
    assert_eq!(status.refund_status, RefundStatus::Success);
    assert_eq!(status.refund_no, "LIFE1-R1");
    assert_eq!(status.transaction_amount, Some(amount(30)));
    assert_eq!(status.trade_type, Some(TradeType::Refund));

    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeRefund);
    assert_eq!(sale.refund_amount, Some(amount(30)));

    // The rest, through service.common.Refund: the order is fully refunded.
    let rest = Refund::common(OrderRef::out_trade_no("LIFE1"), "LIFE1-R2", amount(70));
    let r2 = client.refund(&rest).await.unwrap();
    assert_eq!(r2.trade_status, TradeStatus::TradeClosed);

    let sale = client.query(&Query::sale(OrderRef::out_trade_no("LIFE1"))).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeClosed);
    assert_eq!(sale.refund_amount, Some(amount(100)));

    // Sending the same refund again (a retry) is answered alike and refunds nothing more.
    let again = client.refund(&rest).await.unwrap();
    assert_eq!(again.out_refund_no, "LIFE1-R2");
    assert_eq!(again.trade_status, TradeStatus::TradeClosed);
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.refund_amount, Some(amount(100)));
}

#[tokio::test]
async fn an_order_of_150000_is_placed_refunded_and_queried_through_the_sdk() {
    // 150000.00 takes nine characters; the wire's amounts take eight, so the
    // SDK sends "150000", and the refunded total comes back as "150000.00".
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "BIG1", 15_000_000).await;
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.transaction_amount, amount(15_000_000));

    let first = client.refund(&Refund::new(&placed, Wallet::AlipayHk, "BIG1-R1", amount(10_000_050))).await.unwrap();
    assert_eq!(first.return_amount, Some(amount(10_000_050)));
    assert_eq!(first.total_fee, Some(amount(15_000_000)));
    let rest = client.refund(&Refund::common(&placed, "BIG1-R2", amount(4_999_950))).await.unwrap();
    assert_eq!(rest.trade_status, TradeStatus::TradeClosed);

    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeClosed);
    assert_eq!(sale.refund_amount, Some(amount(15_000_000)));
    let r1 = client.query(&Query::refund(&placed, "BIG1-R1")).await.unwrap();
    assert_eq!(r1.transaction_amount, amount(10_000_050));
    assert_eq!(r1.original_amount, Some(amount(15_000_000)));
}

#[tokio::test]
async fn refunding_more_than_is_left_is_18_and_a_reused_out_refund_no_is_14() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::OctOnline, Wallet::Oct, "OVER1", 100).await;
    client.refund(&Refund::new(&placed, Wallet::Oct, "OVER1-R1", amount(60))).await.unwrap();

    let over = client.refund(&Refund::new(&placed, Wallet::Oct, "OVER1-R2", amount(41))).await;
    assert_eq!(api_code(over), ReturnStatus::RefundExceedsAmount);

    let reused = client.refund(&Refund::new(&placed, Wallet::Oct, "OVER1-R1", amount(10))).await;
    assert_eq!(api_code(reused), ReturnStatus::DuplicateRefund);

    // Neither refusal moved any money.
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.refund_amount, Some(amount(60)));
    assert_eq!(sale.trade_status, TradeStatus::TradeRefund);
    // Exactly what is left is still refundable.
    let last = client.refund(&Refund::new(&placed, Wallet::Oct, "OVER1-R3", amount(40))).await.unwrap();
    assert_eq!(last.trade_status, TradeStatus::TradeClosed);
}

#[tokio::test]
async fn an_unpaid_order_closes_and_can_no_longer_be_paid_but_a_paid_one_is_54() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let unpaid = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "CLOSE1", 100)).await.unwrap();

    let closed = client.close_order(&CloseOrder::new(&unpaid, Wallet::AlipayHk)).await.unwrap();
    assert_eq!(closed.trade_status, TradeStatus::TradeClosed);
    assert_eq!(closed.out_trade_no, "CLOSE1");
    assert_eq!(closed.trade_type, Some(TradeType::Sale));

    let paid = gw.pay(&unpaid).await;
    assert_eq!(paid.get("trade_status"), Some("TRADE_CLOSED"), "{}", paid.to_json());
    let again = client.close_order(&CloseOrder::common(OrderRef::out_trade_no("CLOSE1"))).await.unwrap();
    assert_eq!(again.trade_status, TradeStatus::TradeClosed, "closing twice is answered alike");
    let q = client.query(&Query::sale(&unpaid)).await.unwrap();
    assert_eq!(q.trade_status, TradeStatus::TradeClosed);

    let placed = gw.paid_order(Service::PaymeWeb, Wallet::Payme, "CLOSE2", 100).await;
    let refused = client.close_order(&CloseOrder::new(&placed, Wallet::Payme)).await;
    assert_eq!(api_code(refused), ReturnStatus::CloseFailedPaid);
    assert_eq!(client.query(&Query::sale(&placed)).await.unwrap().trade_status, TradeStatus::TradeSuccess);
}

#[tokio::test]
async fn the_gateways_refusals_surface_with_their_typed_codes() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let paid = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "ERR1", 100).await;
    let unpaid = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "ERR2", 100)).await.unwrap();
    let nowhere = OrderRef::out_trade_no("NO-SUCH-ORDER");

    assert_eq!(api_code(client.query(&Query::sale(nowhere.clone())).await), ReturnStatus::TradeNotExist);
    assert_eq!(api_code(client.query(&Query::refund(&paid, "NO-SUCH-REFUND")).await), ReturnStatus::TradeNotExist);
    assert_eq!(
        api_code(client.refund_status(&RefundStatusQuery::new(&paid, "NO-SUCH-REFUND")).await),
        ReturnStatus::TradeNotExist
    );
    assert_eq!(
        api_code(client.refund(&Refund::new(nowhere.clone(), Wallet::AlipayHk, "E-R1", amount(1))).await),
        ReturnStatus::RefundOrderNotExist
    );
    assert_eq!(
        api_code(client.refund(&Refund::new(&unpaid, Wallet::AlipayHk, "E-R2", amount(1))).await),
        ReturnStatus::NotPaid
    );
    assert_eq!(
        api_code(client.refund(&Refund::common(&paid, "E-R3", amount(1)).wallet(Wallet::AlipayCn)).await),
        ReturnStatus::WalletRestricted
    );
    assert_eq!(
        api_code(client.refund(&Refund::new(&paid, Wallet::AlipayHk, "E-R4", amount(1)).total_fee(amount(2))).await),
        ReturnStatus::InvalidParameter
    );
    assert_eq!(api_code(client.close_order(&CloseOrder::common(nowhere)).await), ReturnStatus::TradeNotExist);

    client.refund(&Refund::new(&paid, Wallet::AlipayHk, "E-ALL", amount(100))).await.unwrap();
    assert_eq!(
        api_code(client.refund(&Refund::new(&paid, Wallet::AlipayHk, "E-R5", amount(1))).await),
        ReturnStatus::AlreadyPaidOrClosed
    );
}

#[tokio::test]
async fn a_wechat_apply_refund_is_apply_success_then_success_once_the_sandbox_completes_it() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::WechatMobileH5, Wallet::WechatHk, "WX1", 300).await;
    let apply = Refund::new(&placed, Wallet::WechatHk, "WX1-AR1", amount(100)).service(RefundService::WechatWebApply);
    assert_eq!(apply.chosen_service(), Ok(RefundService::WechatWebApply));

    let accepted = client.refund(&apply).await.unwrap();
    assert_eq!(accepted.trade_status, TradeStatus::ApplySuccess);
    assert!(accepted.is_pending());
    let status = RefundStatusQuery::new(&placed, "WX1-AR1");
    assert_eq!(client.refund_status(&status).await.unwrap().refund_status, RefundStatus::Processing);
    let q = client.query(&Query::refund(&placed, "WX1-AR1")).await.unwrap();
    assert_eq!(q.trade_status, TradeStatus::ApplySuccess);

    // The sandbox completes apply-refunds 5 seconds (gateway clock) later,
    // at the sweeper's next step (taken here rather than awaited).
    let moved = gw.sandbox("/sandbox/clock/advance", r#"{"seconds":5}"#).await;
    assert!(moved.get("now").is_some(), "{}", moved.to_json());
    let sweeper = vmp_server::sweeper::Sweeper::new(gw.state.clone(), Default::default());
    sweeper.run_once(gw.state.clock().now()).await.unwrap();
    let done = client.refund_status(&status).await.unwrap();
    assert_eq!(done.refund_status, RefundStatus::Success);
    assert_eq!(done.transaction_amount, Some(amount(100)));
    let q = client.query(&Query::refund(&placed, "WX1-AR1")).await.unwrap();
    assert_eq!(q.trade_status, TradeStatus::TradeRefund);
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.refund_amount, Some(amount(100)));
}

#[tokio::test]
async fn every_wallet_is_refunded_and_closed_through_the_services_the_sdk_picks_for_it() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let mut n = 0;
    for service in Service::ALL.iter().copied() {
        for wallet in service.wallets() {
            n += 1;
            // Paid: refunded through the wallet's own service, payType derived from the wallet.
            let placed = gw.paid_order(service, wallet, &format!("W{n}"), 200).await;
            let refund = Refund::new(&placed, wallet, format!("W{n}-R"), amount(50));
            assert_eq!(
                refund.to_params("K", time::OffsetDateTime::now_utc()).unwrap().get("payType"),
                wallet.pay_type()
            );
            let r = client.refund(&refund).await.unwrap_or_else(|e| panic!("{service} {wallet}: {e}"));
            assert_eq!(r.trade_status, TradeStatus::TradeRefund, "{service} {wallet}");
            assert_eq!(r.pay_type.as_deref(), Some(service.pay_type()), "{service} {wallet}");

            // Unpaid: closed through the wallet's own close service.
            let unpaid = client.place_order(&order(service, wallet, &format!("W{n}-C"), 200)).await.unwrap();
            let c = client
                .close_order(&CloseOrder::new(&unpaid, wallet))
                .await
                .unwrap_or_else(|e| panic!("close {service} {wallet}: {e}"));
            assert_eq!(c.trade_status, TradeStatus::TradeClosed, "{service} {wallet}");
        }
    }
    assert!(n >= 13, "{n} wallets");
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anything_is_sent() {
    // Nothing listens on this port: a request that went out would be a
    // Transport error, not InvalidRequest.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = Client::new(format!("http://{unreachable}"), "KEY1", SecretString::from("s")).unwrap();
    let order = OrderRef::out_trade_no("A1");

    let errors = [
        client.query(&Query::sale(OrderRef::out_trade_no(""))).await.unwrap_err(),
        client.refund_status(&RefundStatusQuery::new(order.clone(), "")).await.unwrap_err(),
        client
            .refund(&Refund::new(order.clone(), Wallet::Oct, "R1", amount(1)).reason("x".repeat(300)))
            .await
            .unwrap_err(),
        client
            .refund(&Refund::new(order.clone(), Wallet::Oct, "R1", amount(1)).service(RefundService::AlipayWap))
            .await
            .unwrap_err(),
        client
            .refund(&Refund::new(order.clone(), Wallet::Oct, "R1", amount(1)).notify_url("https://m.example/n"))
            .await
            .unwrap_err(),
        client.close_order(&CloseOrder::common(OrderRef::eft_trade_no("with space"))).await.unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, ClientError::InvalidRequest(_)), "{err:?}");
    }
    let err = client.refund(&Refund::common(order, "R1", amount(1)).service(RefundService::MpgsWeb)).await;
    assert!(
        matches!(&err, Err(ClientError::InvalidRequest(InvalidRequest::Operation(_)))),
        "a wallet service needs the wallet: {err:?}"
    );
}

/// A fake gateway on both query and JSAPI paths; `answer` builds the reply.
async fn fake_gateway(answer: impl Fn(&Params) -> String + Clone + Send + Sync + 'static) -> String {
    let handler = move |body: String| {
        let answer = answer.clone();
        async move { answer(&Params::from_json(body.as_bytes()).unwrap()) }
    };
    let app = Router::new()
        .route("/VMP/Servlet/JSAPIService.do", post(handler.clone()))
        .route("/VMP/Servlet/QRcodeTradeQuery.do", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A plausible signed answer echoing the request's numbers.
fn echo_answer(secret: &str, req: &Params, tweak: impl Fn(&mut Params)) -> String {
    let mut a = Params::new()
        .with("return_status", "00")
        .with("return_char", "")
        .with("user_confirm_key", req.get("user_confirm_key").unwrap())
        .with("out_trade_no", req.get("out_trade_no").unwrap_or("A1"))
        .with("eft_trade_no", req.get("eft_trade_no").unwrap_or("0100000000000001"))
        .with("trade_status", "TRADE_REFUND")
        .with("trade_type", "SALE")
        .with("transaction_amount", "1.00")
        .with("refund_status", "SUCCESS")
        .with("time", req.get("time").unwrap());
    for name in ["out_refund_no", "refund_no"] {
        if let Some(v) = req.get(name) {
            a.set(name, v);
        }
    }
    tweak(&mut a);
    sign::sign_in_place(secret, &mut a);
    a.to_json()
}

#[tokio::test]
async fn answers_that_are_forged_or_about_something_else_are_rejected() {
    let order = OrderRef::out_trade_no("A1");
    let refund = Refund::new(order.clone(), Wallet::Oct, "R1", amount(1));

    let base = fake_gateway(|req| echo_answer("s3cret", req, |_| {})).await;
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();
    client.refund(&refund).await.unwrap();
    client.query(&Query::sale(order.clone())).await.unwrap();
    client.refund_status(&RefundStatusQuery::new(order.clone(), "R1")).await.unwrap();

    let forged = fake_gateway(|req| echo_answer("someone-else", req, |_| {})).await;
    let client = Client::new(&forged, "KEY1", SecretString::from("s3cret")).unwrap();
    assert!(matches!(client.refund(&refund).await, Err(ClientError::BadAnswerSignature(_))));
    assert!(matches!(client.query(&Query::sale(order.clone())).await, Err(ClientError::BadAnswerSignature(_))));

    let elsewhere = fake_gateway(|req| {
        echo_answer("s3cret", req, |a| {
            a.set("out_refund_no", "R-OTHER").set("refund_no", "R-OTHER").set("out_trade_no", "A-OTHER");
        })
    })
    .await;
    let client = Client::new(&elsewhere, "KEY1", SecretString::from("s3cret")).unwrap();
    assert!(matches!(client.refund(&refund).await, Err(ClientError::Decode { .. })));
    assert!(matches!(client.query(&Query::sale(order.clone())).await, Err(ClientError::Decode { .. })));
    assert!(matches!(
        client.refund_status(&RefundStatusQuery::new(order.clone(), "R1")).await,
        Err(ClientError::Decode { .. })
    ));
    assert!(matches!(client.close_order(&CloseOrder::common(order)).await, Err(ClientError::Decode { .. })));
}
