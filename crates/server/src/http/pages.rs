//! HTML of the hosted sandbox checkout pages, one look per wallet.
//!
//! Server-rendered, no JavaScript needed (the return-to-merchant form
//! auto-submits when scripts run, and offers a button when they don't).
//! Every merchant-supplied text goes through [`escape`]. No external
//! assets: the QR code is an inline SVG. Every string is in the order's or
//! the browser's language (`page_texts.rs`); every colour pair reaches WCAG
//! 2.1 AA (the tests below compute it from each page's `<style>`).

use time::OffsetDateTime;
use vmp_protocol::catalogue::Scene;
use vmp_protocol::{Params, PayScene, Service, Wallet};

pub(crate) use super::page_texts::{Texts, fill, pick, texts_for};
use crate::domain::{Order, OrderState};
use crate::html::escape;

/// The look of a checkout page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    Alipay,
    AlipayQr,
    WechatQr,
    WechatH5,
    WechatOauth,
    Icbc,
    Unionpay,
    Jetco,
    Octopus,
    Mpgs,
    Amex,
    PaymeQr,
    PaymeApp,
    BocpayH5,
    BocpayApp,
    /// The cashier (`service.united.wap.PreOrder`) before the buyer chose a wallet.
    Cashier,
    /// The qrcode scene: stand-ins for the wallet apps' scan-to-pay screens.
    AlipayScan,
    WechatScan,
    UnionpayScan,
    AtomeScan,
    GbpayScan,
    PaymeScan,
    FpsScan,
    EcnyScan,
}

impl PageKind {
    pub(crate) fn of(order: &Order) -> Self {
        match (order.service.spec().scene, order.wallet) {
            (Scene::Qrcode, wallet) => return Self::scan(wallet),
            (Scene::Cashier, Some(wallet)) => return Self::for_wallet(wallet),
            (Scene::Cashier, None) => return Self::Cashier,
            _ => {}
        }
        let app = order.pay_scene == Some(PayScene::App);
        match Some(order.service.spec().behaves_as()) {
            Some(Service::AlipayWeb) => Self::AlipayQr,
            Some(Service::WechatWeb) if order.pay_scene == Some(PayScene::Web) => Self::WechatQr,
            Some(Service::WechatWeb | Service::WechatMobileH5) => Self::WechatH5,
            Some(Service::WechatOauth2) => Self::WechatOauth,
            Some(Service::IcbcWap) => Self::Icbc,
            Some(Service::UnionPayOnline | Service::UnionPayWeb) => Self::Unionpay,
            Some(Service::JetcoWap) => Self::Jetco,
            Some(Service::OctOnline) => Self::Octopus,
            Some(Service::MpgsWeb) => Self::Mpgs,
            Some(Service::AeWeb) => Self::Amex,
            Some(Service::PaymeWeb) if app => Self::PaymeApp,
            Some(Service::PaymeWeb) => Self::PaymeQr,
            Some(Service::BocVmpUpiWap | Service::BocPayUpiWap) if app => Self::BocpayApp,
            Some(Service::BocVmpUpiWap | Service::BocPayUpiWap) => Self::BocpayH5,
            _ => Self::Alipay,
        }
    }

    /// The page a cashier order continues on once its buyer chose `wallet`:
    /// the wallet's mobile page.
    pub(crate) fn for_wallet(wallet: Wallet) -> Self {
        match wallet {
            Wallet::WechatCn | Wallet::WechatHk => Self::WechatH5,
            Wallet::IcbcWap => Self::Icbc,
            Wallet::UnionPay => Self::Unionpay,
            Wallet::Oct => Self::Octopus,
            Wallet::Mpgs => Self::Mpgs,
            Wallet::Ae => Self::Amex,
            Wallet::Payme => Self::PaymeApp,
            Wallet::BocVmpUpi | Wallet::BocPayUpi | Wallet::BocVmpUpw => Self::BocpayH5,
            Wallet::JetcoHk => Self::Jetco,
            _ => Self::Alipay,
        }
    }

    /// The scan-to-pay stand-in of a qrcode order's wallet.
    fn scan(wallet: Option<Wallet>) -> Self {
        match wallet.map(Wallet::family) {
            Some(vmp_protocol::PayType::WeChat) => Self::WechatScan,
            Some(vmp_protocol::PayType::UnionPay) => Self::UnionpayScan,
            Some(vmp_protocol::PayType::Atome) => Self::AtomeScan,
            Some(vmp_protocol::PayType::Gbpay) => Self::GbpayScan,
            Some(vmp_protocol::PayType::Payme) => Self::PaymeScan,
            Some(vmp_protocol::PayType::Fps) => Self::FpsScan,
            Some(vmp_protocol::PayType::Ecny) => Self::EcnyScan,
            _ => Self::AlipayScan,
        }
    }

    /// Whether the page stands in for a wallet app's scan-to-pay screen.
    pub(crate) fn is_scan(self) -> bool {
        matches!(
            self,
            Self::AlipayScan
                | Self::WechatScan
                | Self::UnionpayScan
                | Self::AtomeScan
                | Self::GbpayScan
                | Self::PaymeScan
                | Self::FpsScan
                | Self::EcnyScan
        )
    }

    /// Whether the page shows a QR code to scan with the wallet's app (the
    /// desktop scene).
    pub(crate) fn shows_qr(self) -> bool {
        matches!(self, Self::PaymeQr | Self::AlipayQr | Self::WechatQr)
    }

