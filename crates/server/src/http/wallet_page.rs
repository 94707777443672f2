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
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use vmp_protocol::Params;
use vmp_protocol::answer::PayPackage;
use vmp_protocol::catalogue::{PayType, SceneType};
use vmp_protocol::notify::params_from_form;

use super::pages::{NEUTRAL, PageKind, Palette, REFUSED, Texts, fill, pick, shell, status_line, texts_for};
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

pub(crate) async fn bridge_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    show(&state, Stand::Bridge, texts_for(None, &headers), query.unwrap_or_default().as_bytes()).await
}

pub(crate) async fn bridge_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(form): RawForm,
) -> Response {
    act(&state, Stand::Bridge, texts_for(None, &headers), &form).await
}

pub(crate) async fn app_page(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    show(&state, Stand::App, texts_for(None, &headers), query.unwrap_or_default().as_bytes()).await
}

pub(crate) async fn app_action(State(state): State<AppState>, headers: HeaderMap, RawForm(form): RawForm) -> Response {
    act(&state, Stand::App, texts_for(None, &headers), &form).await
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

async fn show(state: &AppState, stand: Stand, t: &Texts, query: &[u8]) -> Response {
    if state.mode() != Mode::Sandbox {
        return not_found(t);
    }
    let fields = params_from_form(query).unwrap_or_default();
    let (package, order) = match checked(state, stand, &fields).await {
        Ok(v) => v,
        Err(r) => return refused(r, t),
    };
    let now = state.clock().now().unix_timestamp();
    if order.effective_state(now) != OrderState::Pending {
        return page(StatusCode::OK, result_page(&order, t, now, &package, None, None));
    }
    let payee = match state.merchant(order.user_confirm_key.as_str()).await {
        Ok(Some(m)) => m.name.clone(),
        _ => order.user_confirm_key.as_str().to_owned(),
    };
    page(StatusCode::OK, checkout(stand, &order, t, &package, &payee, now))
}

async fn act(state: &AppState, stand: Stand, t: &Texts, form: &[u8]) -> Response {
    if state.mode() != Mode::Sandbox {
        return not_found(t);
    }
    let Ok(mut fields) = params_from_form(form) else {
        return refused(Refused::Package(PackageRefusal::Unreadable), t);
    };
    let action = match fields.remove("outcome").as_ref().map(|v| v.as_str()) {
        Some("success") => BuyerAction::Pay,
        Some("fail") => BuyerAction::Fail,
        Some("cancel") => BuyerAction::Cancel,
        _ => return page(StatusCode::BAD_REQUEST, super::pages::message("error", t, t.unknown_outcome)),
    };
    // Checked again: the hidden fields are the buyer's to change.
    let (package, order) = match checked(state, stand, &fields).await {
        Ok(v) => v,
        Err(r) => return refused(r, t),
    };
    let now = state.clock().now().unix_timestamp();
    match lifecycle::buyer_action(state, &order, action, None).await {
        Ok(ActionResult::Settled(o) | ActionResult::AlreadyFinal(o) | ActionResult::Expired(o)) => {
            page(StatusCode::OK, result_page(&o, t, now, &package, Some(action), None))
        }
        Ok(ActionResult::ServerErrorNoState) => page(
            StatusCode::OK,
            result_page(&order, t, now, &package, Some(BuyerAction::Fail), Some(t.server_no_state)),
        ),
        // A wallet page's order always has its wallet (jsapi, app).
        Ok(ActionResult::WalletNotChosen) => refused(Refused::Unavailable, t),
        Err(e) => {
            tracing::error!(error.message = %e, "wallet page action failed");
            refused(Refused::Unavailable, t)
        }
    }
}

/// The wallet's look for a package: `data-page-kind`, the heading
/// (`[en, cn, hk]`) and colours.
fn brand(package: &PayPackage) -> (&'static str, [&'static str; 3], Palette) {
    let wechat = PageKind::WechatH5.brand().palette;
    let alipay = PageKind::Alipay.brand().palette;
    match package {
        PayPackage::WechatJsapi(_) => ("wechat-jsapi", ["WeChat Pay", "微信支付", "微信支付"], wechat),
        PayPackage::AlipayJsapi(_) => ("alipay-jsapi", ["Alipay", "支付宝", "支付寶"], alipay),
        PayPackage::WechatApp(_) => ("wechat-app", ["WeChat Pay app", "微信支付应用", "微信支付應用程式"], wechat),
        _ => ("alipay-app", ["Alipay app", "支付宝应用", "支付寶應用程式"], alipay),
    }
}

