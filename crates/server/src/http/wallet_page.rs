//! The sandbox's stand-ins for the wallet itself (docs/protocol.md "The
//! jsapi scene", "The app scene"): the page a merchant hands a
//! `payPackage` to, in place of the wallet's JavaScript bridge
//! (`/sandbox/jsapi/bridge`: `wx.requestPayment`,
//! `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`, Alipay's `tradePay`)
//! or of its mobile SDK (`/sandbox/app/pay`: WeChat's `PayReq`, Alipay's
//! `payOrder`).
//!
//! The package's keys arrive as the query (GET) or form (POST) parameters.
//! The page checks the package as the wallet would (its signature first:
//! one changed key and it is refused there, with nothing paid), shows what
//! the wallet shows (payee, amount, subject, order), and Pay, Fail and
//! Cancel act on the order as a buyer would, honouring the sandbox magic
//! amounts. The result is what the bridge or SDK hands back to the
//! merchant's code (`requestPayment:ok`, `9000`, `errCode 0`, …). Sandbox
//! mode only.

use axum::extract::{RawForm, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use vmp_protocol::Params;
use vmp_protocol::answer::PayPackage;
use vmp_protocol::catalogue::{PayType, SceneType};
use vmp_protocol::notify::params_from_form;

use super::pages::shell;
use crate::config::Mode;
use crate::domain::{Order, OrderState};
use crate::html::escape;
use crate::lifecycle::{self, ActionResult, BuyerAction};
use crate::scenes::packages::{self, PackageRefusal};
use crate::state::AppState;

/// Where the jsapi bridge stand-in lives.
pub const BRIDGE_PATH: &str = "/sandbox/jsapi/bridge";
/// Where the app SDK stand-in lives.
pub const APP_PATH: &str = "/sandbox/app/pay";

/// Which stand-in a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stand {
    /// The JavaScript bridge inside the wallet (jsapi packages).
    Bridge,
    /// The wallet's SDK in the merchant's app (app packages).
    App,
}

impl Stand {
    fn path(self) -> &'static str {
        match self {
            Self::Bridge => BRIDGE_PATH,
            Self::App => APP_PATH,
        }
    }

    fn takes(self, package: &PayPackage) -> bool {
        match self {
            Self::Bridge => matches!(package, PayPackage::WechatJsapi(_) | PayPackage::AlipayJsapi(_)),
            Self::App => matches!(package, PayPackage::WechatApp(_) | PayPackage::AlipayApp(_)),
        }
    }
}

pub(crate) async fn bridge_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    show(&state, Stand::Bridge, query.unwrap_or_default().as_bytes()).await
}

pub(crate) async fn bridge_action(State(state): State<AppState>, RawForm(form): RawForm) -> Response {
    act(&state, Stand::Bridge, &form).await
}

pub(crate) async fn app_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    show(&state, Stand::App, query.unwrap_or_default().as_bytes()).await
}

pub(crate) async fn app_action(State(state): State<AppState>, RawForm(form): RawForm) -> Response {
    act(&state, Stand::App, &form).await
}

/// Why a handed-over package is refused, as the page says it.
enum Refused {
    Package(PackageRefusal),
    WrongPlace,
    Unavailable,
}

/// The package's order, when the package is the one the gateway issued for
/// it and belongs on this page. The signature is checked before anything
/// is looked up.
async fn checked(state: &AppState, stand: Stand, fields: &Params) -> Result<(PayPackage, Order), Refused> {
    let package = PayPackage::from_params(fields).map_err(|_| Refused::Package(PackageRefusal::Unreadable))?;
    let eft = packages::check(state.links(), &package).map_err(Refused::Package)?;
    if !stand.takes(&package) {
        return Err(Refused::WrongPlace);
    }
    let order = match state.store().order_by_eft_trade_no(eft.as_str()).await {
        Ok(Some(o)) => o,
        Ok(None) => return Err(Refused::Package(PackageRefusal::NotIssued)),
        Err(e) => {
            tracing::error!(error.message = %e, "wallet page lookup failed");
            return Err(Refused::Unavailable);
        }
    };
    if packages::issue(state.links(), &order) != package {
        return Err(Refused::Package(PackageRefusal::NotIssued));
    }
    Ok((package, order))
}

