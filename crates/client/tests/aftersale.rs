//! Query, refund, refund status and close through the SDK, against the real
//! gateway spawned in-process on 127.0.0.1:0 (orders are paid with the
//! sandbox HTTP API), plus a fake gateway for answers the real one never
//! gives.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.

use axum::Router;
use axum::routing::post;
use vmp_client::{
    Amount, Client, ClientError, CloseOrder, Currency, OrderPlaced, Params, PayType, PlaceOrder, Query, Refund,
    RefundBuilder, RefundStatus, RefundStatusQuery, Request, RequestError, ReturnStatus, SecretString, Service,
    TradeRef, TradeStatus, TradeType, Wallet,
};
use vmp_protocol::amount::WireAmount;
use vmp_protocol::sign;

mod support;
use support::Gateway;

impl Gateway {
    /// Places an order of `minor` units and pays it.
    async fn paid_order(&self, service: Service, wallet: Wallet, out_trade_no: &str, minor: i64) -> OrderPlaced {
        let placed = self.client().place_order(&order(service, wallet, out_trade_no, minor)).await.unwrap();
        let paid = self.pay(placed.eft_trade_no.as_str()).await;
        assert_eq!(paid.get("trade_status"), Some("TRADE_SUCCESS"), "{}", paid.to_json());
        placed
    }
}

fn amount(minor: i64) -> Amount {
    Amount::from_minor(minor).unwrap()
}

/// An answer's optional amount, by value (the text may be `1` or `1.00`).
fn value(a: &Option<WireAmount>) -> Option<Amount> {
    a.as_ref().map(WireAmount::value)
}

fn order(service: Service, wallet: Wallet, out_trade_no: &str, minor: i64) -> PlaceOrder {
    PlaceOrder::builder(service)
        .wallet(wallet)
        .out_trade_no(out_trade_no)
        .amount(amount(minor))
        .currency(Currency::Hkd)
        .subject("after-sale test")
        .build()
        .unwrap()
}

/// A refund of `minor` units of `order` numbered `out_refund_no`, before
/// its wallet or service is chosen.
fn refund(order: impl Into<TradeRef>, out_refund_no: &str, minor: i64) -> RefundBuilder {
    Refund::builder(order).out_refund_no(out_refund_no).amount(amount(minor))
}

/// The order by the merchant's number.
fn out(no: &str) -> TradeRef {
    TradeRef::out_trade_no(no).unwrap()
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
    let first = refund(&placed, "LIFE1-R1", 30).wallet(Wallet::AlipayHk).reason("one item returned").build().unwrap();
    assert_eq!(first.service, Service::AlipayWapRefund);
    let r1 = client.refund(&first).await.unwrap();
    assert_eq!(r1.trade_status, TradeStatus::TradeRefund);
    assert!(!r1.is_pending());
    assert_eq!(r1.out_refund_no, "LIFE1-R1");
    assert_eq!(value(&r1.return_amount), Some(amount(30)));
    assert_eq!(value(&r1.total_fee), Some(amount(100)), "none sent: the order's amount");
    assert_eq!(r1.wallet.as_deref(), Some("ALIPAYHK"));
    assert_eq!(r1.refund_time.as_deref().map(str::len), Some(14), "yyyyMMddHHmmss");

    // The refund, queried by out_trade_no through service.common.Query.
    let q1 = client.query(&Query::refund(out("LIFE1"), "LIFE1-R1").unwrap().via(Service::CommonQuery)).await.unwrap();
    assert_eq!(q1.trade_type, Some(TradeType::Refund));
    assert_eq!(q1.trade_status, TradeStatus::TradeRefund);
    assert_eq!(q1.transaction_amount, amount(30));
    assert_eq!(value(&q1.original_amount), Some(amount(100)));
    assert_eq!(q1.refund_no.as_deref(), Some("LIFE1-R1"));

    let status = client.refund_status(&RefundStatusQuery::new(&placed, "LIFE1-R1").unwrap()).await.unwrap();
    assert_eq!(status.refund_status, RefundStatus::Success);
    assert_eq!(status.refund_no, "LIFE1-R1");
    assert_eq!(value(&status.transaction_amount), Some(amount(30)));
    assert_eq!(status.trade_type, Some(TradeType::Refund));

    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeRefund);
    assert_eq!(value(&sale.refund_amount), Some(amount(30)));

    // The rest, through service.common.Refund: the order is fully refunded.
    let rest = refund(out("LIFE1"), "LIFE1-R2", 70).build().unwrap();
    assert_eq!(rest.service, Service::CommonRefund);
    let r2 = client.refund(&rest).await.unwrap();
    assert_eq!(r2.trade_status, TradeStatus::TradeClosed);

    let sale = client.query(&Query::sale(out("LIFE1"))).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeClosed);
    assert_eq!(value(&sale.refund_amount), Some(amount(100)));

    // Sending the same refund again (a retry) is answered alike and refunds nothing more.
    let again = client.refund(&rest).await.unwrap();
    assert_eq!(again.out_refund_no, "LIFE1-R2");
    assert_eq!(again.trade_status, TradeStatus::TradeClosed);
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(value(&sale.refund_amount), Some(amount(100)));
}