/// Where inside the wallet a jsapi order is paid, as the intro says it.
fn place(order: &Order, t: &Texts) -> &'static str {
    match order.scene_fields.as_deref().map(|f| f.scene_type) {
        Some(SceneType::Applets) => t.place_applets,
        Some(SceneType::Public) => t.place_public,
        Some(SceneType::H5) => t.place_h5,
        None => "",
    }
}

fn checkout(stand: Stand, o: &Order, t: &Texts, package: &PayPackage, payee: &str, now: i64) -> String {
    let (kind, names, colors) = brand(package);
    let name = pick(t, names);
    let left = (o.expires_at - now).max(0);
    let buyer = o
        .scene_fields
        .as_deref()
        .and_then(|f| f.sub_openid.as_deref().or(f.openid.as_deref()))
        .map(|id| format!("<dt>{}</dt><dd id=\"buyer\">{}</dd>", t.buyer, escape(id)))
        .unwrap_or_default();
    let mut body = format!(
        "<p id=\"intro\">{intro}</p>\
         <dl><dt>{l_payee}</dt><dd id=\"payee\">{payee}</dd>\
         <dt>{l_amount}</dt><dd id=\"amount\">{currency} {amount}</dd>\
         <dt>{l_subject}</dt><dd id=\"subject\">{subject}</dd>\
         <dt>{l_order}</dt><dd id=\"out_trade_no\">{out}</dd>{buyer}\
         <dt>{l_left}</dt><dd id=\"time_left\">{m:02}:{s:02}</dd></dl>\
         <p class=\"note\" id=\"package-check\">{verified}</p>\
         <form id=\"pay-form\" method=\"post\" action=\"{action}\" autocomplete=\"off\">",
        intro = escape(&fill(t.intro_wallet, &[("app", pick(t, names)), ("place", place(o, t))])),
        l_payee = t.payee,
        l_amount = t.amount,
        l_subject = t.subject,
        l_order = t.order,
        l_left = t.time_left,
        verified = t.package_verified,
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
    body.push_str(&format!(
        "<button id=\"pay\" name=\"outcome\" value=\"success\">{}</button>\
         <button id=\"fail\" name=\"outcome\" value=\"fail\">{}</button>\
         <button id=\"cancel\" name=\"outcome\" value=\"cancel\">{}</button></form>\
         <p class=\"note\">{}</p>",
        t.pay, t.fail, t.cancel, t.sandbox
    ));
    shell(kind, name, colors, t, &body)
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

fn result_page(
    o: &Order,
    t: &Texts,
    now: i64,
    package: &PayPackage,
    action: Option<BuyerAction>,
    message: Option<&str>,
) -> String {
    let (_, names, colors) = brand(package);
    let mut body = format!(
        "<dl><dt>{l_amount}</dt><dd id=\"amount\">{currency} {amount}</dd>\
         <dt>{l_order}</dt><dd id=\"out_trade_no\">{out}</dd></dl>{status}\
         <p>{l_returned}: <code id=\"wallet-result\">{result}</code></p>",
        l_amount = t.amount,
        l_order = t.order,
        l_returned = t.returned_to_code,
        currency = escape(o.currency.code()),
        amount = escape(&o.amount.to_decimal_string()),
        out = escape(o.out_trade_no.as_str()),
        status = status_line(o, now, t),
        result = escape(&callback(package, o, o.state, action)),
    );
    if let Some(m) = message {
        body.push_str(&format!("<p class=\"error\" id=\"error\">{}</p>", escape(m)));
    }
    // The wallet closes itself; an H5 page has somewhere to go back to.
    if o.pay_type == Some(PayType::WeChat)
        && let Some(url) = &o.return_url
    {
        body.push_str(&format!("<p><a id=\"return\" href=\"{}\">{}</a></p>", escape(url), t.back));
    }
    shell("wallet-result", pick(t, names), colors, t, &body)
}

fn refused(r: Refused, t: &Texts) -> Response {
    let (status, html) = refused_page(r, t);
    page(status, html)
}

fn refused_page(r: Refused, t: &Texts) -> (StatusCode, String) {
    let (status, text) = match r {
        Refused::Package(PackageRefusal::Unreadable) => (StatusCode::BAD_REQUEST, t.refused_unreadable),
        Refused::Package(PackageRefusal::BadSignature) => (StatusCode::BAD_REQUEST, t.refused_bad_signature),
        Refused::Package(PackageRefusal::NotIssued) => (StatusCode::BAD_REQUEST, t.refused_not_issued),
        Refused::WrongPlace => (StatusCode::BAD_REQUEST, t.refused_wrong_place),
        Refused::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, t.retry),
    };
    let body = format!("<p class=\"error\" id=\"error\">{}</p>", escape(text));
    (status, shell("wallet-refused", t.refused_title, REFUSED, t, &body))
}

fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (status, Html(html)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Outside sandbox mode the stand-ins do not exist.
fn not_found(t: &Texts) -> Response {
    page(StatusCode::NOT_FOUND, not_found_page(t))
}

fn not_found_page(t: &Texts) -> String {
    shell("not-found", t.not_found_title, NEUTRAL, t, &format!("<p id=\"error\">{}</p>", t.sandbox_only))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use vmp_protocol::{Service, Wallet};

    use super::*;
    use crate::domain::{SceneFields, sample_order};
    use crate::paylink::PayLinks;

    /// Every stand-in page in `t`'s language, by name (pages.rs checks them).
    pub(crate) fn every_page(t: &'static Texts) -> Vec<(String, String)> {
        let links = PayLinks::new(vec![7; 32]);
        let mut pages = Vec::new();
        for (service, wallet, stand) in [
            (Service::WechatJsapi, Wallet::WechatHk, Stand::Bridge),
            (Service::AlipayJsapi, Wallet::AlipayHk, Stand::Bridge),
            (Service::AppPay, Wallet::WechatHk, Stand::App),
            (Service::AppPay, Wallet::AlipayCn, Stand::App),
        ] {
            let mut o = sample_order(service, wallet);
            if stand == Stand::Bridge {
                o.scene_fields = Some(Box::new(SceneFields {
                    scene_type: SceneType::Applets,
                    openid: Some("o-buyer".into()),
                    sub_openid: None,
                    receipt: false,
                    goods_tag: None,
                    detail: None,
                    scene_info: None,
                }));
            }
            o.return_url = Some("https://m.example/r".into());
            let package = packages::issue(&links, &o);
            let (kind, _, _) = brand(&package);
            pages.push((kind.to_owned(), checkout(stand, &o, t, &package, "Shop1", 1010)));
            o.state = OrderState::Paid;
            o.final_at = Some(1005);
            pages.push((format!("{kind} result"), result_page(&o, t, 1010, &package, Some(BuyerAction::Pay), None)));
        }
        for (name, r) in [
            ("unreadable", Refused::Package(PackageRefusal::Unreadable)),
            ("bad-signature", Refused::Package(PackageRefusal::BadSignature)),
            ("not-issued", Refused::Package(PackageRefusal::NotIssued)),
            ("wrong-place", Refused::WrongPlace),
            ("unavailable", Refused::Unavailable),
        ] {
            pages.push((format!("wallet-refused {name}"), refused_page(r, t).1));
        }
        pages.push(("wallet not-found".into(), not_found_page(t)));
        pages
    }
}
