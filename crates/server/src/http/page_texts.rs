//! Every string the buyer-facing pages show, in the three languages of
//! `lang` (docs/protocol.md "Pay page languages"): `cn` Simplified
//! Chinese, `hk` Traditional Chinese (Hong Kong wording), `en` English.
//!
//! A page picks one table with [`texts_for`]: the order's `lang` where the
//! order keeps one (OCT, MPGS, AE), else the browser's `Accept-Language`,
//! else English. Templates hold `{app}`, `{wallet}`, `{place}`, `{pay}`
//! or `{declined}`, filled in with [`fill`].

use axum::http::{HeaderMap, header};
use vmp_protocol::fields::Lang;

/// Declares [`Texts`] and, for the tests, the list of its strings.
macro_rules! texts {
    ($($(#[$doc:meta])* $field:ident,)*) => {
        /// The pages' strings in one language.
        pub(crate) struct Texts {
            /// Which language this table is.
            pub(crate) which: Lang,
            /// The `<html lang>` value.
            pub(crate) lang: &'static str,
            $($(#[$doc])* pub(crate) $field: &'static str,)*
        }

        impl Texts {
            /// Every string of the table, by field name.
            #[cfg(test)]
            pub(crate) fn all(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($field), self.$field)),*]
            }
        }
    };
}

texts! {
    /// Label of the amount.
    amount,
    /// Label of the subject.
    subject,
    /// Label of the merchant's order number.
    order,
    /// Label of the countdown.
    time_left,
    /// The pay button.
    pay,
    /// The simulate-failure button.
    fail,
    /// The cancel button.
    cancel,
    /// Card form: the number's label.
    card_number,
    /// Card form: the expiry's label.
    expiry,
    /// Card form: the security code's label.
    cvc,
    /// The sandbox note on every page.
    sandbox,
    /// Label of the order's state.
    status,
    /// The return-to-merchant button and link.
    back,
    /// Wallet stand-ins: label of the payee.
    payee,
    /// Wallet stand-ins: label of the buyer's id.
    buyer,
    /// Intro of most checkouts.
    intro_confirm,
    /// Intro of the Octopus checkout.
    intro_octopus,
    /// Intro of WeChat Pay inside WeChat.
    intro_in_wechat,
    /// Intro of an app scene page (`{app}`).
    intro_app,
    /// Intro of a desktop QR page (`{app}`).
    intro_scan_qr,
    /// Intro of a qrcode scan stand-in (`{app}`).
    intro_scanned,
    /// Intro of the cashier.
    intro_cashier,
    /// Intro of a jsapi/app wallet stand-in (`{app}`, `{place}`).
    intro_wallet,
    /// `{place}` of a mini-program.
    place_applets,
    /// `{place}` of an official account.
    place_public,
    /// `{place}` of an H5 page.
    place_h5,
    /// Wallet stand-ins: the package check passed.
    package_verified,
    /// Wallet stand-ins: label of what the bridge or SDK hands back.
    returned_to_code,
    /// The QR code's accessible name (`{app}`).
    qr_label,
    /// Before the pay link shown as text under the QR code.
    qr_link,
    /// Card pages: the test cards (`{pay}`, `{declined}`).
    test_cards,
    /// Scan stand-ins: the sandbox amounts.
    scan_amounts,
    /// Card error: the number.
    err_card_number,
    /// Card error: the expiry.
    err_expiry,
    /// Card error: the security code.
    err_cvc,
    /// Card error: the scheme is not this page's.
    err_scheme,
    /// The sandbox amount `.45`.
    server_no_state,
    /// State: pending.
    state_pending,
    /// State: paid.
    state_paid,
    /// State: failed.
    state_failed,
    /// State: closed (cancelled or closed by the merchant).
    state_closed,
    /// State: closed because its time ran out.
    state_expired,
    /// State: paid, refunded in part.
    state_part_refunded,
    /// State: refunded in full.
    state_refunded,
    /// No connector: the heading (`{wallet}`).
    unavailable_title,
    /// No connector: why (`{wallet}`).
    unavailable_why,
    /// No connector: nothing happened.
    unavailable_unpaid,
    /// Invalid link: the heading.
    not_found_title,
    /// Invalid link: the text.
    not_found_text,
    /// Wallet stand-ins outside sandbox mode.
    sandbox_only,
    /// Heading of a refused payPackage and of error pages.
    refused_title,
    /// A payPackage no wallet's.
    refused_unreadable,
    /// A changed payPackage.
    refused_bad_signature,
    /// A payPackage not issued for its order.
    refused_not_issued,
    /// A payPackage on the other scene's page.
    refused_wrong_place,
    /// Heading of the error pages.
    error_title,
    /// The store is unavailable.
    retry,
    /// A form that cannot be read.
    malformed_form,
    /// An outcome that is none of the buttons'.
    unknown_outcome,
    /// Pay on a cashier order without a wallet.
    choose_wallet_first,
    /// A wallet code that is none.
    unknown_wallet,
    /// A wallet the cashier does not offer.
    wallet_not_offered,
}

/// English.
pub(crate) const EN: Texts = Texts {
    which: Lang::En,
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
    payee: "Payee",
    buyer: "Buyer",
    intro_confirm: "Confirm the payment (sandbox).",
    intro_octopus: "Pay with Octopus (sandbox).",
    intro_in_wechat: "Paying inside WeChat (sandbox).",
    intro_app: "The {app} app opened this payment (sandbox app).",
    intro_scan_qr: "Scan with the {app} app to pay.",
    intro_scanned: "You scanned the till's QR code: this page stands in for the {app} app (sandbox).",
    intro_cashier: "Choose how to pay.",
    intro_wallet: "{app}{place} asks you to pay (sandbox).",
    place_applets: " (mini-program)",
    place_public: " (official account)",
    place_h5: " (H5 page)",
    package_verified: "payPackage verified.",
    returned_to_code: "Returned to the merchant's code",
    qr_label: "QR code to pay with the {app} app",
    qr_link: "Cannot scan? Open the payment link:",
    test_cards: "Test cards: {pay} pay; {declined} is declined.",
    scan_amounts: "Amounts ending .81 pay, .77 fail, .80 time out (closed), .45 leave the order pending; Pay decides the rest.",
    err_card_number: "Card number is not valid.",
    err_expiry: "Expiry must be MM/YY.",
    err_cvc: "Security code is not valid.",
    err_scheme: "Card scheme not accepted here.",
    server_no_state: "Server error: the wallet returned no state (sandbox amount .45). The order stays pending.",
    state_pending: "Waiting for payment",
    state_paid: "Payment successful",
    state_failed: "Payment failed",
    state_closed: "Payment closed",
    state_expired: "Payment expired",
    state_part_refunded: "Paid, partly refunded",
    state_refunded: "Refunded",
    unavailable_title: "{wallet} payments are not available on this gateway",
    unavailable_why: "This OpenVMP gateway runs in production mode and has no connector to the {wallet} wallet, so \
                      this order cannot be paid here. OpenVMP's only wallet connector today is the sandbox's, which \
                      works in sandbox mode only.",
    unavailable_unpaid: "The order stays unpaid; nothing was charged.",
    not_found_title: "Payment link not valid",
    not_found_text: "This payment link is not valid. Ask the merchant for a new one.",
    sandbox_only: "Sandbox mode only.",
    refused_title: "Payment refused",
    refused_unreadable: "This is no payPackage of WeChat Pay or Alipay.",
    refused_bad_signature: "Payment refused: the payPackage's signature does not verify: it was changed after the \
                            gateway issued it.",
    refused_not_issued: "Payment refused: the payPackage is not the one issued for its order.",
    refused_wrong_place: "Payment refused: this payPackage belongs to the other scene's page.",
    error_title: "Something went wrong",
    retry: "Temporarily unavailable, please retry.",
    malformed_form: "Malformed form.",
    unknown_outcome: "Unknown outcome.",
    choose_wallet_first: "Choose a wallet first.",
    unknown_wallet: "Unknown wallet.",
    wallet_not_offered: "The cashier does not offer this wallet.",
};

/// Simplified Chinese (`cn`).
pub(crate) const CN: Texts = Texts {
    which: Lang::Cn,
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
    payee: "收款方",
    buyer: "付款人",
    intro_confirm: "请确认支付（沙箱）。",
    intro_octopus: "使用八达通支付（沙箱）。",
    intro_in_wechat: "正在微信内支付（沙箱）。",
    intro_app: "{app}应用已打开这笔支付（沙箱应用）。",
    intro_scan_qr: "请用{app}扫码支付。",
    intro_scanned: "你已扫描收银台的二维码：本页模拟{app}应用（沙箱）。",
    intro_cashier: "请选择支付方式。",
    intro_wallet: "{app}{place}请求你支付（沙箱）。",
    place_applets: "（小程序）",
    place_public: "（公众号）",
    place_h5: "（H5 页面）",
    package_verified: "支付参数 payPackage 已验证。",
    returned_to_code: "返回给商户代码的结果",
    qr_label: "用{app}扫码支付的二维码",
    qr_link: "无法扫码？打开支付链接：",
    test_cards: "测试卡：{pay} 可以支付；{declined} 会被拒绝。",
    scan_amounts: "金额尾数 .81 支付成功，.77 支付失败，.80 超时（关闭），.45 订单保持待支付；其余由“支付”按钮决定。",
    err_card_number: "卡号无效。",
    err_expiry: "有效期格式须为 MM/YY。",
    err_cvc: "安全码无效。",
    err_scheme: "此处不接受这种卡。",
    server_no_state: "服务器错误：钱包没有返回状态（沙箱金额 .45）。订单保持待支付。",
    state_pending: "待支付",
    state_paid: "支付成功",
    state_failed: "支付失败",
    state_closed: "交易已关闭",
    state_expired: "支付已超时",
    state_part_refunded: "已支付，部分退款",
    state_refunded: "已退款",
    unavailable_title: "本网关不支持{wallet}支付",
    unavailable_why: "此 OpenVMP 网关以生产模式运行，没有连接{wallet}钱包，因此无法在这里支付这笔订单。\
                      OpenVMP 目前唯一的钱包连接器是沙箱的，只在沙箱模式下可用。",
    unavailable_unpaid: "订单保持未支付，没有产生任何扣款。",
    not_found_title: "支付链接无效",
    not_found_text: "此支付链接无效，请向商户索取新的链接。",
    sandbox_only: "仅限沙箱模式。",
    refused_title: "付款被拒绝",
    refused_unreadable: "这不是微信支付或支付宝的 payPackage。",
    refused_bad_signature: "付款被拒绝：payPackage 的签名验证失败，它在网关签发后被修改过。",
    refused_not_issued: "付款被拒绝：这个 payPackage 不是为其订单签发的。",
    refused_wrong_place: "付款被拒绝：这个 payPackage 属于另一个场景的页面。",
    error_title: "出错了",
    retry: "暂时无法使用，请重试。",
    malformed_form: "表单格式错误。",
    unknown_outcome: "未知的操作。",
    choose_wallet_first: "请先选择钱包。",
    unknown_wallet: "未知的钱包。",
    wallet_not_offered: "收银台不提供这个钱包。",
};

/// Traditional Chinese, Hong Kong wording (`hk`).
pub(crate) const HK: Texts = Texts {
    which: Lang::Hk,
    lang: "zh-HK",
    amount: "金額",
    subject: "商品",
    order: "訂單編號",
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
    payee: "收款方",
    buyer: "付款人",
    intro_confirm: "請確認付款（沙盒）。",
    intro_octopus: "使用八達通付款（沙盒）。",
    intro_in_wechat: "正在微信內付款（沙盒）。",
    intro_app: "{app}應用程式已開啟這筆付款（沙盒應用程式）。",
    intro_scan_qr: "請用{app}掃碼付款。",
    intro_scanned: "你已掃描收銀機的二維碼：本頁模擬{app}應用程式（沙盒）。",
    intro_cashier: "請選擇付款方式。",
    intro_wallet: "{app}{place}請求你付款（沙盒）。",
    place_applets: "（小程式）",
    place_public: "（公眾號）",
    place_h5: "（H5 頁面）",
    package_verified: "付款參數 payPackage 已驗證。",
    returned_to_code: "返回給商戶程式的結果",
    qr_label: "用{app}掃碼付款的二維碼",
    qr_link: "未能掃碼？開啟付款連結：",
    test_cards: "測試卡：{pay} 可以付款；{declined} 會被拒絕。",
    scan_amounts: "金額尾數 .81 付款成功，.77 付款失敗，.80 逾時（關閉），.45 訂單保持待付款；其餘由「付款」按鈕決定。",
    err_card_number: "卡號無效。",
    err_expiry: "有效期格式須為 MM/YY。",
    err_cvc: "安全碼無效。",
    err_scheme: "此處不接受這種卡。",
    server_no_state: "伺服器錯誤：錢包沒有返回狀態（沙盒金額 .45）。訂單保持待付款。",
    state_pending: "待付款",
    state_paid: "付款成功",
    state_failed: "付款失敗",
    state_closed: "交易已關閉",
    state_expired: "付款已逾時",
    state_part_refunded: "已付款，部分退款",
    state_refunded: "已退款",
    unavailable_title: "本網關不支援{wallet}付款",
    unavailable_why: "此 OpenVMP 網關以正式模式運行，沒有連接{wallet}錢包，因此無法在這裏為這筆訂單付款。\
                      OpenVMP 目前唯一的錢包連接器屬於沙盒，只在沙盒模式下可用。",
    unavailable_unpaid: "訂單保持未付款，沒有任何扣款。",
    not_found_title: "付款連結無效",
    not_found_text: "此付款連結無效，請向商戶索取新的連結。",
    sandbox_only: "只限沙盒模式。",
    refused_title: "付款被拒絕",
    refused_unreadable: "這不是微信支付或支付寶的 payPackage。",
    refused_bad_signature: "付款被拒絕：payPackage 的簽名驗證失敗，它在網關簽發後被修改過。",
    refused_not_issued: "付款被拒絕：這個 payPackage 不是為其訂單簽發的。",
    refused_wrong_place: "付款被拒絕：這個 payPackage 屬於另一個場景的頁面。",
    error_title: "出現錯誤",
    retry: "暫時未能使用，請重試。",
    malformed_form: "表格格式錯誤。",
    unknown_outcome: "未知的操作。",
    choose_wallet_first: "請先選擇錢包。",
    unknown_wallet: "未知的錢包。",
    wallet_not_offered: "收銀台不提供這個錢包。",
};

/// The table of a `lang`.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Cn => &CN,
        Lang::Hk => &HK,
        Lang::En => &EN,
    }
}