#[tokio::test]
async fn an_order_of_150000_is_placed_refunded_and_queried_through_the_sdk() {
    // 150000.00 takes nine characters; the wire's amounts take eight, so the
    // SDK sends "150000", and the refunded total comes back as "150000.00".
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "BIG1", 15_000_000).await;
    assert_eq!(placed.transaction_amount.as_deref(), Some("150000"));
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.transaction_amount, amount(15_000_000));

    let first = refund(&placed, "BIG1-R1", 10_000_050).wallet(Wallet::AlipayHk).build().unwrap();
    let first = client.refund(&first).await.unwrap();
    assert_eq!(value(&first.return_amount), Some(amount(10_000_050)));
    assert_eq!(value(&first.total_fee), Some(amount(15_000_000)));
    let rest = client.refund(&refund(&placed, "BIG1-R2", 4_999_950).build().unwrap()).await.unwrap();
    assert_eq!(rest.trade_status, TradeStatus::TradeClosed);

    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(sale.trade_status, TradeStatus::TradeClosed);
    assert_eq!(value(&sale.refund_amount), Some(amount(15_000_000)));
    assert_eq!(sale.refund_amount.as_ref().map(WireAmount::as_str), Some("150000.00"));
    let r1 = client.query(&Query::refund(&placed, "BIG1-R1").unwrap()).await.unwrap();
    assert_eq!(r1.transaction_amount, amount(10_000_050));
    assert_eq!(value(&r1.original_amount), Some(amount(15_000_000)));
}

#[tokio::test]
async fn refunding_more_than_is_left_is_18_and_a_reused_out_refund_no_is_14() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::OctOnline, Wallet::Oct, "OVER1", 100).await;
    let oct = |no: &str, minor| refund(&placed, no, minor).wallet(Wallet::Oct).build().unwrap();
    client.refund(&oct("OVER1-R1", 60)).await.unwrap();

    let over = client.refund(&oct("OVER1-R2", 41)).await;
    assert_eq!(api_code(over), ReturnStatus::RefundExceedsAmount);

    let reused = client.refund(&oct("OVER1-R1", 10)).await;
    assert_eq!(api_code(reused), ReturnStatus::DuplicateRefund);

    // Neither refusal moved any money.
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(value(&sale.refund_amount), Some(amount(60)));
    assert_eq!(sale.trade_status, TradeStatus::TradeRefund);
    // Exactly what is left is still refundable.
    let last = client.refund(&oct("OVER1-R3", 40)).await.unwrap();
    assert_eq!(last.trade_status, TradeStatus::TradeClosed);
}

#[tokio::test]
async fn an_unpaid_order_closes_and_can_no_longer_be_paid_but_a_paid_one_is_54() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let unpaid = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "CLOSE1", 100)).await.unwrap();

    let close = CloseOrder::new(&unpaid).wallet(Wallet::AlipayHk);
    assert_eq!(close.service, Service::AlipayWapClose);
    let closed = client.close_order(&close).await.unwrap();
    assert_eq!(closed.trade_status, TradeStatus::TradeClosed);
    assert_eq!(closed.out_trade_no, "CLOSE1");
    assert_eq!(closed.trade_type, Some(TradeType::Sale));

    let paid = gw.pay(unpaid.eft_trade_no.as_str()).await;
    assert_eq!(paid.get("trade_status"), Some("TRADE_CLOSED"), "{}", paid.to_json());
    let again = client.close_order(&CloseOrder::new(out("CLOSE1"))).await.unwrap();
    assert_eq!(again.trade_status, TradeStatus::TradeClosed, "closing twice is answered alike");
    let q = client.query(&Query::sale(&unpaid)).await.unwrap();
    assert_eq!(q.trade_status, TradeStatus::TradeClosed);

    let placed = gw.paid_order(Service::PaymeWeb, Wallet::Payme, "CLOSE2", 100).await;
    let refused = client.close_order(&CloseOrder::new(&placed).wallet(Wallet::Payme)).await;
    assert_eq!(api_code(refused), ReturnStatus::CloseFailedPaid);
    assert_eq!(client.query(&Query::sale(&placed)).await.unwrap().trade_status, TradeStatus::TradeSuccess);
}

