//! `vmp order create`: Place an Order against a gateway with the merchant
//! SDK (`vmp-client`), as a merchant would. The after-sale subcommands
//! (`query`, `refund`, `refund-status`, `close`) live in `aftersale_cmd`.

use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use vmp_client::{
    Amount, BuyerType, Client, ClientError, Currency, Lang, OrderPlaced, PayScene, PlaceOrder, PlaceOrderBuilder,
    Request, RequestError, ReturnStatus, Service, Wallet,
};
use vmp_protocol::catalogue::Scene;
use vmp_protocol::format_time;

use crate::aftersale_cmd::{self, CloseArgs, QueryArgs, RefundArgs, RefundStatusArgs};
use crate::sign_cmd::SecretArg;

/// `vmp order …`.
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Place an order; prints the pay link (a qrcode sale: its qr_code, then the QR code) on the first line, then the answer.
    Create(Box<CreateArgs>),
    /// Query an order (or, with --refund-no, one of its refunds); prints the answer.
    Query(Box<QueryArgs>),
    /// Refund a paid order in full or in part; prints the answer.
    Refund(Box<RefundArgs>),
    /// Ask where a refund is (service.unified.RefundStatusQuery); prints the answer.
    RefundStatus(Box<RefundStatusArgs>),
    /// Close an unpaid order so it can no longer be paid; prints the answer.
    Close(Box<CloseArgs>),
}

/// Where the gateway is and who the merchant is.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Base URL of the gateway (paths such as /VMP/Servlet/JSAPIService.do are appended).
    #[arg(long, env = "VMP_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// The merchant's user_confirm_key (default: $VMP_KEY).
    #[arg(long, env = "VMP_KEY")]
    pub key: Option<String>,
    #[command(flatten)]
    pub secret: SecretArg,
    /// Seconds to wait for the gateway's answer.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Stamp `time` with the gateway's sandbox clock (GET /sandbox/clock), so
    /// a moved sandbox clock never makes the request stale.
    #[arg(long, env = "VMP_SANDBOX_CLOCK")]
    pub sandbox_clock: bool,
}

/// `vmp order create`: one flag per Place an Order field.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// service, e.g. service.alipay.wap.PreOrder (payType follows from it);
    /// a qrcode sale (service.wechat.qrcode.PreOrder, …) prints its QR code,
    /// the cashier (service.united.wap.PreOrder) its hosted page; or the
    /// servlet of an app sale (AppTradePay.do, CommonAppTradePay.do).
    #[arg(long)]
    pub service: Service,
    /// wallet (payment_type in the qrcode scene), e.g. ALIPAYHK (default:
    /// the service's only wallet; none for the cashier).
    #[arg(long)]
    pub wallet: Option<Wallet>,
    /// transaction_amount in major units with at most 2 decimals, e.g. 10.50.
    #[arg(long, value_parser = parse_amount)]
    pub amount: Amount,
    /// fee_type: HKD or CNY.
    #[arg(long, default_value = "HKD", value_parser = parse_currency)]
    pub currency: Currency,
    /// out_trade_no (default: generated from the current time).
    #[arg(long)]
    pub out_trade_no: Option<String>,
    /// subject: what is being paid for.
    #[arg(long)]
    pub subject: String,
    /// body: goods description.
    #[arg(long)]
    pub body: Option<String>,
    /// buyerType: ios, android or others.
    #[arg(long, default_value = "others", value_parser = parse_buyer_type)]
    pub buyer_type: BuyerType,
    /// pay_scene (default: the service's default).
    #[arg(long)]
    pub pay_scene: Option<PayScene>,
    /// tid: merchant terminal number.
    #[arg(long)]
    pub tid: Option<String>,
    /// notify_url: where the gateway POSTs the signed notification.
    #[arg(long)]
    pub notify_url: Option<String>,
    /// return_url: where the buyer lands after paying (no query string).
    #[arg(long)]
    pub return_url: Option<String>,
    /// active_time: link validity in seconds.
    #[arg(long)]
    pub active_time: Option<u32>,
    /// lang of the hosted page: cn, en or hk (honoured by OCT, MPGS and AE; ignored elsewhere).
    #[arg(long, value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// scheme: app scheme for webview payments (UnionPay only).
    #[arg(long)]
    pub scheme: Option<String>,
    /// packageName: app package for webview payments (UnionPay only).
    #[arg(long)]
    pub package_name: Option<String>,
    /// app_link: where BOCPay returns (wallet BOCVMPUPI only).
    #[arg(long)]
    pub app_link: Option<String>,
    #[command(flatten)]
    pub scene: crate::scene_order_cmd::SceneArgs,
}

pub(crate) fn parse_amount(s: &str) -> Result<Amount, String> {
    Amount::parse(s).map_err(|e| format!("{e} (e.g. 10.50)"))
}

pub(crate) fn parse_buyer_type(s: &str) -> Result<BuyerType, String> {
    BuyerType::parse(s).map_err(|e| format!("{e} (ios, android or others)"))
}

fn parse_currency(s: &str) -> Result<Currency, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| "cn, en or hk".to_owned())
}

