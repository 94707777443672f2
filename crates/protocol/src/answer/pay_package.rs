//! [`PayPackage`]: what the wallet takes to pay an order of the jsapi scene
//! (its JavaScript bridge) or of the app scene (its mobile SDK), as the
//! `payPackage` object of the sale's answer (docs/protocol.md "The jsapi
//! scene", "The app scene").
//!
//! On the wire a `payPackage` is a flat JSON object of strings, with the
//! keys the wallet's own API names (a merchant hands it over unchanged):
//!
//! | wallet | scene | keys |
//! |---|---|---|
//! | WeChat Pay | jsapi | `appId`, `timeStamp`, `nonceStr`, `package` (`prepay_id=…`), `signType`, `paySign` |
//! | Alipay | jsapi | `tradeNO` |
//! | WeChat Pay | app | `appid`, `partnerid`, `prepayid`, `package` (`Sign=WXPay`), `noncestr`, `timestamp`, `sign` |
//! | Alipay | app | `orderStr` |
//!
//! The answer's `sign` covers the object as its compact JSON text, like any
//! non-string value (docs/protocol.md "Signature").

use crate::params::Params;

use super::AnswerError;

/// The `package` of a WeChat Pay app payment (WeChat's fixed value).
pub const WECHAT_APP_PACKAGE: &str = "Sign=WXPay";

/// A WeChat Pay JSAPI package: the argument of the mini-program's
/// `wx.requestPayment` and of the official account's
/// `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatJsapiPackage {
    /// `appId`: the official account's or mini-program's id.
    pub app_id: String,
    /// `timeStamp`: unix seconds, as text.
    pub time_stamp: String,
    /// `nonceStr`.
    pub nonce_str: String,
    /// `package`: `prepay_id=…`.
    pub package: String,
    /// `signType`.
    pub sign_type: String,
    /// `paySign`: over [`WechatJsapiPackage::sign_text`].
    pub pay_sign: String,
}

impl WechatJsapiPackage {
    /// The text `paySign` covers: WeChat's own, every other key sorted,
    /// `appId=…&nonceStr=…&package=…&signType=…&timeStamp=…`.
    pub fn sign_text(&self) -> String {
        format!(
            "appId={}&nonceStr={}&package={}&signType={}&timeStamp={}",
            self.app_id, self.nonce_str, self.package, self.sign_type, self.time_stamp
        )
    }

    /// The prepay id in `package` (`prepay_id=…`), if it has that form.
    pub fn prepay_id(&self) -> Option<&str> {
        self.package.strip_prefix("prepay_id=")
    }
}

/// An Alipay JSAPI package: the argument of `my.tradePay` (mini-program)
/// and `AlipayJSBridge.call('tradePay', …)` (Alipay's in-app browser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayJsapiPackage {
    /// `tradeNO`: Alipay's trade number.
    pub trade_no: String,
}

/// A WeChat Pay app package: the fields of the mobile SDK's `PayReq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatAppPackage {
    /// `appid`: the app's id at WeChat.
    pub appid: String,
    /// `partnerid`: the merchant id at WeChat Pay.
    pub partnerid: String,
    /// `prepayid`.
    pub prepayid: String,
    /// `package`: always [`WECHAT_APP_PACKAGE`].
    pub package: String,
    /// `noncestr`.
    pub noncestr: String,
    /// `timestamp`: unix seconds, as text.
    pub timestamp: String,
    /// `sign`: over [`WechatAppPackage::sign_text`].
    pub sign: String,
}

impl WechatAppPackage {
    /// The text `sign` covers: WeChat's own, every other key sorted,
    /// `appid=…&noncestr=…&package=…&partnerid=…&prepayid=…&timestamp=…`.
    pub fn sign_text(&self) -> String {
        format!(
            "appid={}&noncestr={}&package={}&partnerid={}&prepayid={}&timestamp={}",
            self.appid, self.noncestr, self.package, self.partnerid, self.prepayid, self.timestamp
        )
    }
}

/// An Alipay app package: the signed order string the mobile SDK's
/// `payOrder` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayAppPackage {
    /// `orderStr`: `k=v` pairs joined by `&`, keys sorted, values
    /// URL-encoded, `sign` last (Alipay's form).
    pub order_str: String,
}

impl AlipayAppPackage {
    /// An order string of `fields` (sorted by key, values URL-encoded)
    /// signed with `sign`, computed over [`AlipayAppPackage::sign_text`] of
    /// the same fields.
    pub fn new(fields: &Params, sign: &str) -> Self {
        let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k, v.as_str())).collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            out.append_pair(k, v);
        }
        out.append_pair("sign", sign);
        Self { order_str: out.finish() }
    }

    /// The order string's fields (decoded, `sign` included).
    ///
    /// # Errors
    /// [`AnswerError`] when a key repeats.
    pub fn fields(&self) -> Result<Params, AnswerError> {
        crate::notify::params_from_form(self.order_str.as_bytes())
            .map_err(|e| AnswerError(format!("orderStr is not an order string: {e}")))
    }

    /// The text the order string's `sign` covers: every other field,
    /// sorted by key, `k=v` joined by `&`, values decoded (Alipay's rule).
    pub fn sign_text(fields: &Params) -> String {
        let mut pairs: Vec<(&str, &str)> =
            fields.iter().filter(|(k, _)| *k != "sign").map(|(k, v)| (k, v.as_str())).collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }
}

/// What the wallet takes to pay: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayPackage {
    /// WeChat Pay, jsapi scene.
    WechatJsapi(WechatJsapiPackage),
    /// Alipay, jsapi scene.
    AlipayJsapi(AlipayJsapiPackage),
    /// WeChat Pay, app scene.
    WechatApp(WechatAppPackage),
    /// Alipay, app scene.
    AlipayApp(AlipayAppPackage),
}