    /// Every kind (the tests render each).
    #[cfg(test)]
    pub(crate) const ALL: [Self; 24] = [
        Self::Alipay,
        Self::AlipayQr,
        Self::WechatQr,
        Self::WechatH5,
        Self::WechatOauth,
        Self::Icbc,
        Self::Unionpay,
        Self::Jetco,
        Self::Octopus,
        Self::Mpgs,
        Self::Amex,
        Self::PaymeQr,
        Self::PaymeApp,
        Self::BocpayH5,
        Self::BocpayApp,
        Self::Cashier,
        Self::AlipayScan,
        Self::WechatScan,
        Self::UnionpayScan,
        Self::AtomeScan,
        Self::GbpayScan,
        Self::PaymeScan,
        Self::FpsScan,
        Self::EcnyScan,
    ];

    /// Stable name, exposed as `data-page-kind` for tests and screenshots.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Alipay => "alipay",
            Self::AlipayQr => "alipay-qr",
            Self::WechatQr => "wechat-qr",
            Self::WechatH5 => "wechat-h5",
            Self::WechatOauth => "wechat-oauth",
            Self::Icbc => "icbc",
            Self::Unionpay => "unionpay",
            Self::Jetco => "jetco",
            Self::Octopus => "octopus",
            Self::Mpgs => "mpgs",
            Self::Amex => "amex",
            Self::PaymeQr => "payme-qr",
            Self::PaymeApp => "payme-app",
            Self::BocpayH5 => "bocpay-h5",
            Self::BocpayApp => "bocpay-app",
            Self::Cashier => "cashier",
            Self::AlipayScan => "alipay-scan",
            Self::WechatScan => "wechat-scan",
            Self::UnionpayScan => "unionpay-scan",
            Self::AtomeScan => "atome-scan",
            Self::GbpayScan => "gbpay-scan",
            Self::PaymeScan => "payme-scan",
            Self::FpsScan => "fps-scan",
            Self::EcnyScan => "ecny-scan",
        }
    }

    /// The page's heading (`[en, cn, hk]`), the wallet app's name as the
    /// intros say it, and its colours.
    pub(crate) fn brand(self) -> Brand {
        let (names, app, palette) = match self {
            Self::Alipay | Self::AlipayScan => (["Alipay", "支付宝", "支付寶"], ALIPAY_APP, ALIPAY),
            Self::AlipayQr => {
                (["Alipay (scan to pay)", "支付宝（扫码支付）", "支付寶（掃碼付款）"], ALIPAY_APP, ALIPAY)
            }
            Self::WechatQr => {
                (["WeChat Pay (scan to pay)", "微信支付（扫码支付）", "微信支付（掃碼付款）"], WECHAT_APP, WECHAT)
            }
            Self::WechatH5 | Self::WechatScan => (["WeChat Pay", "微信支付", "微信支付"], WECHAT_APP, WECHAT),
            Self::WechatOauth => {
                (["WeChat Pay (in WeChat)", "微信支付（微信内）", "微信支付（微信內）"], WECHAT_APP, WECHAT)
            }
            Self::Icbc => {
                (["ICBC", "中国工商银行", "中國工商銀行"], ["ICBC", "工商银行", "工商銀行"], palette("#c7000b"))
            }
            Self::Unionpay => (["UnionPay online", "银联在线支付", "銀聯網上支付"], UNIONPAY_APP, UNIONPAY),
            Self::UnionpayScan => (["UnionPay", "银联", "銀聯"], UNIONPAY_APP, UNIONPAY),
            Self::Jetco => (["JETCO", "银通 JETCO", "銀通 JETCO"], ["JETCO", "银通", "銀通"], palette("#00539b")),
            Self::Octopus => (["Octopus", "八达通", "八達通"], ["Octopus", "八达通", "八達通"], OCTOPUS),
            Self::Mpgs => (["Visa / Mastercard"; 3], ["Visa / Mastercard"; 3], palette("#1a1f71")),
            Self::Amex => (
                ["American Express", "美国运通", "美國運通"],
                ["American Express", "美国运通", "美國運通"],
                palette("#2e77bb"),
            ),
            Self::PaymeQr | Self::PaymeScan => (["PayMe"; 3], ["PayMe"; 3], PAYME),
            Self::PaymeApp => (["PayMe app", "PayMe 应用", "PayMe 應用程式"], ["PayMe"; 3], PAYME),
            Self::BocpayH5 => (["BOCPay"; 3], ["BOCPay"; 3], BOCPAY),
            Self::BocpayApp => (["BOCPay app", "BOCPay 应用", "BOCPay 應用程式"], ["BOCPay"; 3], BOCPAY),
            Self::Cashier => (["eftPay cashier", "eftPay 收银台", "eftPay 收銀台"], ["eftPay"; 3], palette("#0b5cab")),
            Self::AtomeScan => (["Atome"; 3], ["Atome"; 3], palette("#1a1a1a")),
            Self::GbpayScan => (["GBPay"; 3], ["GBPay"; 3], palette("#00875a")),
            Self::FpsScan => (["FPS", "转数快 FPS", "轉數快 FPS"], ["FPS", "转数快", "轉數快"], palette("#005eb8")),
            Self::EcnyScan => {
                (["e-CNY", "数字人民币", "數字人民幣"], ["e-CNY", "数字人民币", "數字人民幣"], palette("#c8102e"))
            }
        };
        Brand { names, app, palette }
    }

    pub(crate) fn is_card(self) -> bool {
        matches!(self, Self::Mpgs | Self::Amex)
    }
}