#[tokio::test]
async fn the_gateways_refusals_surface_with_their_typed_codes() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let paid = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "ERR1", 100).await;
    let unpaid = client.place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "ERR2", 100)).await.unwrap();
    let nowhere = out("NO-SUCH-ORDER");
    let alipay_hk = |order: &OrderPlaced, no: &str| refund(order, no, 1).wallet(Wallet::AlipayHk).build().unwrap();

    assert_eq!(api_code(client.query(&Query::sale(&nowhere)).await), ReturnStatus::TradeNotExist);
    assert_eq!(
        api_code(client.query(&Query::refund(&paid, "NO-SUCH-REFUND").unwrap()).await),
        ReturnStatus::TradeNotExist
    );
    assert_eq!(
        api_code(client.refund_status(&RefundStatusQuery::new(&paid, "NO-SUCH-REFUND").unwrap()).await),
        ReturnStatus::TradeNotExist
    );
    assert_eq!(
        api_code(client.refund(&refund(&nowhere, "E-R1", 1).wallet(Wallet::AlipayHk).build().unwrap()).await),
        ReturnStatus::RefundOrderNotExist
    );
    assert_eq!(api_code(client.refund(&alipay_hk(&unpaid, "E-R2")).await), ReturnStatus::NotPaid);
    // A wallet of another family: the common service takes any wallet, the
    // gateway then finds it is not the order's.
    let wechat = refund(&paid, "E-R3", 1).wallet(Wallet::WechatHk).service(Service::CommonRefund).build().unwrap();
    let err = client.refund(&wechat).await.unwrap_err();
    assert_eq!(err.api_code(), Some(ReturnStatus::WalletRestricted), "{err}");
    assert_eq!(api_code(client.close_order(&CloseOrder::new(&nowhere)).await), ReturnStatus::TradeNotExist);

    client.refund(&refund(&paid, "E-ALL", 100).wallet(Wallet::AlipayHk).build().unwrap()).await.unwrap();
    assert_eq!(api_code(client.refund(&alipay_hk(&paid, "E-R5")).await), ReturnStatus::AlreadyPaidOrClosed);
}

#[tokio::test]
async fn a_refund_takes_another_wallet_of_the_orders_family() {
    // eftPay's batch refunds send ALIPAYHK for every Alipay order; this was
    // refused with -16 for an ALIPAYHK order refunded as ALIPAYCN.
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "FAM1", 100).await;

    let common =
        refund(&placed, "FAM1-R1", 10).wallet(Wallet::AlipayCn).service(Service::CommonRefund).build().unwrap();
    let own = refund(&placed, "FAM1-R2", 20).wallet(Wallet::AlipayCn).build().unwrap();
    assert_eq!(own.service, Service::AlipayWapRefund);

    for r in [common, own] {
        let answer = client.refund(&r).await.unwrap_or_else(|e| panic!("{}: {e}", r.service));
        assert_eq!(answer.trade_status, TradeStatus::TradeRefund, "{}", r.service);
        assert_eq!(answer.wallet.as_deref(), Some("ALIPAYHK"), "the order's wallet, whatever was sent");
    }
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(value(&sale.refund_amount), Some(amount(30)));
}

#[tokio::test]
async fn a_refunds_total_fee_is_echoed_as_sent_and_never_compared_with_the_order() {
    // Real clients send the refund amount in total_fee, others the order's
    // amount; eftPay takes both. This used to be refused with -13.
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::AlipayWap, Wallet::AlipayHk, "FEE1", 100).await;

    let r = refund(&placed, "FEE1-R1", 1).wallet(Wallet::AlipayHk).total_fee(amount(2)).build().unwrap();
    let answer = client.refund(&r).await.unwrap();

    assert_eq!(answer.trade_status, TradeStatus::TradeRefund);
    assert_eq!(answer.total_fee.as_ref().map(WireAmount::as_str), Some("0.02"));
    assert_eq!(value(&answer.return_amount), Some(amount(1)));
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(value(&sale.refund_amount), Some(amount(1)), "only return_amount is refunded");
}