async fn show(state: &AppState, stand: Stand, query: &[u8]) -> Response {
    if state.mode() != Mode::Sandbox {
        return not_found();
    }
    let fields = params_from_form(query).unwrap_or_default();
    let (package, order) = match checked(state, stand, &fields).await {
        Ok(v) => v,
        Err(r) => return refused(r),
    };
    let now = state.clock().now().unix_timestamp();
    if order.effective_state(now) != OrderState::Pending {
        return page(StatusCode::OK, result_page(&order, &package, None, None));
    }
    let payee = match state.merchant(order.user_confirm_key.as_str()).await {
        Ok(Some(m)) => m.name.clone(),
        _ => order.user_confirm_key.as_str().to_owned(),
    };
    page(StatusCode::OK, checkout(stand, &order, &package, &payee, now))
}

async fn act(state: &AppState, stand: Stand, form: &[u8]) -> Response {
    if state.mode() != Mode::Sandbox {
        return not_found();
    }
    let Ok(mut fields) = params_from_form(form) else { return refused(Refused::Package(PackageRefusal::Unreadable)) };
    let action = match fields.remove("outcome").as_ref().map(|v| v.as_str()) {
        Some("success") => BuyerAction::Pay,
        Some("fail") => BuyerAction::Fail,
        Some("cancel") => BuyerAction::Cancel,
        _ => return page(StatusCode::BAD_REQUEST, "<p>Unknown outcome.</p>".to_owned()),
    };
    // Checked again: the hidden fields are the buyer's to change.
    let (package, order) = match checked(state, stand, &fields).await {
        Ok(v) => v,
        Err(r) => return refused(r),
    };
    match lifecycle::buyer_action(state, &order, action, None).await {
        Ok(ActionResult::Settled(o) | ActionResult::AlreadyFinal(o) | ActionResult::Expired(o)) => {
            page(StatusCode::OK, result_page(&o, &package, Some(action), None))
        }
        Ok(ActionResult::ServerErrorNoState) => page(
            StatusCode::OK,
            result_page(
                &order,
                &package,
                Some(BuyerAction::Fail),
                Some("Server error: the wallet returned no state (sandbox amount .45). The order stays pending."),
            ),
        ),
        // A wallet page's order always has its wallet (jsapi, app).
        Ok(ActionResult::WalletNotChosen) => refused(Refused::Unavailable),
        Err(e) => {
            tracing::error!(error.message = %e, "wallet page action failed");
            refused(Refused::Unavailable)
        }
    }
}

/// The wallet's look for a package.
fn brand(package: &PayPackage) -> (&'static str, &'static str, &'static str) {
    match package {
        PayPackage::WechatJsapi(_) => ("wechat-jsapi", "WeChat Pay", "#07c160"),
        PayPackage::AlipayJsapi(_) => ("alipay-jsapi", "Alipay", "#1677ff"),
        PayPackage::WechatApp(_) => ("wechat-app", "WeChat Pay app", "#07c160"),
        _ => ("alipay-app", "Alipay app", "#1677ff"),
    }
}

/// Where inside the wallet a jsapi order is paid, as the intro says it.
fn place(order: &Order) -> &'static str {
    match order.scene_fields.as_deref().map(|f| f.scene_type) {
        Some(SceneType::Applets) => " (mini-program)",
        Some(SceneType::Public) => " (official account)",
        Some(SceneType::H5) => " (H5 page)",
        None => "",
    }
}

fn checkout(stand: Stand, o: &Order, package: &PayPackage, payee: &str, now: i64) -> String {
    let (kind, brand, color) = brand(package);
    let left = (o.expires_at - now).max(0);
    let buyer = o
        .scene_fields
        .as_deref()
        .and_then(|f| f.sub_openid.as_deref().or(f.openid.as_deref()))
        .map(|id| format!("<dt>Buyer</dt><dd id=\"buyer\">{}</dd>", escape(id)))
        .unwrap_or_default();
    let mut body = format!(
        "<p id=\"intro\">{brand}{place} asks you to pay (sandbox).</p>\
         <dl><dt>Payee</dt><dd id=\"payee\">{payee}</dd>\
         <dt>Amount</dt><dd id=\"amount\">{currency} {amount}</dd>\
         <dt>Subject</dt><dd id=\"subject\">{subject}</dd>\
         <dt>Order no.</dt><dd id=\"out_trade_no\">{out}</dd>{buyer}\
         <dt>Time left</dt><dd id=\"time_left\">{m:02}:{s:02}</dd></dl>\
         <p class=\"note\" id=\"package-check\">payPackage verified.</p>\
         <form id=\"pay-form\" method=\"post\" action=\"{action}\" autocomplete=\"off\">",
        place = place(o),
        payee = escape(payee),
        currency = escape(o.currency.code()),
        amount = escape(&o.amount.to_decimal_string()),
        subject = escape(&o.subject),
        out = escape(o.out_trade_no.as_str()),
        m = left / 60,
        s = left % 60,
        action = stand.path(),
    );
    for (k, v) in package.to_params().iter() {
        body.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v.as_str())));
    }
    body.push_str(
        "<button id=\"pay\" name=\"outcome\" value=\"success\">Pay</button>\
         <button id=\"fail\" name=\"outcome\" value=\"fail\">Simulate failure</button>\
         <button id=\"cancel\" name=\"outcome\" value=\"cancel\">Cancel</button></form>\
         <p class=\"note\">Sandbox: no real money moves.</p>",
    );
    shell(kind, brand, color, "en", &body)
}

