//! HTML of the hosted sandbox checkout pages, one look per wallet.
//!
//! Server-rendered, no JavaScript needed (the return-to-merchant form
//! auto-submits when scripts run, and offers a button when they don't).
//! Every merchant-supplied text goes through [`escape`]. No external
//! assets: the QR code is an inline SVG.

use time::OffsetDateTime;
use vmp_protocol::catalogue::Scene;
use vmp_protocol::{Params, PayScene, Service, Wallet};

use crate::domain::Order;
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

    pub(crate) fn brand(self) -> (&'static str, &'static str) {
        match self {
            Self::Alipay => ("Alipay", "#1677ff"),
            Self::AlipayQr => ("Alipay (scan to pay)", "#1677ff"),
            Self::WechatQr => ("WeChat Pay (scan to pay)", "#07c160"),
            Self::WechatH5 => ("WeChat Pay", "#07c160"),
            Self::WechatOauth => ("WeChat Pay (in WeChat)", "#07c160"),
            Self::Icbc => ("ICBC", "#c7000b"),
            Self::Unionpay => ("UnionPay online", "#e21836"),
            Self::Jetco => ("JETCO", "#00539b"),
            Self::Octopus => ("Octopus", "#f39800"),
            Self::Mpgs => ("Visa / Mastercard", "#1a1f71"),
            Self::Amex => ("American Express", "#2e77bb"),
            Self::PaymeQr => ("PayMe", "#db0011"),
            Self::PaymeApp => ("PayMe app", "#db0011"),
            Self::BocpayH5 => ("BOCPay", "#a6192e"),
            Self::BocpayApp => ("BOCPay app", "#a6192e"),
            Self::Cashier => ("eftPay cashier", "#0b5cab"),
            Self::AlipayScan => ("Alipay", "#1677ff"),
            Self::WechatScan => ("WeChat Pay", "#07c160"),
            Self::UnionpayScan => ("UnionPay", "#e21836"),
            Self::AtomeScan => ("Atome", "#1a1a1a"),
            Self::GbpayScan => ("GBPay", "#00875a"),
            Self::PaymeScan => ("PayMe", "#db0011"),
            Self::FpsScan => ("FPS", "#005eb8"),
            Self::EcnyScan => ("e-CNY", "#c8102e"),
        }
    }

    pub(crate) fn is_card(self) -> bool {
        matches!(self, Self::Mpgs | Self::Amex)
    }
}

/// Page texts in one language.
pub(crate) struct Texts {
    pub(crate) lang: &'static str,
    pub(crate) amount: &'static str,
    pub(crate) subject: &'static str,
    pub(crate) order: &'static str,
    pub(crate) time_left: &'static str,
    pub(crate) pay: &'static str,
    pub(crate) fail: &'static str,
    pub(crate) cancel: &'static str,
    pub(crate) card_number: &'static str,
    pub(crate) expiry: &'static str,
    pub(crate) cvc: &'static str,
    pub(crate) sandbox: &'static str,
    pub(crate) status: &'static str,
    pub(crate) back: &'static str,
}

const EN: Texts = Texts {
    lang: "en",
    amount: "Amount",
    subject: "Subject",
    order: "Order no.",
    time_left: "Time left",
    pay: "Pay",
    fail: "Simulate failure",
    cancel: "Cancel",
    card_number: "Card number",
    expiry: "Expiry (MM/YY)",
    cvc: "Security code",
    sandbox: "Sandbox: no real money moves.",
    status: "Status",
    back: "Return to merchant",
};
const CN: Texts = Texts {
    lang: "zh-CN",
    amount: "金额",
    subject: "商品",
    order: "订单号",
    time_left: "剩余时间",
    pay: "支付",
    fail: "模拟失败",
    cancel: "取消",
    card_number: "卡号",
    expiry: "有效期 (MM/YY)",
    cvc: "安全码",
    sandbox: "沙箱环境：不会产生真实扣款。",
    status: "状态",
    back: "返回商户",
};
const HK: Texts = Texts {
    lang: "zh-HK",
    amount: "金額",
    subject: "商品",
    order: "訂單號",
    time_left: "剩餘時間",
    pay: "付款",
    fail: "模擬失敗",
    cancel: "取消",
    card_number: "卡號",
    expiry: "有效期 (MM/YY)",
    cvc: "安全碼",
    sandbox: "沙盒環境：不會產生真實扣款。",
    status: "狀態",
    back: "返回商戶",
};

