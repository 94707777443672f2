//! `vmp order create` for the jsapi and app scenes (docs/protocol.md "The
//! jsapi scene", "The app scene"): the same flags as a web sale plus the
//! jsapi scene's own ([`SceneArgs`]); prints the wallet's `payPackage` (one
//! line of JSON) first, then the answer, then the sandbox page that stands
//! in for the wallet.

use anyhow::anyhow;
use clap::Args;
use vmp_client::{AppOrderPlaced, Client, JsapiOrder, JsapiOrderPlaced, Params, Request, SceneType, Service};
use vmp_protocol::catalogue::Scene;

use crate::order_cmd::{CreateArgs, invalid, one_line};

/// The jsapi scene's flags of `vmp order create`.
#[derive(Debug, Args)]
pub struct SceneArgs {
    /// jsapi: scene_type, APPLETS (mini-program), PUBLIC (official account) or H5.
    #[arg(long)]
    pub scene_type: Option<SceneType>,
    /// jsapi: openid, the buyer in an official account (scene_type PUBLIC).
    #[arg(long)]
    pub openid: Option<String>,
    /// jsapi: sub_openid, the buyer in a mini-program (scene_type APPLETS).
    #[arg(long)]
    pub sub_openid: Option<String>,
    /// jsapi: goods_tag (WeChat Pay coupons).
    #[arg(long)]
    pub goods_tag: Option<String>,
    /// jsapi: send receipt=Y (WeChat Pay's invoice entry).
    #[arg(long)]
    pub receipt: bool,
    /// jsapi: detail, the goods as a JSON object.
    #[arg(long)]
    pub detail: Option<String>,
}

/// The scene `service` stands for, when it is one this module places.
pub fn scene_of(service: Service) -> Option<Scene> {
    let scene = service.spec().behaves_as().spec().scene;
    matches!(scene, Scene::Jsapi | Scene::App).then_some(scene)
}

/// Places a jsapi order and prints it.
pub async fn create_jsapi(client: &Client, args: CreateArgs, out_trade_no: String) -> anyhow::Result<()> {
    let order = jsapi_order(args, out_trade_no)?;
    place(client, Request::JsapiOrder(order)).await
}

/// An app sale takes none of the jsapi scene's flags.
pub fn refuse_jsapi_flags(args: &CreateArgs) -> anyhow::Result<()> {
    let s = &args.scene;
    if s.scene_type.is_some() || s.openid.is_some() || s.sub_openid.is_some() || s.goods_tag.is_some() {
        return Err(anyhow!(
            "{} is an app sale: --scene-type, --openid, --sub-openid, --goods-tag are jsapi's",
            args.service
        ));
    }
    Ok(())
}

/// Sends a jsapi or app sale, checks the answer and prints it: the
/// payPackage, the answer's fields, the sandbox's wallet page.
pub async fn place(client: &Client, request: Request) -> anyhow::Result<()> {
    let answer = client.send(&request).await.map_err(one_line)?;
    let key = client.user_confirm_key();
    let (package, page) = match &request {
        Request::JsapiOrder(o) => (read(JsapiOrderPlaced::for_request(&answer, o, key))?.pay_package, "jsapi/bridge"),
        Request::AppOrder(o) => (read(AppOrderPlaced::for_request(&answer, o, key))?.pay_package, "app/pay"),
        _ => return Err(anyhow!("not a jsapi or app sale")),
    };
    let fields = package.to_params();
    println!("{}", fields.to_json());
    for (k, v) in answer.iter() {
        if k == "payPackage" || k == "sign" || v.is_empty() {
            continue;
        }
        println!("{k}: {}", v.as_str());
    }
    println!("sandbox_wallet_page: {}/sandbox/{page}?{}", client.base_url(), query(&fields));
    Ok(())
}

fn read<T>(answer: Result<T, vmp_client::AnswerError>) -> anyhow::Result<T> {
    answer.map_err(|e| anyhow!("could not read the gateway's answer: {e}"))
}

fn query(fields: &Params) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (k, v.as_str())))
        .finish()
}

fn jsapi_order(args: CreateArgs, out_trade_no: String) -> anyhow::Result<JsapiOrder> {
    let service = args.service;
    let s = args.scene;
    let mut o = JsapiOrder::builder(service)
        .out_trade_no(out_trade_no)
        .amount(args.amount)
        .currency(args.currency)
        .subject(args.subject)
        .buyer_type(args.buyer_type);
    if let Some(w) = args.wallet {
        o = o.wallet(w);
    }
    if let Some(v) = s.scene_type {
        o = o.scene_type(v);
    }
    if let Some(v) = s.openid {
        o = o.openid(v);
    }
    if let Some(v) = s.sub_openid {
        o = o.sub_openid(v);
    }
    if let Some(v) = s.goods_tag {
        o = o.goods_tag(v);
    }
    if let Some(v) = s.detail {
        o = o.detail(v);
    }
    if let Some(v) = args.tid {
        o = o.tid(v);
    }
    if let Some(v) = args.notify_url {
        o = o.notify_url(v);
    }
    if let Some(v) = args.return_url {
        o = o.return_url(v);
    }
    if s.receipt {
        o = o.receipt();
    }
    if let Some(v) = args.active_time {
        o = o.active_time(v);
    }
    o.build().map_err(|e| invalid(e, service))
}
