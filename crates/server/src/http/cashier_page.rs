//! The hosted cashier (`service.united.wap.PreOrder`): its `pay_apptrade`
//! link shows, until the buyer chooses, the wallets the cashier offers
//! ([`Service::cashier_wallets`]; no per-merchant configuration yet). The
//! choice is POSTed to [`CASHIER_PATH`] with the link's token, recorded
//! once (`scenes::cashier::choose`), and the browser goes back to the same
//! link, which now shows that wallet's page.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use vmp_protocol::{Service, Wallet};

use super::pages::{self, LinkFields, PageKind};
use super::pay_page::{linked_order, not_found};
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

/// What the cashier calls each wallet.
fn label(wallet: Wallet) -> &'static str {
    match wallet {
        Wallet::AlipayCn => "Alipay (mainland)",
        Wallet::AlipayHk => "AlipayHK",
        Wallet::WechatCn => "WeChat Pay (mainland)",
        Wallet::WechatHk => "WeChat Pay HK",
        Wallet::IcbcWap => "ICBC",
        Wallet::UnionPay => "UnionPay",
        Wallet::Oct => "Octopus",
        Wallet::Mpgs => "Visa / Mastercard",
        Wallet::Ae => "American Express",
        Wallet::Payme => "PayMe",
        Wallet::BocVmpUpi => "BOCPay",
        Wallet::BocPayUpi => "BOCPay (UnionPay)",
        Wallet::JetcoHk => "JETCO",
        other => other.as_str(),
    }
}

/// The cashier page of a pending order without a wallet: one button per
/// wallet (`#wallet-ALIPAYHK`, …), and a cancel.
pub(crate) fn page(o: &Order, link: &LinkFields<'_>, now: OffsetDateTime) -> String {
    let kind = PageKind::Cashier;
    let (brand, color) = kind.brand();
    let t = pages::texts(None);
    let hidden = format!(
        "<input type=\"hidden\" name=\"userkey\" value=\"{uk}\"><input type=\"hidden\" name=\"outTradeNo\" value=\"{out}\">\
         <input type=\"hidden\" name=\"sign\" value=\"{sign}\">",
        uk = escape(link.userkey),
        out = escape(link.out_trade_no),
        sign = escape(link.sign),
    );
    let mut body = String::from("<p id=\"intro\">Choose how to pay.</p>");
    body.push_str(&pages::details(o, t, Some(now)));
    body.push_str(&format!("<form id=\"wallets\" method=\"post\" action=\"{CASHIER_PATH}\">{hidden}"));
    for w in Service::cashier_wallets() {
        body.push_str(&format!(
            "<button class=\"wallet\" id=\"wallet-{code}\" name=\"wallet\" value=\"{code}\" \
             style=\"background:#eef3fb;text-align:left\">{label}</button>",
            code = w.as_str(),
            label = escape(label(w)),
        ));
    }
    body.push_str(&format!(
        "</form><form method=\"post\" action=\"{action}\">{hidden}\
         <button id=\"cancel\" name=\"outcome\" value=\"cancel\">{cancel}</button></form>",
        action = escape(link.action),
        cancel = t.cancel,
    ));
    body.push_str(&format!("<p class=\"note\">{}</p>", t.sandbox));
    pages::shell(kind.name(), brand, color, t.lang, &body)
}

/// `POST /VMP/wap/cashier`: records the buyer's wallet and sends the
/// browser back to the order's link (`303`).
pub(crate) async fn choose(State(state): State<AppState>, form: Result<Form<ChooseForm>, FormRejection>) -> Response {
    let Ok(Form(f)) = form else { return (StatusCode::BAD_REQUEST, Html("<p>Malformed form.</p>")).into_response() };
    let (order, sign) = match linked_order(&state, f.userkey, f.out_trade_no, f.sign).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(wallet) = f.wallet.as_deref().and_then(Wallet::parse) else {
        return (StatusCode::BAD_REQUEST, Html("<p>Unknown wallet.</p>")).into_response();
    };
    let order = match crate::scenes::cashier::choose(&state, &order, wallet).await {
        Ok(Ok(o)) => o,
        Ok(Err(ChoiceRefusal::NotCashier)) => return not_found(),
        Ok(Err(_)) => {
            return (StatusCode::BAD_REQUEST, Html("<p>The cashier does not offer this wallet.</p>")).into_response();
        }
        Err(e) => {
            tracing::error!(error.message = %e, "cashier choice failed");
            return (StatusCode::SERVICE_UNAVAILABLE, Html("<p>Temporarily unavailable, please retry.</p>"))
                .into_response();
        }
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("userkey", order.user_confirm_key.as_str())
        .append_pair("outTradeNo", order.out_trade_no.as_str())
        .append_pair("sign", &sign)
        .finish();
    Redirect::to(&format!("{PAY_PAGE_PATH}?{query}")).into_response()
}