pub(crate) fn texts(lang: Option<&str>) -> &'static Texts {
    match lang {
        Some("cn") => &CN,
        Some("hk") => &HK,
        _ => &EN,
    }
}

/// A page of the sandbox's look: `kind_name` is its `data-page-kind`.
pub(crate) fn shell(kind_name: &str, brand: &str, color: &str, lang: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{brand} · OpenVMP sandbox</title><link rel=\"icon\" href=\"data:,\"><style>\
         body{{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}}\
         header{{background:{color};color:#fff;padding:16px 20px;font-size:20px;font-weight:600}}\
         main{{box-sizing:border-box;width:calc(100% - 24px);max-width:420px;margin:16px auto;background:#fff;border-radius:10px;padding:20px;box-shadow:0 1px 4px #0002}}\
         button,input{{font:inherit}}\
         dl{{display:grid;grid-template-columns:auto 1fr;gap:6px 14px}}dt{{color:#666}}dd{{margin:0;word-break:break-all}}\
         #amount{{font-size:24px;font-weight:700}}\
         button{{width:100%;padding:12px;margin-top:10px;border:0;border-radius:8px;font-size:16px;cursor:pointer}}\
         #pay{{background:{color};color:#fff}}#fail{{background:#fbe9e7}}#cancel{{background:#eee}}\
         label{{display:block;margin-top:10px;font-size:14px;color:#444}}input{{width:100%;padding:10px;box-sizing:border-box;font-size:16px}}\
         .note{{font-size:12px;color:#888;margin-top:14px}}.error{{color:#b00020;font-weight:600}}#qr svg{{display:block;margin:10px auto}}\
         </style></head><body data-page-kind=\"{kind_name}\"><header>{brand}</header><main>{body}\
         </main></body></html>"
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

/// The pay page of an order whose wallet has no connector (production):
/// says so, naming the wallet, instead of a checkout whose button cannot
/// work. Served with HTTP 503.
pub(crate) fn no_connector(o: &Order) -> String {
    let wallet = escape(o.wallet.map_or("eftPay cashier", |w| w.as_str()));
    let t = texts(o.lang.as_deref());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{wallet} payments unavailable · OpenVMP</title><link rel=\"icon\" href=\"data:,\"></head>\
         <body data-page-kind=\"no-connector\"><main><h1 id=\"unavailable\">{wallet} payments are not available \
         on this gateway</h1><p id=\"why\">This OpenVMP gateway runs in production mode and has no connector to \
         the {wallet} wallet, so this order cannot be paid here. OpenVMP's only wallet connector today is the \
         sandbox's, which works in sandbox mode only.</p><p>The order stays unpaid; nothing was charged.</p>{}\
         </main></body></html>",
        details(o, t, None)
    )
}

/// Hidden fields that carry the link token through the form.
pub(crate) struct LinkFields<'a> {
    pub userkey: &'a str,
    pub out_trade_no: &'a str,
    pub sign: &'a str,
    pub action: &'a str,
}

