//! The hosted cashier (`service.united.wap.PreOrder`): its `pay_apptrade`
//! link shows, until the buyer chooses, the wallets the cashier offers
//! ([`Service::cashier_wallets`]; no per-merchant configuration yet). The
//! choice is POSTed to [`CASHIER_PATH`] with the link's token, recorded
//! once (`scenes::cashier::choose`), and the browser goes back to the same
//! link, which now shows that wallet's page.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use vmp_protocol::{Service, Wallet};

use super::pages::{self, LinkFields, PageKind, Texts, pick, texts_for};
use super::pay_page::{error_page, linked_order, not_found};
use crate::domain::{ChoiceRefusal, Order};
use crate::html::escape;
use crate::paylink::PAY_PAGE_PATH;
use crate::state::AppState;

/// Where the cashier page POSTs the buyer's wallet.
pub(crate) const CASHIER_PATH: &str = "/VMP/wap/cashier";

#[derive(Debug, Deserialize)]
pub(crate) struct ChooseForm {
    userkey: Option<String>,
    #[serde(rename = "outTradeNo")]
    out_trade_no: Option<String>,
    sign: Option<String>,
    wallet: Option<String>,
}

/// What the cashier calls each wallet, `[en, cn, hk]`.
fn label(wallet: Wallet) -> [&'static str; 3] {
    match wallet {
        Wallet::AlipayCn => ["Alipay (mainland)", "支付宝（内地）", "支付寶（內地）"],
        Wallet::AlipayHk => ["AlipayHK", "支付宝香港", "支付寶香港"],
        Wallet::WechatCn => ["WeChat Pay (mainland)", "微信支付（内地）", "微信支付（內地）"],
        Wallet::WechatHk => ["WeChat Pay HK", "微信支付香港", "微信支付香港"],
        Wallet::IcbcWap => ["ICBC", "中国工商银行", "中國工商銀行"],
        Wallet::UnionPay => ["UnionPay", "银联", "銀聯"],
        Wallet::Oct => ["Octopus", "八达通", "八達通"],
        Wallet::Mpgs => ["Visa / Mastercard"; 3],
        Wallet::Ae => ["American Express", "美国运通", "美國運通"],
        Wallet::Payme => ["PayMe"; 3],
        Wallet::BocVmpUpi => ["BOCPay"; 3],
        Wallet::BocPayUpi => ["BOCPay (UnionPay)", "BOCPay（银联）", "BOCPay（銀聯）"],
        Wallet::JetcoHk => ["JETCO", "银通 JETCO", "銀通 JETCO"],
        other => [other.as_str(); 3],
    }
}

/// The cashier page of a pending order without a wallet: one button per
/// wallet (`#wallet-ALIPAYHK`, …), and a cancel.
pub(crate) fn page(o: &Order, t: &Texts, link: &LinkFields<'_>, now: OffsetDateTime) -> String {
    let kind = PageKind::Cashier;
    let brand = kind.brand();
    let hidden = link.hidden();
    let mut body = format!("<p id=\"intro\">{}</p>", t.intro_cashier);
    body.push_str(&pages::details(o, t, Some(now)));
    body.push_str(&format!("<form id=\"wallets\" method=\"post\" action=\"{CASHIER_PATH}\">{hidden}"));
    for w in Service::cashier_wallets() {
        body.push_str(&format!(
            "<button class=\"wallet\" id=\"wallet-{code}\" name=\"wallet\" value=\"{code}\">{label}</button>",
            code = w.as_str(),
            label = escape(pick(t, label(w))),
        ));
    }
    body.push_str(&format!(
        "</form><form method=\"post\" action=\"{action}\">{hidden}\
         <button id=\"cancel\" name=\"outcome\" value=\"cancel\">{cancel}</button></form>",
        action = escape(link.action),
        cancel = t.cancel,
    ));
    body.push_str(&format!("<p class=\"note\">{}</p>", t.sandbox));
    pages::shell(kind.name(), brand.name(t), brand.palette, t, &body)
}

/// `POST /VMP/wap/cashier`: records the buyer's wallet and sends the
/// browser back to the order's link (`303`).
pub(crate) async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ChooseForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(StatusCode::BAD_REQUEST, texts_for(None, &headers), |t| t.malformed_form);
    };
    let (order, sign) = match linked_order(&state, &headers, f.userkey, f.out_trade_no, f.sign).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = texts_for(order.lang.as_deref(), &headers);
    let Some(wallet) = f.wallet.as_deref().and_then(Wallet::parse) else {
        return error_page(StatusCode::BAD_REQUEST, t, |t| t.unknown_wallet);
    };
    let order = match crate::scenes::cashier::choose(&state, &order, wallet).await {
        Ok(Ok(o)) => o,
        Ok(Err(ChoiceRefusal::NotCashier)) => return not_found(&headers),
        Ok(Err(_)) => return error_page(StatusCode::BAD_REQUEST, t, |t| t.wallet_not_offered),
        Err(e) => {
            tracing::error!(error.message = %e, "cashier choice failed");
            return error_page(StatusCode::SERVICE_UNAVAILABLE, t, |t| t.retry);
        }
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("userkey", order.user_confirm_key.as_str())
        .append_pair("outTradeNo", order.out_trade_no.as_str())
        .append_pair("sign", &sign)
        .finish();
    Redirect::to(&format!("{PAY_PAGE_PATH}?{query}")).into_response()
}
