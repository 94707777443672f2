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