impl PayPackage {
    /// The flat object, keys in the wallet's order.
    pub fn to_params(&self) -> Params {
        match self {
            Self::WechatJsapi(w) => Params::new()
                .with("appId", &w.app_id)
                .with("timeStamp", &w.time_stamp)
                .with("nonceStr", &w.nonce_str)
                .with("package", &w.package)
                .with("signType", &w.sign_type)
                .with("paySign", &w.pay_sign),
            Self::AlipayJsapi(a) => Params::new().with("tradeNO", &a.trade_no),
            Self::WechatApp(w) => Params::new()
                .with("appid", &w.appid)
                .with("partnerid", &w.partnerid)
                .with("prepayid", &w.prepayid)
                .with("package", &w.package)
                .with("noncestr", &w.noncestr)
                .with("timestamp", &w.timestamp)
                .with("sign", &w.sign),
            Self::AlipayApp(a) => Params::new().with("orderStr", &a.order_str),
        }
    }

    /// Reads a package (from an answer's `payPackage`, or from what a page
    /// was handed), recognised by its keys.
    ///
    /// # Errors
    /// [`AnswerError`] when the keys are no wallet's, or one is missing.
    pub fn from_params(p: &Params) -> Result<Self, AnswerError> {
        let need = |name: &str| {
            p.get(name).map(str::to_owned).ok_or_else(|| AnswerError(format!("the payPackage has no {name}")))
        };
        if p.contains("paySign") {
            Ok(Self::WechatJsapi(WechatJsapiPackage {
                app_id: need("appId")?,
                time_stamp: need("timeStamp")?,
                nonce_str: need("nonceStr")?,
                package: need("package")?,
                sign_type: need("signType")?,
                pay_sign: need("paySign")?,
            }))
        } else if p.contains("tradeNO") {
            Ok(Self::AlipayJsapi(AlipayJsapiPackage { trade_no: need("tradeNO")? }))
        } else if p.contains("prepayid") {
            Ok(Self::WechatApp(WechatAppPackage {
                appid: need("appid")?,
                partnerid: need("partnerid")?,
                prepayid: need("prepayid")?,
                package: need("package")?,
                noncestr: need("noncestr")?,
                timestamp: need("timestamp")?,
                sign: need("sign")?,
            }))
        } else if p.contains("orderStr") {
            Ok(Self::AlipayApp(AlipayAppPackage { order_str: need("orderStr")? }))
        } else {
            Err(AnswerError("the payPackage is none of WeChat Pay's or Alipay's".to_owned()))
        }
    }

    /// Reads an answer's `payPackage` object.
    ///
    /// # Errors
    /// [`AnswerError`] when absent, not a JSON object, or no wallet's.
    pub fn from_answer(answer: &Params) -> Result<Self, AnswerError> {
        let object =
            answer.object("payPackage").ok_or_else(|| AnswerError("the answer has no payPackage object".to_owned()))?;
        Self::from_params(&object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_package_reads_back_from_its_object() {
        let packages = [
            PayPackage::WechatJsapi(WechatJsapiPackage {
                app_id: "wx0123456789abcdef".into(),
                time_stamp: "1767240000".into(),
                nonce_str: "n8Fq2LzR0pXe".into(),
                package: "prepay_id=wx01120000aa11bb22".into(),
                sign_type: "HMAC-SHA256".into(),
                pay_sign: "7D1E".into(),
            }),
            PayPackage::AlipayJsapi(AlipayJsapiPackage { trade_no: "2026010122001".into() }),
            PayPackage::WechatApp(WechatAppPackage {
                appid: "wxapp".into(),
                partnerid: "1900000109".into(),
                prepayid: "wx01".into(),
                package: WECHAT_APP_PACKAGE.into(),
                noncestr: "n".into(),
                timestamp: "1".into(),
                sign: "S".into(),
            }),
            PayPackage::AlipayApp(AlipayAppPackage::new(&Params::new().with("b", "x y").with("a", "&"), "s=1")),
        ];
        for p in packages {
            let answer = Params::new().with("return_status", "00").with_object("payPackage", &p.to_params());
            let again = Params::from_json(answer.to_json().as_bytes()).unwrap();
            assert_eq!(PayPackage::from_answer(&again), Ok(p));
        }
        assert!(PayPackage::from_params(&Params::new().with("x", "1")).is_err());
        assert!(PayPackage::from_answer(&Params::new().with("payPackage", "{}")).is_err(), "a string is no object");
    }

    #[test]
    fn sign_texts_are_the_wallets_own() {
        let w = WechatJsapiPackage {
            app_id: "wxd930ea5d5a258f4f".into(),
            time_stamp: "1414561699".into(),
            nonce_str: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into(),
            package: "prepay_id=123456789".into(),
            sign_type: "MD5".into(),
            pay_sign: String::new(),
        };
        assert_eq!(
            w.sign_text(),
            "appId=wxd930ea5d5a258f4f&nonceStr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=prepay_id=123456789&signType=MD5&timeStamp=1414561699"
        );
        assert_eq!(w.prepay_id(), Some("123456789"));
        let a =
            AlipayAppPackage::new(&Params::new().with("method", "alipay.trade.app.pay").with("app_id", "1"), "S+/=");
        assert_eq!(a.order_str, "app_id=1&method=alipay.trade.app.pay&sign=S%2B%2F%3D");
        let fields = a.fields().unwrap();
        assert_eq!(fields.get("sign"), Some("S+/="));
        assert_eq!(AlipayAppPackage::sign_text(&fields), "app_id=1&method=alipay.trade.app.pay");
    }
}
