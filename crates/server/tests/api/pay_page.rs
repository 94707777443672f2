//! The page behind `pay_apptrade`.

use crate::helpers::spawn_app;

#[tokio::test]
async fn pay_link_opens_the_order_page_and_escapes_merchant_text() {
    let app = spawn_app().await;
    let mut p = app.seed_request("PAGE1");
    p.set("subject", "<script>alert('x')</script> & co");
    app.sign(&mut p);
    let answer = app.post(&p).await;
    let link = answer.get("pay_apptrade").unwrap().to_owned();

    let resp = app.client.get(&link).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("HKD 0.02"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), "{html}");
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn a_forged_or_reused_link_token_is_refused() {
    let app = spawn_app().await;
    let a = app.post(&app.seed_request("LINKA")).await;
    let b = app.post(&app.seed_request("LINKB")).await;
    let link_a = a.get("pay_apptrade").unwrap();
    let link_b = b.get("pay_apptrade").unwrap();
    let sign_b = link_b.rsplit_once("sign=").unwrap().1;

    let forged = format!("{}{}", &link_a[..link_a.len() - 1], if link_a.ends_with('0') { '1' } else { '0' });
    let reused = format!("{}sign={sign_b}", link_a.rsplit_once("sign=").unwrap().0);
    let missing = link_a.rsplit_once("&sign=").unwrap().0.to_owned();
    for (what, url) in [("forged", forged), ("token of another order", reused), ("no token", missing)] {
        let status = app.client.get(&url).send().await.unwrap().status().as_u16();
        assert_eq!(status, 404, "{what}: {url}");
    }
    assert_eq!(app.client.get(link_a).send().await.unwrap().status().as_u16(), 200);
}

/// The page's `<html lang>`.
fn html_lang(html: &str) -> &str {
    html.split("<html lang=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default()
}

#[tokio::test]
async fn the_page_speaks_the_orders_lang_else_the_browsers_language() {
    let app = spawn_app().await;
    // Alipay keeps no lang: the browser decides.
    let alipay = app.post(&app.seed_request("LANGPAGE1")).await.get("pay_apptrade").unwrap().to_owned();
    // MPGS keeps it: the order decides.
    let mut p = app.seed_request("LANGPAGE2");
    p.set("service", "service.mpgs.web.PreOrder").set("payType", "Mpgs").set("wallet", "MPGS").set("pay_scene", "WEB");
    p.set("lang", "hk");
    app.sign(&mut p);
    let mpgs = app.post(&p).await.get("pay_apptrade").unwrap().to_owned();
    let invalid = format!("{}/VMP/wap/payPage?userkey=NOPE&outTradeNo=X&sign=0", app.base);

    let cases: [(&str, &str, Option<&str>, &str, &str); 7] = [
        ("alipay, no header", &alipay, None, "en", "Confirm the payment (sandbox)."),
        ("alipay, zh-CN", &alipay, Some("zh-CN,zh;q=0.9,en;q=0.8"), "zh-CN", "请确认支付（沙箱）。"),
        ("alipay, zh-TW", &alipay, Some("zh-TW"), "zh-HK", "請確認付款（沙盒）。"),
        ("alipay, fr then en", &alipay, Some("fr-FR,en;q=0.5"), "en", "Confirm the payment (sandbox)."),
        ("mpgs lang=hk, zh-CN browser", &mpgs, Some("zh-CN"), "zh-HK", "測試卡："),
        ("invalid link, zh-CN", &invalid, Some("zh-CN"), "zh-CN", "支付链接无效"),
        ("invalid link, no header", &invalid, None, "en", "This payment link is not valid."),
    ];
    for (what, url, accept, lang, text) in cases {
        let mut req = app.client.get(url);
        if let Some(a) = accept {
            req = req.header("accept-language", a);
        }
        let html = req.send().await.unwrap().text().await.unwrap();
        assert_eq!(html_lang(&html), lang, "{what}");
        assert!(html.contains(text), "{what}: {html}");
    }
}

#[tokio::test]
async fn a_refused_card_form_keeps_the_expiry_and_never_echoes_the_number_or_code() {
    let app = spawn_app().await;
    let mut p = app.seed_request("CARDERR1");
    p.set("service", "service.mpgs.web.PreOrder").set("payType", "Mpgs").set("wallet", "MPGS").set("pay_scene", "WEB");
    p.set("lang", "cn");
    app.sign(&mut p);
    let link = app.post(&p).await.get("pay_apptrade").unwrap().to_owned();
    let token: Vec<(String, String)> = url::Url::parse(&link).unwrap().query_pairs().into_owned().collect();

    // (number, expiry, code, the field blamed, its error).
    let cases = [
        ("4111111111111112", "12/30", "123", "card_number", "卡号无效。"),
        ("4111111111111111", "13/30", "123", "card_expiry", "有效期格式须为 MM/YY。"),
        ("4111111111111111", "12/30", "98", "card_cvc", "安全码无效。"),
        ("378282246310005", "12/30", "9876", "card_number", "此处不接受这种卡。"),
    ];
    for (number, expiry, code, field, error) in cases {
        let mut form = token.clone();
        form.extend(
            [("outcome", "success"), ("card_number", number), ("card_expiry", expiry), ("card_cvc", code)]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let resp = app.client.post(format!("{}/VMP/web/payPage", app.base)).form(&form).send().await.unwrap();
        let html = resp.text().await.unwrap();
        assert!(html.contains(&format!("value=\"{expiry}\"")), "{field}: the expiry is kept");
        assert!(!html.contains(number), "{field}: the card number is never echoed");
        assert!(!html.contains(&format!("value=\"{code}\"")), "{field}: the code is never echoed");
        let input = html.split(&format!("<input id=\"{field}\"")).nth(1).unwrap();
        assert!(input.split('>').next().unwrap().contains("aria-invalid=\"true\""), "{field} is marked");
        assert!(input.contains(&format!("<p class=\"error\" id=\"error\" role=\"alert\">{error}</p>")), "{field}");
    }
    let stored = app.state.store().order_by_out_trade_no(&app.key, "CARDERR1").await.unwrap().unwrap();
    assert_eq!(stored.state.as_str(), "PENDING", "a refused form pays nothing");
}