#[tokio::test]
async fn a_refund_through_a_wallets_own_service_needs_no_wallet_and_a_plain_one_takes_a_notify_url() {
    // Both were refused before sending: a wallet service without the
    // wallet, and notify_url on a refund that is no apply-refund.
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::MpgsWeb, Wallet::Mpgs, "OWN1", 100).await;

    let no_wallet = refund(&placed, "OWN1-R1", 10).service(Service::MpgsWebRefund).build().unwrap();
    assert_eq!(no_wallet.wallet, None);
    let with_url =
        refund(&placed, "OWN1-R2", 10).wallet(Wallet::Mpgs).notify_url("https://m.example/n").build().unwrap();
    assert!(!with_url.is_apply());

    for r in [no_wallet, with_url] {
        let answer = client.refund(&r).await.unwrap_or_else(|e| panic!("{}: {e}", r.out_refund_no));
        assert_eq!(answer.trade_status, TradeStatus::TradeRefund, "{}", r.out_refund_no);
        assert_eq!(answer.wallet.as_deref(), Some("MPGS"));
    }
}

#[tokio::test]
async fn a_wechat_apply_refund_is_apply_success_then_success_once_the_sandbox_completes_it() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let placed = gw.paid_order(Service::WechatMobileH5, Wallet::WechatHk, "WX1", 300).await;
    let apply = refund(&placed, "WX1-AR1", 100).wallet(Wallet::WechatHk).apply().build().unwrap();
    assert_eq!(apply.service, Service::WechatWebApplyRefund);
    assert!(apply.is_apply());

    let accepted = client.refund(&apply).await.unwrap();
    assert_eq!(accepted.trade_status, TradeStatus::ApplySuccess);
    assert!(accepted.is_pending());
    let status = RefundStatusQuery::new(&placed, "WX1-AR1").unwrap();
    assert_eq!(client.refund_status(&status).await.unwrap().refund_status, RefundStatus::Processing);
    let q = client.query(&Query::refund(&placed, "WX1-AR1").unwrap()).await.unwrap();
    assert_eq!(q.trade_status, TradeStatus::ApplySuccess);

    // The sandbox completes apply-refunds 5 seconds (gateway clock) later,
    // at the sweeper's next step (taken here rather than awaited).
    let moved = gw.sandbox("/sandbox/clock/advance", r#"{"seconds":5}"#).await;
    assert!(moved.get("now").is_some(), "{}", moved.to_json());
    let sweeper = vmp_server::sweeper::Sweeper::new(gw.state.clone(), Default::default());
    sweeper.run_once(gw.state.clock().now()).await.unwrap();
    let done = client.refund_status(&status).await.unwrap();
    assert_eq!(done.refund_status, RefundStatus::Success);
    assert_eq!(value(&done.transaction_amount), Some(amount(100)));
    let q = client.query(&Query::refund(&placed, "WX1-AR1").unwrap()).await.unwrap();
    assert_eq!(q.trade_status, TradeStatus::TradeRefund);
    let sale = client.query(&Query::sale(&placed)).await.unwrap();
    assert_eq!(value(&sale.refund_amount), Some(amount(100)));
}