/// What the bridge or SDK hands back to the merchant's code.
fn callback(package: &PayPackage, order: &Order, state: OrderState, action: Option<BuyerAction>) -> String {
    let outcome = match (state, action) {
        (OrderState::Paid, _) => 0,
        (_, Some(BuyerAction::Cancel)) => 2,
        _ => 1,
    };
    let public = order.scene_fields.as_deref().is_some_and(|f| f.scene_type != SceneType::Applets);
    match (package, outcome) {
        (PayPackage::WechatJsapi(_), _) if public => {
            ["get_brand_wcpay_request:ok", "get_brand_wcpay_request:fail", "get_brand_wcpay_request:cancel"][outcome]
                .to_owned()
        }
        (PayPackage::WechatJsapi(_), _) => {
            ["requestPayment:ok", "requestPayment:fail", "requestPayment:fail cancel"][outcome].to_owned()
        }
        (PayPackage::WechatApp(_), _) => format!("errCode {}", [0, -1, -2][outcome]),
        _ => ["9000", "4000", "6001"][outcome].to_owned(),
    }
}

fn result_page(o: &Order, package: &PayPackage, action: Option<BuyerAction>, message: Option<&str>) -> String {
    let (_, brand, color) = brand(package);
    let mut body = format!(
        "<dl><dt>Amount</dt><dd id=\"amount\">{currency} {amount}</dd>\
         <dt>Order no.</dt><dd id=\"out_trade_no\">{out}</dd></dl>\
         <p>Status: <strong id=\"order-status\">{status}</strong></p>\
         <p>Returned to the merchant's code: <code id=\"wallet-result\">{result}</code></p>",
        currency = escape(o.currency.code()),
        amount = escape(&o.amount.to_decimal_string()),
        out = escape(o.out_trade_no.as_str()),
        status = escape(o.state.as_str()),
        result = escape(&callback(package, o, o.state, action)),
    );
    if let Some(m) = message {
        body.push_str(&format!("<p class=\"error\" id=\"error\">{}</p>", escape(m)));
    }
    // The wallet closes itself; an H5 page has somewhere to go back to.
    if o.pay_type == Some(PayType::WeChat)
        && let Some(url) = &o.return_url
    {
        body.push_str(&format!("<p><a id=\"return\" href=\"{}\">Return to merchant</a></p>", escape(url)));
    }
    shell("wallet-result", brand, color, "en", &body)
}

fn refused(r: Refused) -> Response {
    let (status, text) = match r {
        Refused::Package(PackageRefusal::Unreadable) => {
            (StatusCode::BAD_REQUEST, "This is no payPackage of WeChat Pay or Alipay.".to_owned())
        }
        Refused::Package(reason) => (StatusCode::BAD_REQUEST, format!("Payment refused: {reason}.")),
        Refused::WrongPlace => {
            (StatusCode::BAD_REQUEST, "Payment refused: this payPackage belongs to the other scene's page.".to_owned())
        }
        Refused::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable, please retry.".to_owned()),
    };
    let body = format!("<p class=\"error\" id=\"error\">{}</p>", escape(&text));
    page(status, shell("wallet-refused", "Payment refused", "#b00020", "en", &body))
}

fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (status, Html(html)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<!doctype html><title>Not found</title><p>Sandbox mode only.</p>")).into_response()
}