/// A page's colours: `fg` text on `bg` (the header and the pay button).
/// Every pair reaches WCAG 2.1 AA (4.5:1); `tests::every_page_meets_wcag_aa_contrast`
/// computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Palette {
    pub(crate) bg: &'static str,
    pub(crate) fg: &'static str,
}

/// White text on `bg`.
const fn palette(bg: &'static str) -> Palette {
    Palette { bg, fg: "#ffffff" }
}

/// Alipay's blue, darkened from `#1677ff` (4.10:1 with white) to 5.69:1.
const ALIPAY: Palette = palette("#1260d8");
/// WeChat Pay's green, darkened from `#07c160` (2.38:1 with white) to 5.04:1.
const WECHAT: Palette = palette("#06803f");
/// Octopus keeps its orange `#f39800` with dark text (7.71:1; white was 2.26:1).
const OCTOPUS: Palette = Palette { bg: "#f39800", fg: "#1a1a1a" };
const UNIONPAY: Palette = palette("#e21836");
const PAYME: Palette = palette("#db0011");
const BOCPAY: Palette = palette("#a6192e");
/// The gateway's own pages (no connector, invalid link, errors).
pub(crate) const NEUTRAL: Palette = palette("#3c4043");
/// A refused payment.
pub(crate) const REFUSED: Palette = palette("#b00020");

const ALIPAY_APP: [&str; 3] = ["Alipay", "支付宝", "支付寶"];
const WECHAT_APP: [&str; 3] = ["WeChat", "微信", "微信"];
const UNIONPAY_APP: [&str; 3] = ["UnionPay", "银联", "銀聯"];

/// A page kind's names and colours.
pub(crate) struct Brand {
    /// The heading, `[en, cn, hk]`.
    pub(crate) names: [&'static str; 3],
    /// The wallet app's name in the intros, `[en, cn, hk]`.
    pub(crate) app: [&'static str; 3],
    pub(crate) palette: Palette,
}

impl Brand {
    /// The heading in `t`'s language.
    pub(crate) fn name(&self, t: &Texts) -> &'static str {
        pick(t, self.names)
    }

    /// The app's name in `t`'s language.
    pub(crate) fn app(&self, t: &Texts) -> &'static str {
        pick(t, self.app)
    }
}

/// A page of the sandbox's look: `kind_name` is its `data-page-kind`,
/// `heading` its one `<h1>`. All colours are in the `<style>` (no `style`
/// attributes), so the contrast test sees every pair.
pub(crate) fn shell(kind_name: &str, heading: &str, colors: Palette, t: &Texts, body: &str) -> String {
    let Palette { bg, fg } = colors;
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{heading} · OpenVMP</title><link rel=\"icon\" href=\"data:,\"><style>\
         body{{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222222}}\
         header{{background:{bg};color:{fg};padding:16px 20px}}\
         h1{{margin:0;font-size:20px;font-weight:600}}\
         main{{box-sizing:border-box;width:calc(100% - 24px);max-width:420px;margin:16px auto;background:#ffffff;border-radius:10px;padding:20px;box-shadow:0 1px 4px #0002}}\
         button,input{{font:inherit}}\
         dl{{display:grid;grid-template-columns:auto 1fr;gap:6px 14px}}dt{{color:#595959}}dd{{margin:0;word-break:break-all}}\
         #amount{{font-size:24px;font-weight:700}}\
         button{{width:100%;padding:12px;margin-top:10px;border:0;border-radius:8px;font-size:16px;cursor:pointer;background:#e8e8e8;color:#222222}}\
         #pay{{background:{bg};color:{fg}}}#fail{{background:#fbe9e7;color:#222222}}.wallet{{background:#eef3fb;color:#222222;text-align:left}}\
         label{{display:block;margin-top:10px;font-size:14px;color:#444444}}\
         input{{width:100%;padding:10px;box-sizing:border-box;font-size:16px;border:1px solid #767676;border-radius:6px;background:#ffffff;color:#222222}}\
         input[aria-invalid=true]{{border:2px solid #b00020}}\
         :focus-visible{{outline:3px solid #1a1a1a;outline-offset:2px}}\
         a{{color:#0b57d0}}\
         .note{{font-size:12px;color:#595959;margin-top:14px}}.error{{color:#b00020;font-weight:600;margin:6px 0 0}}\
         #qr svg{{display:block;margin:10px auto}}#qr-link{{text-align:center;word-break:break-all;font-size:14px}}\
         </style></head><body data-page-kind=\"{kind_name}\"><header><h1>{heading}</h1></header><main>{body}\
         </main></body></html>",
        lang = t.lang,
    )
}

pub(crate) fn details(o: &Order, t: &Texts, now: Option<OffsetDateTime>) -> String {
    let time_left = match now {
        Some(now) => {
            let left = (o.expires_at - now.unix_timestamp()).max(0);
            format!("<dt>{}</dt><dd id=\"time_left\">{:02}:{:02}</dd>", t.time_left, left / 60, left % 60)
        }
        None => String::new(),
    };
    format!(
        "<dl><dt>{l_amount}</dt><dd id=\"amount\">{currency} {amount}</dd>\
         <dt>{l_subject}</dt><dd id=\"subject\">{subject}</dd>\
         <dt>{l_order}</dt><dd id=\"out_trade_no\">{out}</dd>{time_left}</dl>",
        l_amount = t.amount,
        l_subject = t.subject,
        l_order = t.order,
        currency = escape(o.currency.code()),
        amount = escape(&display_amount(o)),
        subject = escape(&o.subject),
        out = escape(o.out_trade_no.as_str()),
    )
}