pub async fn run(cmd: OrderCommand) -> anyhow::Result<()> {
    match cmd {
        OrderCommand::Create(args) => create(*args).await,
        OrderCommand::Query(args) => aftersale_cmd::query(*args).await,
        OrderCommand::Refund(args) => aftersale_cmd::refund(*args).await,
        OrderCommand::RefundStatus(args) => aftersale_cmd::refund_status(*args).await,
        OrderCommand::Close(args) => aftersale_cmd::close(*args).await,
    }
}

impl GatewayArgs {
    /// A client for these flags; errors are one line.
    pub fn client(&self) -> anyhow::Result<Client> {
        let key = self.key.clone().ok_or_else(|| anyhow!("no merchant key: pass --key or set VMP_KEY"))?;
        let secret = self.secret.require()?;
        let mut client = Client::new(&self.base_url, key, secret)
            .map_err(one_line)?
            .with_timeout(Duration::from_secs(self.timeout.max(1)))
            .with_user_agent(concat!("vmp-cli/", env!("CARGO_PKG_VERSION")));
        if self.sandbox_clock {
            client = client.with_sandbox_clock().map_err(one_line)?;
        }
        Ok(client)
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    // The qrcode and cashier scenes have their own requests (scene_cmd.rs).
    match args.service.spec().scene {
        Scene::Qrcode => return crate::scene_cmd::create_qrcode(args).await,
        Scene::Cashier => return crate::scene_cmd::create_cashier(args).await,
        _ => {}
    }
    let client = args.gateway.client()?;
    let out_trade_no = args.out_trade_no.clone().unwrap_or_else(generated_out_trade_no);
    let service = args.service;
    match crate::scene_order_cmd::scene_of(service) {
        Some(Scene::Jsapi) => return crate::scene_order_cmd::create_jsapi(&client, args, out_trade_no).await,
        Some(_) => {
            crate::scene_order_cmd::refuse_jsapi_flags(&args)?;
            let order = builder(args, out_trade_no).build_app().map_err(|e| invalid(e, service))?;
            return crate::scene_order_cmd::place(&client, Request::AppOrder(order)).await;
        }
        None => {}
    }
    let order = builder(args, out_trade_no).build().map_err(|e| invalid(e, service))?;

    let answer = client.send(&Request::PlaceOrder(order.clone())).await.map_err(one_line)?;
    let placed = OrderPlaced::for_request(&answer, &order, client.user_confirm_key())
        .map_err(|e| anyhow!("could not read the gateway's answer: {e}"))?;
    println!("{}", placed.pay_apptrade);
    for (k, v) in answer.iter() {
        if k == "pay_apptrade" || k == "sign" || v.is_empty() {
            continue;
        }
        println!("{k}: {}", v.as_str());
    }
    Ok(())
}

/// Place an Order's fields from the flags (the web, wap and app scenes).
fn builder(args: CreateArgs, out_trade_no: String) -> PlaceOrderBuilder {
    let mut order = PlaceOrder::builder(args.service)
        .out_trade_no(out_trade_no)
        .amount(args.amount)
        .currency(args.currency)
        .subject(args.subject)
        .buyer_type(args.buyer_type);
    if let Some(w) = args.wallet {
        order = order.wallet(w);
    }
    if let Some(v) = args.pay_scene {
        order = order.pay_scene(v);
    }
    if let Some(v) = args.body {
        order = order.body(v);
    }
    if let Some(v) = args.tid {
        order = order.tid(v);
    }
    if let Some(v) = args.notify_url {
        order = order.notify_url(v);
    }
    if let Some(v) = args.return_url {
        order = order.return_url(v);
    }
    if let Some(v) = args.active_time {
        order = order.active_time(v);
    }
    if let Some(v) = args.lang {
        order = order.lang(v);
    }
    if let Some(v) = args.scheme {
        order = order.scheme(v);
    }
    if let Some(v) = args.package_name {
        order = order.package_name(v);
    }
    if let Some(v) = args.app_link {
        order = order.app_link(v);
    }
    order
}

/// A request the SDK refused before sending, in one line, with a hint
/// where one helps.
pub(crate) fn invalid(e: RequestError, service: Service) -> anyhow::Error {
    match e {
        RequestError::Missing("wallet" | "payment_type") => {
            let names: Vec<&str> = service.spec().wallets.iter().map(|w| w.as_str()).collect();
            anyhow!("{service} takes several wallets: choose one with --wallet ({})", names.join(", "))
        }
        RequestError::Missing("scene_type") => anyhow!("{service} needs --scene-type (APPLETS, PUBLIC or H5)"),
        e => anyhow!("invalid request: {e}"),
    }
}

/// `yyyyMMddHHmmss` (UTC+8) plus milliseconds: unique enough for manual use.
pub(crate) fn generated_out_trade_no() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{}{:03}", format_time(now), now.millisecond())
}

/// A client error as one line, with a hint where one helps.
pub fn one_line(e: ClientError) -> anyhow::Error {
    let hint = match &e {
        ClientError::Api { code, .. } if *code == Some(ReturnStatus::SignatureError) => {
            " (check --secret / VMP_SECRET: it must be this merchant's secret)"
        }
        ClientError::Api { code, .. } if *code == Some(ReturnStatus::TimeMismatch) => " (check this machine's clock)",
        ClientError::Transport { .. } => " (is the gateway running? check --base-url / VMP_BASE_URL)",
        ClientError::SandboxRefused { status: 404, .. } => " (--sandbox-clock needs a gateway in sandbox mode)",
        _ => "",
    };
    anyhow!("{e}{hint}")
}