#[tokio::test]
async fn every_wallet_is_refunded_and_closed_through_the_services_the_sdk_picks_for_it() {
    let gw = Gateway::start().await;
    let client = gw.client();
    let mut n = 0;
    for service in Service::web_sales() {
        let spec = service.spec();
        for wallet in spec.wallets.iter().copied() {
            n += 1;
            // Paid: refunded through the service the SDK picks for the wallet.
            let placed = gw.paid_order(service, wallet, &format!("W{n}"), 200).await;
            let r = refund(&placed, &format!("W{n}-R"), 50).wallet(wallet).build().unwrap();
            let sent = Request::Refund(r.clone()).to_params();
            assert_eq!(sent.get("service"), Some(r.service.label()), "{service} {wallet}");
            assert_eq!(sent.get("wallet"), Some(wallet.as_str()), "{service} {wallet}");
            let answer =
                client.refund(&r).await.unwrap_or_else(|e| panic!("{service} {wallet} via {}: {e}", r.service));
            assert_eq!(answer.trade_status, TradeStatus::TradeRefund, "{service} {wallet}");
            assert_eq!(answer.pay_type.as_deref(), spec.pay_type().map(PayType::as_str), "{service} {wallet}");

            // Unpaid: closed through the close service the SDK picks for the wallet.
            let unpaid = client.place_order(&order(service, wallet, &format!("W{n}-C"), 200)).await.unwrap();
            let close = CloseOrder::new(&unpaid).wallet(wallet);
            let c = client
                .close_order(&close)
                .await
                .unwrap_or_else(|e| panic!("close {service} {wallet} via {}: {e}", close.service));
            assert_eq!(c.trade_status, TradeStatus::TradeClosed, "{service} {wallet}");
        }
    }
    assert!(n >= 13, "{n} wallets");
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anything_is_sent() {
    // Nothing listens on this port: a request that went out would be a
    // Transport error, not a refusal.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = Client::new(format!("http://{unreachable}"), "KEY1", SecretString::from("s")).unwrap();
    let order = out("A1");
    let refund_of = |no: &str| refund(&order, no, 1);

    let cases: Vec<(&str, Result<Request, RequestError>)> = vec![
        ("out_trade_no", TradeRef::out_trade_no("has space").map(|o| Request::Query(Query::sale(o)))),
        ("eft_trade_no", TradeRef::eft_trade_no("with space").map(|o| Request::Close(CloseOrder::new(o)))),
        ("refund_no", RefundStatusQuery::new(&order, "has space").map(Request::RefundStatus)),
        ("refund_no", Query::refund(&order, "x".repeat(29).as_str()).map(Request::Query)),
        ("out_refund_no", Refund::builder(&order).amount(amount(1)).build().map(Request::Refund)),
        ("return_amount", refund_of("R1").amount(amount(123_456_789)).build().map(Request::Refund)),
        ("reason", refund_of("R1").wallet(Wallet::Oct).reason("x".repeat(300)).build().map(Request::Refund)),
        ("wallet", refund_of("R1").wallet(Wallet::Oct).service(Service::AlipayWapRefund).build().map(Request::Refund)),
        ("notify_url", refund_of("R1").notify_url("ftp://m.example/n").build().map(Request::Refund)),
        ("service", refund_of("R1").service(Service::AlipayWap).build().map(Request::Refund)),
    ];
    for (field, request) in cases {
        // What a merchant's code does: build, then send; `?` turns the
        // refusal into a ClientError.
        let sent = async { client.send(&request?).await }.await;
        let err = sent.unwrap_err();
        let ClientError::Request(refusal) = &err else { panic!("{field}: expected a refusal, got {err:?}") };
        assert_eq!(refusal.field(), field, "{refusal}");
        assert!(err.to_string().contains(field), "{field}: {err}");
        if refusal.return_status() == ReturnStatus::InvalidParameter {
            assert!(refusal.return_char().contains(field), "{field}: {}", refusal.return_char());
        }
    }
}

#[tokio::test]
async fn an_empty_order_or_refund_number_is_refused_before_anything_is_sent() {
    // The gateway counts an empty number as not sent (-13), so an empty one
    // must never leave the SDK; the old SDK refused all four.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = Client::new(format!("http://{unreachable}"), "KEY1", SecretString::from("s")).unwrap();
    let order = out("A1");

    let cases: Vec<(&str, Result<Request, RequestError>)> = vec![
        ("out_trade_no", TradeRef::out_trade_no("").map(|o| Request::Query(Query::sale(o)))),
        ("eft_trade_no", TradeRef::eft_trade_no("").map(|o| Request::Close(CloseOrder::new(o)))),
        ("refund_no", RefundStatusQuery::new(&order, "").map(Request::RefundStatus)),
        ("refund_no", Query::refund(&order, "").map(Request::Query)),
    ];
    for (field, request) in cases {
        let err = async { client.send(&request?).await }.await.unwrap_err();
        assert!(matches!(&err, ClientError::Request(r) if r.field() == field), "{field}: {err:?}");
    }
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
    let order = out("A1");
    let refund_r1 = refund(&order, "R1", 1).wallet(Wallet::Oct).build().unwrap();
    let status = RefundStatusQuery::new(&order, "R1").unwrap();

    let base = fake_gateway(|req| echo_answer("s3cret", req, |_| {})).await;
    let client = Client::new(&base, "KEY1", SecretString::from("s3cret")).unwrap();
    client.refund(&refund_r1).await.unwrap();
    client.query(&Query::sale(&order)).await.unwrap();
    client.refund_status(&status).await.unwrap();

    let forged = fake_gateway(|req| echo_answer("someone-else", req, |_| {})).await;
    let client = Client::new(&forged, "KEY1", SecretString::from("s3cret")).unwrap();
    assert!(matches!(client.refund(&refund_r1).await, Err(ClientError::BadAnswerSignature(_))));
    assert!(matches!(client.query(&Query::sale(&order)).await, Err(ClientError::BadAnswerSignature(_))));

    let elsewhere = fake_gateway(|req| {
        echo_answer("s3cret", req, |a| {
            a.set("out_refund_no", "R-OTHER").set("refund_no", "R-OTHER").set("out_trade_no", "A-OTHER");
        })
    })
    .await;
    let client = Client::new(&elsewhere, "KEY1", SecretString::from("s3cret")).unwrap();
    assert!(matches!(client.refund(&refund_r1).await, Err(ClientError::Decode { .. })));
    assert!(matches!(client.query(&Query::sale(&order)).await, Err(ClientError::Decode { .. })));
    assert!(matches!(client.refund_status(&status).await, Err(ClientError::Decode { .. })));
    assert!(matches!(client.close_order(&CloseOrder::new(&order)).await, Err(ClientError::Decode { .. })));
}

#[tokio::test]
async fn a_client_following_the_sandbox_clock_stays_in_the_time_window_after_the_clock_moves() {
    use vmp_client::sandbox::Sandbox;
    // Arrange
    let gw = Gateway::start().await;
    let placed = gw.client().place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "CLOCK-1", 100)).await.unwrap();
    let moved = Sandbox::new(&gw.base_url).unwrap().advance(2 * 3600).await.unwrap();
    let query = Query::sale(&placed);

    // Act
    let own_clock = gw.client().query(&query).await;
    let following = gw.client().with_sandbox_clock().unwrap();
    let followed = following.query(&query).await;

    // Assert
    assert_eq!(own_clock.unwrap_err().api_code(), Some(ReturnStatus::TimeMismatch));
    assert_eq!(followed.unwrap().trade_status, TradeStatus::TradeClosed, "expired on the moved clock");
    let drift = (following.now() - moved).whole_seconds().abs();
    assert!(drift <= 5, "the client's time is the gateway's: {drift} s apart");
}