fn display_amount(o: &Order) -> String {
    o.amount.to_decimal_string()
}

/// The order's state in words: what the buyer reads on a result page. A
/// closed order whose time ran out (it closed at or after `expires_at`) is
/// "expired"; one closed earlier was cancelled or closed by the merchant.
pub(crate) fn state_words(o: &Order, now: i64, t: &Texts) -> &'static str {
    match o.effective_state(now) {
        OrderState::Pending => t.state_pending,
        OrderState::Paid => t.state_paid,
        OrderState::Failed => t.state_failed,
        OrderState::PartlyRefunded => t.state_part_refunded,
        OrderState::Closed if o.refunded_minor > 0 => t.state_refunded,
        OrderState::Closed if o.final_at.is_none_or(|at| at >= o.expires_at) => t.state_expired,
        OrderState::Closed => t.state_closed,
    }
}

/// `Status: <words>`, with the wire `trade_status` in `data-state` for
/// scripts and tests.
pub(crate) fn status_line(o: &Order, now: i64, t: &Texts) -> String {
    format!(
        "<p>{}: <strong id=\"order-status\" data-state=\"{}\">{}</strong></p>",
        t.status,
        o.effective_state(now).wire_str(),
        state_words(o, now, t)
    )
}

/// The pay page of an order whose wallet has no connector (production):
/// says so, naming the wallet, instead of a checkout whose button cannot
/// work. Served with HTTP 503.
pub(crate) fn no_connector(o: &Order, t: &Texts) -> String {
    let wallet = o.wallet.map_or("eftPay cashier", |w| w.as_str());
    let body = format!(
        "<p id=\"why\">{}</p><p>{}</p>{}",
        escape(&fill(t.unavailable_why, &[("wallet", wallet)])),
        t.unavailable_unpaid,
        details(o, t, None)
    );
    shell("no-connector", &escape(&fill(t.unavailable_title, &[("wallet", wallet)])), NEUTRAL, t, &body)
}

/// The page of a pay link that names no order (or whose token is wrong).
pub(crate) fn invalid_link(t: &Texts) -> String {
    shell("invalid-link", t.not_found_title, NEUTRAL, t, &format!("<p id=\"error\">{}</p>", t.not_found_text))
}

/// A short page saying what went wrong (`text`, already in `t`'s language).
pub(crate) fn message(kind_name: &str, t: &Texts, text: &str) -> String {
    shell(kind_name, t.error_title, NEUTRAL, t, &format!("<p class=\"error\" id=\"error\">{}</p>", escape(text)))
}

/// Hidden fields that carry the link token through the form.
pub(crate) struct LinkFields<'a> {
    pub userkey: &'a str,
    pub out_trade_no: &'a str,
    pub sign: &'a str,
    pub action: &'a str,
}

impl LinkFields<'_> {
    /// The hidden inputs.
    pub(crate) fn hidden(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"userkey\" value=\"{uk}\"><input type=\"hidden\" name=\"outTradeNo\" value=\"{out}\">\
             <input type=\"hidden\" name=\"sign\" value=\"{sign}\">",
            uk = escape(self.userkey),
            out = escape(self.out_trade_no),
            sign = escape(self.sign),
        )
    }
}

/// What is wrong with a submitted card form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardProblem {
    /// Not a card number (length, digits, Luhn).
    Number,
    /// Not `MM/YY`.
    Expiry,
    /// Not 3 digits (4 for American Express).
    Cvc,
    /// A scheme this page does not take.
    Scheme,
}

impl CardProblem {
    /// The input the problem is next to.
    fn field(self) -> &'static str {
        match self {
            Self::Number | Self::Scheme => "card_number",
            Self::Expiry => "card_expiry",
            Self::Cvc => "card_cvc",
        }
    }

    /// The problem in words.
    pub(crate) fn text(self, t: &Texts) -> &'static str {
        match self {
            Self::Number => t.err_card_number,
            Self::Expiry => t.err_expiry,
            Self::Cvc => t.err_cvc,
            Self::Scheme => t.err_scheme,
        }
    }
}

/// A card form sent back to its buyer: the problem, and the expiry they
/// typed. The card number and security code are never written back into
/// the page (they are retyped).
pub(crate) struct CardRetry<'a> {
    pub(crate) problem: CardProblem,
    pub(crate) expiry: &'a str,
}

/// A QR code to show: the SVG and the link it encodes.
pub(crate) struct Qr<'a> {
    pub(crate) svg: &'a str,
    pub(crate) url: &'a str,
}