/// The checkout page of a pending order.
pub(crate) fn checkout(
    o: &Order,
    link: &LinkFields<'_>,
    qr_svg: Option<&str>,
    error: Option<&str>,
    now: OffsetDateTime,
) -> String {
    let kind = PageKind::of(o);
    let (brand, color) = kind.brand();
    let t = texts(o.lang.as_deref());
    let intro = match kind {
        PageKind::PaymeQr => "Scan with the PayMe app to pay.",
        PageKind::AlipayQr => "Scan with the Alipay app to pay.",
        PageKind::WechatQr => "Scan with WeChat to pay.",
        PageKind::PaymeApp => "The PayMe app opened this payment (sandbox app).",
        PageKind::BocpayH5 | PageKind::BocpayApp => "The BOCPay app opened this payment (sandbox app).",
        PageKind::WechatOauth => "Paying inside WeChat (sandbox).",
        PageKind::Octopus => "Pay with Octopus (sandbox).",
        _ => "Confirm the payment (sandbox).",
    };
    let scan_intro;
    let intro = if kind.is_scan() {
        scan_intro = format!("You scanned the till's QR code: this page stands in for the {brand} app (sandbox).");
        scan_intro.as_str()
    } else {
        intro
    };
    let mut body = String::new();
    body.push_str(&format!("<p id=\"intro\">{intro}</p>"));
    body.push_str(&details(o, t, Some(now)));
    if let Some(svg) = qr_svg {
        body.push_str(&format!("<div id=\"qr\">{svg}</div>"));
    }
    if let Some(e) = error {
        body.push_str(&format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)));
    }
    body.push_str(&format!(
        "<form id=\"pay-form\" method=\"post\" action=\"{action}\" autocomplete=\"off\">\
         <input type=\"hidden\" name=\"userkey\" value=\"{uk}\"><input type=\"hidden\" name=\"outTradeNo\" value=\"{out}\">\
         <input type=\"hidden\" name=\"sign\" value=\"{sign}\">",
        action = escape(link.action),
        uk = escape(link.userkey),
        out = escape(link.out_trade_no),
        sign = escape(link.sign),
    ));
    if kind.is_card() {
        body.push_str(&format!(
            "<label for=\"card_number\">{}</label><input id=\"card_number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"off\">\
             <label for=\"card_expiry\">{}</label><input id=\"card_expiry\" name=\"card_expiry\" placeholder=\"MM/YY\" autocomplete=\"off\">\
             <label for=\"card_cvc\">{}</label><input id=\"card_cvc\" name=\"card_cvc\" inputmode=\"numeric\" autocomplete=\"off\">",
            t.card_number, t.expiry, t.cvc
        ));
    }
    body.push_str(&format!(
        "<button id=\"pay\" name=\"outcome\" value=\"success\">{}</button>\
         <button id=\"fail\" name=\"outcome\" value=\"fail\">{}</button>\
         <button id=\"cancel\" name=\"outcome\" value=\"cancel\">{}</button></form>",
        t.pay, t.fail, t.cancel
    ));
    let cards = match kind {
        PageKind::Mpgs => {
            " Test cards: 4111 1111 1111 1111 (Visa), 5123 4500 0000 0008 (Mastercard) pay; 4000 0000 0000 0002 is declined."
        }
        PageKind::Amex => " Test cards: 3782 822463 10005, 3714 496353 98431 pay; 3400 000000 00009 is declined.",
        k if k.is_scan() => {
            " Amounts ending .81 pay, .77 fail, .80 time out (closed), .45 leave the order pending; Pay decides the rest."
        }
        _ => "",
    };
    body.push_str(&format!("<p class=\"note\">{}{cards}</p>", t.sandbox));
    shell(kind.name(), brand, color, t.lang, &body)
}

/// The page shown once an order is final (or when paying errs).
pub(crate) fn result(o: &Order, message: Option<&str>) -> String {
    let kind = PageKind::of(o);
    let (brand, color) = kind.brand();
    let t = texts(o.lang.as_deref());
    let mut body = details(o, t, None);
    body.push_str(&format!("<p>{}: <strong id=\"order-status\">{}</strong></p>", t.status, escape(o.state.as_str())));
    if let Some(m) = message {
        body.push_str(&format!("<p class=\"error\" id=\"error\">{}</p>", escape(m)));
    }
    shell("result", brand, color, t.lang, &body)
}

/// Auto-submitting POST of the signed `trade_status_sync` payload to the
/// merchant's `return_url` (docs/protocol.md "Notifications"). Works without JavaScript too.
pub(crate) fn return_form(o: &Order, return_url: &str, payload: &Params) -> String {
    let (brand, color) = PageKind::of(o).brand();
    let t = texts(o.lang.as_deref());
    let mut body = format!(
        "<p>{}: <strong id=\"order-status\">{}</strong></p><form id=\"return-form\" method=\"post\" action=\"{}\">",
        t.status,
        escape(o.state.as_str()),
        escape(return_url)
    );
    for (k, v) in payload.iter() {
        body.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v.as_str())));
    }
    body.push_str(&format!(
        "<button id=\"return\" type=\"submit\">{}</button></form><script>document.getElementById('return-form').submit();</script>",
        t.back
    ));
    shell("return", brand, color, t.lang, &body)
}