/// One of three translations, by language: `[en, cn, hk]`.
pub(crate) fn pick(t: &Texts, names: [&'static str; 3]) -> &'static str {
    match t.which {
        Lang::En => names[0],
        Lang::Cn => names[1],
        Lang::Hk => names[2],
    }
}

/// The language of a page: the order's `lang` (`cn`, `hk`, `en`) where it
/// has one, else the browser's first supported `Accept-Language`, else
/// English.
pub(crate) fn texts_for(order_lang: Option<&str>, headers: &HeaderMap) -> &'static Texts {
    let lang = order_lang
        .and_then(Lang::parse)
        .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(from_accept_language));
    texts(lang.unwrap_or(Lang::En))
}

/// The preferred supported language of an `Accept-Language` value: by
/// `q` (highest first, ties in order); `zh-HK`, `zh-MO`, `zh-TW` and
/// `zh-Hant*` are `hk`, any other `zh*` is `cn`, `en*` is `en`; others are
/// skipped.
pub(crate) fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(0.0)))
            .unwrap_or(1.0);
        let lang = if tag == "zh" || tag.starts_with("zh-") {
            let traditional = ["zh-hk", "zh-mo", "zh-tw", "zh-hant"].iter().any(|p| tag.starts_with(p));
            if traditional { Lang::Hk } else { Lang::Cn }
        } else if tag == "en" || tag.starts_with("en-") {
            Lang::En
        } else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// `template` with each `{key}` replaced by its value.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        let cases: [(&str, Option<Lang>); 10] = [
            ("zh-HK,zh;q=0.9,en;q=0.8", Some(Lang::Hk)),
            ("zh-TW", Some(Lang::Hk)),
            ("zh-Hant-HK", Some(Lang::Hk)),
            ("zh-CN,zh;q=0.9", Some(Lang::Cn)),
            ("zh", Some(Lang::Cn)),
            ("en-US,en;q=0.9", Some(Lang::En)),
            ("fr-FR,fr;q=0.9,zh-HK;q=0.5", Some(Lang::Hk)),
            ("en;q=0.5,zh-CN;q=0.8", Some(Lang::Cn)),
            ("fr, de", None),
            ("zh-CN;q=0", None),
        ];
        for (header, want) in cases {
            assert_eq!(from_accept_language(header), want, "{header}");
        }
    }

    #[test]
    fn the_order_lang_wins_over_the_browser() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, "zh-CN".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(texts_for(Some("hk"), &h).lang, "zh-HK");
        assert_eq!(texts_for(None, &h).lang, "zh-CN");
        assert_eq!(texts_for(Some("fr"), &h).lang, "zh-CN", "a lang the order cannot keep falls through");
        assert_eq!(texts_for(None, &HeaderMap::new()).lang, "en");
    }

    #[test]
    fn every_table_fills_every_string() {
        for t in [&EN, &CN, &HK] {
            for (field, text) in t.all() {
                assert!(!text.trim().is_empty(), "{}: {field} is empty", t.lang);
            }
        }
        // Templates keep their placeholders in every language.
        for ((field, en), ((_, cn), (_, hk))) in EN.all().into_iter().zip(CN.all().into_iter().zip(HK.all())) {
            for key in ["{app}", "{wallet}", "{place}", "{pay}", "{declined}"] {
                assert_eq!(en.contains(key), cn.contains(key), "cn {field} {key}");
                assert_eq!(en.contains(key), hk.contains(key), "hk {field} {key}");
            }
        }
    }
}