/// The checkout page of a pending order, in the look of `kind`
/// ([`PageKind::of`] the order).
pub(crate) fn checkout(
    kind: PageKind,
    o: &Order,
    t: &Texts,
    link: &LinkFields<'_>,
    qr: Option<&Qr<'_>>,
    card: Option<&CardRetry<'_>>,
    now: OffsetDateTime,
) -> String {
    let brand = kind.brand();
    let app = brand.app(t);
    let intro = match kind {
        PageKind::PaymeQr | PageKind::AlipayQr | PageKind::WechatQr => fill(t.intro_scan_qr, &[("app", app)]),
        PageKind::PaymeApp | PageKind::BocpayH5 | PageKind::BocpayApp => fill(t.intro_app, &[("app", app)]),
        PageKind::WechatOauth => t.intro_in_wechat.to_owned(),
        PageKind::Octopus => t.intro_octopus.to_owned(),
        k if k.is_scan() => fill(t.intro_scanned, &[("app", app)]),
        _ => t.intro_confirm.to_owned(),
    };
    let mut body = format!("<p id=\"intro\">{}</p>", escape(&intro));
    body.push_str(&details(o, t, Some(now)));
    if let Some(qr) = qr {
        let svg = qr.svg.find("<svg").map_or("", |at| &qr.svg[at..]);
        let label = escape(&fill(t.qr_label, &[("app", app)]));
        let svg = svg.replacen("<svg", &format!("<svg role=\"img\" aria-label=\"{label}\""), 1);
        body.push_str(&format!(
            "<div id=\"qr\">{svg}<p id=\"qr-link\">{} <a id=\"pay-link\" href=\"{url}\">{url}</a></p></div>",
            t.qr_link,
            url = escape(qr.url),
        ));
    }
    body.push_str(&format!(
        "<form id=\"pay-form\" method=\"post\" action=\"{action}\" autocomplete=\"off\">{hidden}",
        action = escape(link.action),
        hidden = link.hidden(),
    ));
    if kind.is_card() {
        body.push_str(&card_fields(t, card));
    }
    body.push_str(&format!(
        "<button id=\"pay\" name=\"outcome\" value=\"success\">{}</button>\
         <button id=\"fail\" name=\"outcome\" value=\"fail\">{}</button>\
         <button id=\"cancel\" name=\"outcome\" value=\"cancel\">{}</button></form>",
        t.pay, t.fail, t.cancel
    ));
    let note = match kind {
        PageKind::Mpgs => fill(
            t.test_cards,
            &[
                ("pay", "4111 1111 1111 1111 (Visa), 5123 4500 0000 0008 (Mastercard)"),
                ("declined", "4000 0000 0000 0002"),
            ],
        ),
        PageKind::Amex => {
            fill(t.test_cards, &[("pay", "3782 822463 10005, 3714 496353 98431"), ("declined", "3400 000000 00009")])
        }
        k if k.is_scan() => t.scan_amounts.to_owned(),
        _ => String::new(),
    };
    body.push_str(&format!("<p class=\"note\">{}</p>", t.sandbox));
    if !note.is_empty() {
        body.push_str(&format!("<p class=\"note\" id=\"test-note\">{}</p>", escape(&note)));
    }
    shell(kind.name(), brand.name(t), brand.palette, t, &body)
}

/// The card inputs, each with its label; after a refused submit, the
/// problem next to its input (`aria-invalid`, `aria-describedby`, focus)
/// and the expiry as typed. The number and security code start empty.
fn card_fields(t: &Texts, card: Option<&CardRetry<'_>>) -> String {
    let problem = card.map(|c| c.problem);
    let mut html = String::new();
    for (id, label, numeric, placeholder) in [
        ("card_number", t.card_number, true, ""),
        ("card_expiry", t.expiry, false, " placeholder=\"MM/YY\""),
        ("card_cvc", t.cvc, true, ""),
    ] {
        let value = match card {
            // Only the expiry goes back into the page, capped in length.
            Some(c) if id == "card_expiry" && !c.expiry.is_empty() => {
                format!(" value=\"{}\"", escape(&c.expiry.chars().take(16).collect::<String>()))
            }
            _ => String::new(),
        };
        let wrong = problem.filter(|p| p.field() == id);
        let invalid = if wrong.is_some() { " aria-invalid=\"true\" aria-describedby=\"error\" autofocus" } else { "" };
        html.push_str(&format!(
            "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{id}\"{mode}{placeholder}{value}{invalid} autocomplete=\"off\">",
            mode = if numeric { " inputmode=\"numeric\"" } else { "" },
        ));
        if let Some(p) = wrong {
            html.push_str(&format!("<p class=\"error\" id=\"error\" role=\"alert\">{}</p>", p.text(t)));
        }
    }
    html
}

/// The page shown once an order is final (or when paying errs): the
/// order's state in words.
pub(crate) fn result(o: &Order, t: &Texts, now: OffsetDateTime, message: Option<&str>) -> String {
    let brand = PageKind::of(o).brand();
    let mut body = details(o, t, None);
    body.push_str(&status_line(o, now.unix_timestamp(), t));
    if let Some(m) = message {
        body.push_str(&format!("<p class=\"error\" id=\"error\">{}</p>", escape(m)));
    }
    shell("result", brand.name(t), brand.palette, t, &body)
}