#[tokio::test]
async fn the_sandbox_api_settles_by_either_number_sets_faults_and_reports_refusals() {
    use vmp_client::sandbox::{Outcome, Sandbox, SandboxOrder};
    use vmp_protocol::faults::FaultRule;
    let gw = Gateway::start().await;
    let sandbox = Sandbox::new(&gw.base_url).unwrap();
    let placed = gw.client().place_order(&order(Service::AlipayWap, Wallet::AlipayHk, "SBX-1", 100)).await.unwrap();

    let settled = sandbox.pay(&SandboxOrder::out_trade_no(&gw.key, "SBX-1"), Outcome::Success).await.unwrap();
    let again =
        sandbox.pay(&SandboxOrder::eft_trade_no(placed.eft_trade_no.as_str()), Outcome::Fail).await.unwrap_err();
    let rule = FaultRule::from_json(br#"{"operation":"refund","return_status":"-1","count":1}"#).unwrap();
    let stored = sandbox.add_fault(&gw.key, &rule).await.unwrap();
    let listed = sandbox.faults(&gw.key).await.unwrap();
    let refund = Refund::builder(&placed).out_refund_no("SBX-R1").amount(amount(10)).build().unwrap();
    let faulted = gw.client().refund(&refund).await.unwrap_err();
    let refunded = gw.client().refund(&refund).await.unwrap();
    let unknown = sandbox.clear_faults(&gw.key, stored.id).await.unwrap_err();

    assert_eq!((settled.result.as_str(), settled.trade_status.as_str()), ("settled", "TRADE_SUCCESS"));
    assert!(
        matches!(&again, ClientError::SandboxRefused { status: 409, message } if message.contains("TRADE_SUCCESS")),
        "{again:?}"
    );
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].remaining), (stored.id, Some(1)));
    assert_eq!(faulted.api_code(), Some(ReturnStatus::SystemError));
    assert_eq!(refunded.out_refund_no, "SBX-R1");
    assert!(
        matches!(unknown, ClientError::SandboxRefused { status: 404, .. }),
        "the used-up rule is gone: {unknown:?}"
    );
}
