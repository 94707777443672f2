// Transitional: the old Place an Order table, removed once every user reads `catalogue`.
//! The catalogue of Place an Order services, as data, in one place.
//!
//! Source: the API page's "supported services" tables (service ↔ payType ↔
//! wallet, service ↔ pay_scene, service ↔ lang). Services that the page's
//! pay_scene table does not list take the page's default, `WEB`.

/// One Place an Order service of the API page.
#[derive(Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The `service` parameter, e.g. `service.alipay.wap.PreOrder`.
    pub name: &'static str,
    /// The one `payType` this service accepts.
    pub pay_type: &'static str,
    /// The `wallet` values this service accepts.
    pub wallets: &'static [&'static str],
    /// The `pay_scene` values this service accepts; the first is the default
    /// used when a request leaves `pay_scene` out.
    pub pay_scenes: &'static [&'static str],
    /// Whether the hosted page honours `lang` (cn, en, hk).
    pub supports_lang: bool,
    /// The page's description of the interface.
    pub description: &'static str,
}

impl ServiceSpec {
    /// The `pay_scene` used when the request sends none.
    pub fn default_pay_scene(&self) -> &'static str {
        self.pay_scenes[0]
    }

    /// Whether `wallet` is valid for this service.
    pub fn accepts_wallet(&self, wallet: &str) -> Option<&'static str> {
        self.wallets.iter().copied().find(|w| *w == wallet)
    }

    /// Whether `scene` is valid for this service.
    pub fn accepts_pay_scene(&self, scene: &str) -> Option<&'static str> {
        self.pay_scenes.iter().copied().find(|s| *s == scene)
    }
}

/// All ten Place an Order services of the API page.
pub static PRE_ORDER_SERVICES: [ServiceSpec; 10] = [
    ServiceSpec {
        name: "service.alipay.wap.PreOrder",
        pay_type: "Alipay",
        wallets: &["ALIPAYCN", "ALIPAYHK"],
        pay_scenes: &["WAP"],
        supports_lang: false,
        description: "Alipay wap interface",
    },
    ServiceSpec {
        name: "service.wechat.web.MobileH5",
        pay_type: "WeChat",
        wallets: &["WECHATCN", "WECHATHK"],
        pay_scenes: &["WEB"],
        supports_lang: false,
        description: "Non-WeChat mobile browser H5 interface",
    },
    ServiceSpec {
        name: "service.wechat.oauth2.Authorize",
        pay_type: "WeChat",
        wallets: &["WECHATCN", "WECHATHK"],
        pay_scenes: &["WXWEB"],
        supports_lang: false,
        description: "WeChat public H5 interface",
    },
    ServiceSpec {
        name: "service.icbc.wap.PreOrder",
        pay_type: "ICBC",
        wallets: &["ICBCWAP"],
        pay_scenes: &["WEB"],
        supports_lang: false,
        description: "ICBC wap interface",
    },
    ServiceSpec {
        name: "service.unionpay.online.web.PreOrder",
        pay_type: "UnionPay",
        wallets: &["UNIONPAY"],
        pay_scenes: &["ONLINE_WEB"],
        supports_lang: false,
        description: "UnionPay online cashier interface",
    },
    ServiceSpec {
        name: "service.oct.online.PreOrder",
        pay_type: "OCT",
        wallets: &["OCT"],
        pay_scenes: &["WEB"],
        supports_lang: true,
        description: "Octopus online payment interface",
    },
    ServiceSpec {
        name: "service.mpgs.web.PreOrder",
        pay_type: "Mpgs",
        wallets: &["MPGS"],
        pay_scenes: &["WEB"],
        supports_lang: true,
        description: "MPGS's VISA, Master payment",
    },
    ServiceSpec {
        name: "service.ae.web.PreOrder",
        pay_type: "AE",
        wallets: &["AE"],
        pay_scenes: &["WEB"],
        supports_lang: true,
        description: "AE payment",
    },
    ServiceSpec {
        name: "service.payme.web.PreOrder",
        pay_type: "PAYME",
        wallets: &["PAYME"],
        pay_scenes: &["WEB", "APP"],
        supports_lang: false,
        description: "PayMe web payment interface",
    },
    ServiceSpec {
        name: "service.bocvmp.upi.wap.PreOrder",
        pay_type: "BOCVMP",
        wallets: &["BOCVMPUPI"],
        pay_scenes: &["H5", "APP"],
        supports_lang: false,
        description: "BOCPay wap interface",
    },
];

/// Looks up a Place an Order service by its `service` name (exact match).
pub fn pre_order_service(name: &str) -> Option<&'static ServiceSpec> {
    PRE_ORDER_SERVICES.iter().find(|s| s.name == name)
}

/// Every `payType` accepted by some Place an Order service, for error messages.
pub fn all_pay_types() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = PRE_ORDER_SERVICES.iter().map(|s| s.pay_type).collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_ten_services_with_unique_names() {
        let mut names: Vec<_> = PRE_ORDER_SERVICES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 10);
    }

    #[test]
    fn seed_tables_are_encoded() {
        let alipay = pre_order_service("service.alipay.wap.PreOrder").unwrap();
        assert_eq!(alipay.pay_type, "Alipay");
        assert_eq!(alipay.accepts_wallet("ALIPAYHK"), Some("ALIPAYHK"));
        assert_eq!(alipay.accepts_wallet("WECHATHK"), None);
        assert_eq!(alipay.default_pay_scene(), "WAP");
        let payme = pre_order_service("service.payme.web.PreOrder").unwrap();
        assert_eq!(payme.pay_scenes, ["WEB", "APP"]);
        let boc = pre_order_service("service.bocvmp.upi.wap.PreOrder").unwrap();
        assert_eq!(boc.pay_scenes, ["H5", "APP"]);
        let langs: Vec<_> = PRE_ORDER_SERVICES.iter().filter(|s| s.supports_lang).map(|s| s.pay_type).collect();
        assert_eq!(langs, ["OCT", "Mpgs", "AE"]);
        assert!(pre_order_service("service.alipay.wap.preorder").is_none());
        assert_eq!(all_pay_types().len(), 9);
    }
}