/// Auto-submitting POST of the signed `trade_status_sync` payload to the
/// merchant's `return_url` (docs/protocol.md "Notifications"). Works without JavaScript too.
pub(crate) fn return_form(o: &Order, t: &Texts, now: OffsetDateTime, return_url: &str, payload: &Params) -> String {
    let brand = PageKind::of(o).brand();
    let mut body = status_line(o, now.unix_timestamp(), t);
    body.push_str(&format!("<form id=\"return-form\" method=\"post\" action=\"{}\">", escape(return_url)));
    for (k, v) in payload.iter() {
        body.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v.as_str())));
    }
    body.push_str(&format!(
        "<button id=\"return\" type=\"submit\">{}</button></form><script>document.getElementById('return-form').submit();</script>",
        t.back
    ));
    shell("return", brand.name(t), brand.palette, t, &body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use vmp_protocol::{Service, Wallet};

    use super::super::page_texts::{CN, EN, HK};
    use super::*;
    use crate::domain::sample_order;

    /// Relative luminance of `#rgb` or `#rrggbb` (WCAG 2.1).
    fn luminance(hex: &str) -> Option<f64> {
        let h = hex.strip_prefix('#')?;
        let h: String = match h.len() {
            3 => h.chars().flat_map(|c| [c, c]).collect(),
            6 => h.to_owned(),
            _ => return None,
        };
        let channel = |i: usize| -> Option<f64> {
            let c = f64::from(u8::from_str_radix(h.get(i..i + 2)?, 16).ok()?) / 255.0;
            Some(if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) })
        };
        Some(0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?)
    }

    /// The WCAG 2.1 contrast ratio of two colours.
    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a).unwrap(), luminance(b).unwrap());
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// The `#hex` colour of a declaration's value, if it names one.
    fn hex_in(value: &str) -> Option<&str> {
        value.split_whitespace().find(|w| w.starts_with('#'))
    }

    /// A `<style>` rule: its selector and declarations.
    struct Rule<'a> {
        selector: &'a str,
        decls: Vec<(&'a str, &'a str)>,
    }

    impl Rule<'_> {
        fn get(&self, names: &[&str]) -> Option<&str> {
            self.decls.iter().rev().find(|(n, _)| names.contains(n)).map(|(_, v)| *v)
        }
    }

    fn rules(html: &str) -> Vec<Rule<'_>> {
        let css = html.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).expect("a <style>");
        css.split('}')
            .filter_map(|r| r.split_once('{'))
            .map(|(selector, body)| Rule {
                selector: selector.trim(),
                decls: body.split(';').filter_map(|d| d.split_once(':')).map(|(n, v)| (n.trim(), v.trim())).collect(),
            })
            .collect()
    }

    /// Every colour pair of the page's stylesheet below WCAG 2.1 AA, in
    /// words. A rule's `color` is measured on its own `background`, or
    /// when it has none on every surface (the `body` and `main`
    /// backgrounds) it may sit on; a `background` without `color` against
    /// the inherited body colour; borders and focus outlines (UI
    /// components, 3:1) against every surface. Text is large (3:1) from
    /// 24px, or 18.66px bold.
    pub(crate) fn contrast_failures(html: &str) -> Vec<String> {
        let rules = rules(html);
        let mut failures = Vec::new();
        let bg_of = |sel: &str| {
            rules.iter().filter(|r| r.selector == sel).find_map(|r| r.get(&["background", "background-color"]))
        };
        let surfaces: Vec<&str> = ["body", "main"].into_iter().filter_map(bg_of).filter_map(hex_in).collect();
        let body_color = rules.iter().find(|r| r.selector == "body").and_then(|r| r.get(&["color"])).unwrap();
        assert_eq!(surfaces.len(), 2, "body and main declare their backgrounds");
        for r in &rules {
            let color = r.get(&["color"]);
            let background = r.get(&["background", "background-color"]);
            let size: f64 = r.get(&["font-size"]).and_then(|v| v.strip_suffix("px")?.parse().ok()).unwrap_or(16.0);
            let bold = r.get(&["font-weight"]).and_then(|w| w.parse::<u32>().ok()).is_some_and(|w| w >= 700);
            let need = if size >= 24.0 || (size >= 18.66 && bold) { 3.0 } else { 4.5 };
            let mut check = |fg: &str, bg: &str, need: f64| {
                let (Some(f), Some(b)) = (hex_in(fg), hex_in(bg)) else {
                    failures.push(format!("{}: colour not in #hex: {fg} on {bg}", r.selector));
                    return;
                };
                let ratio = contrast(f, b);
                if ratio < need {
                    failures.push(format!("{}: {f} on {b} is {ratio:.2}:1 < {need}:1", r.selector));
                }
            };
            match (color, background) {
                (Some(fg), Some(bg)) => check(fg, bg, need),
                (Some(fg), None) => surfaces.iter().for_each(|bg| check(fg, bg, need)),
                (None, Some(bg)) if r.selector != "body" => check(body_color, bg, need),
                _ => {}
            }
            for line in ["border", "border-color", "outline", "outline-color"] {
                // `border:0` and `outline:none` draw nothing.
                if let Some(v) = r.get(&[line]).filter(|v| !matches!(*v, "0" | "none")) {
                    surfaces.iter().for_each(|bg| check(v, bg, 3.0));
                }
            }
        }
        failures
    }

    /// What a reader of the page sees or hears: the text outside tags
    /// (without the stylesheet and script), the title, and the
    /// `aria-label`, `placeholder` and `alt` values.
    fn visible_text(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        for skip in ["<style>", "<script>"] {
            while let Some(at) = rest.find(skip) {
                let end = rest[at..].find("</").map_or(rest.len(), |e| at + e);
                out.push_str(&strip_tags(&rest[..at]));
                rest = &rest[end..];
            }
        }
        out.push_str(&strip_tags(rest));
        for attr in ["aria-label=\"", "placeholder=\"", "alt=\""] {
            for part in html.split(attr).skip(1) {
                out.push('|');
                out.push_str(part.split('"').next().unwrap_or_default());
            }
        }
        out
    }

    fn strip_tags(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    out.push('|');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }

    fn link() -> LinkFields<'static> {
        LinkFields { userkey: "OV0000000001", out_trade_no: "O1", sign: "s1", action: "/VMP/wap/payPage" }
    }

    /// Every buyer-facing page in `t`'s language, by name.
    pub(crate) fn every_page(t: &'static Texts) -> Vec<(String, String)> {
        let now = OffsetDateTime::from_unix_timestamp(1010).unwrap();
        let order = sample_order(Service::AlipayWap, Wallet::AlipayHk);
        let mut pages = Vec::new();
        let svg = super::super::pay_page::qr_svg("http://127.0.0.1/VMP/web/payPage?x=1");
        let qr = Qr { svg: &svg, url: "http://127.0.0.1/VMP/web/payPage?x=1" };
        for kind in PageKind::ALL {
            let qr = kind.shows_qr().then_some(&qr);
            if kind == PageKind::Cashier {
                let mut o = order.clone();
                o.wallet = None;
                pages.push((kind.name().to_owned(), super::super::cashier_page::page(&o, t, &link(), now)));
                continue;
            }
            pages.push((kind.name().to_owned(), checkout(kind, &order, t, &link(), qr, None, now)));
            if kind.is_card() {
                for problem in [CardProblem::Number, CardProblem::Expiry, CardProblem::Cvc, CardProblem::Scheme] {
                    let retry = CardRetry { problem, expiry: "12/30" };
                    let html = checkout(kind, &order, t, &link(), None, Some(&retry), now);
                    pages.push((format!("{} {problem:?}", kind.name()), html));
                }
            }
        }
        for (state, final_at) in [
            (OrderState::Pending, None),
            (OrderState::Paid, Some(1005)),
            (OrderState::Failed, Some(1005)),
            (OrderState::Closed, Some(1005)),
            (OrderState::Closed, Some(1060)),
            (OrderState::PartlyRefunded, Some(1005)),
        ] {
            let mut o = order.clone();
            o.state = state;
            o.final_at = final_at;
            let name = format!("result {state:?} {final_at:?}");
            pages.push((name, result(&o, t, now, (state == OrderState::Pending).then_some(t.server_no_state))));
        }
        let mut paid = order.clone();
        paid.state = OrderState::Paid;
        let payload = Params::new().with("trade_status", "TRADE_SUCCESS");
        pages.push(("return".into(), return_form(&paid, t, now, "https://m.example/r", &payload)));
        pages.push(("no-connector".into(), no_connector(&order, t)));
        pages.push(("invalid-link".into(), invalid_link(t)));
        pages.push(("error".into(), message("error", t, t.retry)));
        pages.extend(super::super::wallet_page::tests::every_page(t));
        pages
    }

    #[test]
    fn the_contrast_ratio_is_wcags_and_finds_the_old_palettes_failures() {
        // The figures of the user test, before the palettes changed.
        for (fg, bg, want) in [
            ("#ffffff", "#f39800", 2.26),
            ("#ffffff", "#07c160", 2.38),
            ("#ffffff", "#1677ff", 4.10),
            ("#888888", "#ffffff", 3.54),
            ("#000000", "#ffffff", 21.0),
            ("#fff", "#fff", 1.0),
        ] {
            assert!((contrast(fg, bg) - want).abs() < 0.01, "{fg} on {bg}: {}", contrast(fg, bg));
        }
        let old_octopus = shell("octopus", "Octopus", palette("#f39800"), &EN, "<p>x</p>");
        let failures = contrast_failures(&old_octopus);
        assert!(failures.iter().any(|f| f.starts_with("header: #ffffff on #f39800")), "{failures:?}");
        let grey_note = old_octopus.replace(".note{font-size:12px;color:#595959", ".note{font-size:12px;color:#888");
        assert!(contrast_failures(&grey_note).iter().any(|f| f.starts_with(".note: #888")));
    }

    #[test]
    fn every_page_meets_wcag_aa_contrast_in_every_language() {
        for t in [&EN, &CN, &HK] {
            for (name, html) in every_page(t) {
                let failures = contrast_failures(&html);
                assert!(failures.is_empty(), "{name} ({}): {failures:#?}", t.lang);
                assert!(!html.contains(" style=\""), "{name}: colours live in the <style> only");
            }
        }
    }

    #[test]
    fn every_page_has_one_h1_its_language_and_labelled_inputs() {
        for t in [&EN, &CN, &HK] {
            for (name, html) in every_page(t) {
                assert_eq!(html.matches("<h1").count(), 1, "{name}: one <h1>");
                assert!(html.contains(&format!("<html lang=\"{}\">", t.lang)), "{name}: lang {}", t.lang);
                for input in html.split("<input").skip(1).map(|i| i.split('>').next().unwrap()) {
                    if input.contains("type=\"hidden\"") {
                        continue;
                    }
                    let id = input.split("id=\"").nth(1).and_then(|i| i.split('"').next()).expect("an id");
                    assert!(html.contains(&format!("<label for=\"{id}\">")), "{name}: #{id} has a label");
                }
                for button in html.split("<button").skip(1) {
                    let text = button.split_once('>').unwrap().1.split("</button>").next().unwrap();
                    assert!(!text.trim().is_empty(), "{name}: a button without text");
                }
                if html.contains("<svg") {
                    assert!(html.contains("<svg role=\"img\" aria-label=\""), "{name}: the QR code has a name");
                    assert!(html.contains("<a id=\"pay-link\" href=\"http://127.0.0.1/"), "{name}: the link as text");
                }
            }
        }
    }

    #[test]
    fn no_chinese_page_shows_an_english_ui_string() {
        let english: Vec<(&str, &str)> = EN.all();
        for t in [&CN, &HK] {
            let theirs = t.all();
            for (name, html) in every_page(t) {
                let text = visible_text(&html);
                for ((field, en), (_, zh)) in english.iter().zip(&theirs) {
                    // Strings the languages share (`MM/YY`) are no English UI text.
                    if en != zh && en.len() > 3 {
                        let probe = en.split('{').next().unwrap().trim();
                        assert!(
                            probe.len() < 4 || !text.contains(probe),
                            "{name} ({}) shows EN {field}: {probe}",
                            t.lang
                        );
                    }
                }
                // And nothing else English slipped in: no two English words
                // in a row within one element's text.
                for pair in text.split('|').flat_map(|s| {
                    s.split_whitespace().collect::<Vec<_>>().windows(2).map(|w| [w[0], w[1]]).collect::<Vec<_>>()
                }) {
                    let english_word = |w: &str| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic());
                    assert!(
                        !(english_word(pair[0]) && english_word(pair[1])),
                        "{name} ({}): English words {:?} in {text}",
                        t.lang,
                        pair
                    );
                }
            }
        }
    }

    #[test]
    fn the_result_page_says_the_state_in_words() {
        let now = OffsetDateTime::from_unix_timestamp(1010).unwrap();
        let cases: [(OrderState, Option<i64>, i64, [&str; 3]); 7] = [
            (OrderState::Paid, Some(1005), 0, ["Payment successful", "支付成功", "付款成功"]),
            (OrderState::Failed, Some(1005), 0, ["Payment failed", "支付失败", "付款失敗"]),
            (OrderState::Closed, Some(1005), 0, ["Payment closed", "交易已关闭", "交易已關閉"]),
            (OrderState::Closed, Some(1060), 0, ["Payment expired", "支付已超时", "付款已逾時"]),
            (OrderState::Closed, Some(1100), 1000, ["Refunded", "已退款", "已退款"]),
            (
                OrderState::PartlyRefunded,
                Some(1005),
                100,
                ["Paid, partly refunded", "已支付，部分退款", "已付款，部分退款"],
            ),
            (OrderState::Pending, None, 0, ["Waiting for payment", "待支付", "待付款"]),
        ];
        for (state, final_at, refunded, words) in cases {
            let mut o = sample_order(Service::AlipayWap, Wallet::AlipayHk);
            (o.state, o.final_at, o.refunded_minor) = (state, final_at, refunded);
            for (t, want) in [&EN, &CN, &HK].into_iter().zip(words) {
                let html = result(&o, t, now, None);
                let shown = html.split("id=\"order-status\"").nth(1).unwrap();
                let shown = shown.split_once('>').unwrap().1.split('<').next().unwrap();
                assert_eq!(shown, want, "{state:?} {final_at:?} in {}", t.lang);
                assert!(html.contains(&format!("data-state=\"{}\"", state.wire_str())), "{state:?}");
                assert!(!html.contains(&format!(">{}<", state.as_str())), "no raw state shown");
            }
        }
        // Not swept yet, but its time ran out: expired, not pending.
        let o = sample_order(Service::AlipayWap, Wallet::AlipayHk);
        let later = OffsetDateTime::from_unix_timestamp(2000).unwrap();
        assert!(result(&o, &CN, later, None).contains(">支付已超时<"));
    }

    #[test]
    fn a_card_error_sits_next_to_its_field_and_keeps_the_expiry_only() {
        let order = sample_order(Service::MpgsWeb, Wallet::Mpgs);
        let now = OffsetDateTime::from_unix_timestamp(1010).unwrap();
        for (problem, field) in [
            (CardProblem::Number, "card_number"),
            (CardProblem::Scheme, "card_number"),
            (CardProblem::Expiry, "card_expiry"),
            (CardProblem::Cvc, "card_cvc"),
        ] {
            for t in [&EN, &CN, &HK] {
                let retry = CardRetry { problem, expiry: "12/3<0" };
                let html = checkout(PageKind::Mpgs, &order, t, &link(), None, Some(&retry), now);
                let input = html.split(&format!("<input id=\"{field}\"")).nth(1).unwrap().split('>').next().unwrap();
                assert!(input.contains("aria-invalid=\"true\" aria-describedby=\"error\""), "{problem:?}: {input}");
                let after = html.split(&format!("<input id=\"{field}\"")).nth(1).unwrap().split_once('>').unwrap().1;
                assert!(
                    after.starts_with(&format!(
                        "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
                        problem.text(t)
                    ))
                );
                assert!(html.contains("value=\"12/3&lt;0\""), "the expiry is kept, escaped");
                assert_eq!(html.matches("aria-invalid=\"true\"").count(), 1, "one field is wrong");
                for secret in ["card_number", "card_cvc"] {
                    let tag = html.split(&format!("<input id=\"{secret}\"")).nth(1).unwrap().split('>').next().unwrap();
                    assert!(!tag.contains("value="), "{secret} is never echoed");
                }
            }
        }
    }
}
