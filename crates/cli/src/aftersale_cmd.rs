//! `vmp order query`, `refund`, `refund-status` and `close`: after-sale
//! requests against a gateway with the merchant SDK (`vmp-client`). Each
//! prints the verified answer as `key: value` lines.

use anyhow::anyhow;
use clap::Args;
use vmp_client::{
    Amount, BuyerType, Client, CloseAnswer, CloseOrder, Params, Query, QueryAnswer, Refund, RefundAnswer,
    RefundStatusAnswer, RefundStatusQuery, Request, Service, TradeRef, Wallet,
};

use crate::order_cmd::{GatewayArgs, one_line, parse_amount, parse_buyer_type};

/// Which order: exactly one of `--eft-trade-no` and `--out-trade-no`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct OrderRefArgs {
    /// eft_trade_no: the gateway's order number.
    #[arg(long)]
    pub eft_trade_no: Option<String>,
    /// out_trade_no: the merchant's order number.
    #[arg(long)]
    pub out_trade_no: Option<String>,
}

impl OrderRefArgs {
    fn order_ref(&self) -> anyhow::Result<TradeRef> {
        let order = match (&self.eft_trade_no, &self.out_trade_no) {
            (Some(eft), _) => TradeRef::eft_trade_no(eft),
            // clap requires one of the two.
            (None, out) => TradeRef::out_trade_no(out.as_deref().unwrap_or_default()),
        };
        order.map_err(|e| anyhow!("invalid request: {e}"))
    }
}

/// `vmp order query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub order: OrderRefArgs,
    /// refund_no: describe this refund (its out_refund_no) instead of the sale.
    #[arg(long)]
    pub refund_no: Option<String>,
    /// Send service.common.Query to JSAPIService.do instead of QRcodeTradeQuery.do.
    #[arg(long)]
    pub common: bool,
}

/// `vmp order refund`.
#[derive(Debug, Args)]
pub struct RefundArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub order: OrderRefArgs,
    /// out_refund_no: the merchant's refund number (re-sending the same refund is safe).
    #[arg(long)]
    pub out_refund_no: String,
    /// return_amount: how much to refund, in major units with at most 2 decimals.
    #[arg(long, visible_alias = "amount", value_parser = parse_amount)]
    pub return_amount: Amount,
    /// wallet: the order's wallet, e.g. ALIPAYHK; picks its refund service (payType follows).
    /// Without --wallet and --service: service.common.Refund.
    #[arg(long)]
    pub wallet: Option<Wallet>,
    /// service, e.g. service.wechat.web.ApplyRefund (default: the wallet's refund service).
    #[arg(long)]
    pub service: Option<Service>,
    /// total_fee: echoed in the answer (real clients send the order's or the refund's amount).
    #[arg(long, value_parser = parse_amount)]
    pub total_fee: Option<Amount>,
    /// buyerType: ios, android or others.
    #[arg(long, value_parser = parse_buyer_type)]
    pub buyer_type: Option<BuyerType>,
    /// reason: why the money goes back.
    #[arg(long)]
    pub reason: Option<String>,
    /// notify_url: where the completion of an apply-refund is notified (apply services only).
    #[arg(long)]
    pub notify_url: Option<String>,
}

/// `vmp order refund-status`.
#[derive(Debug, Args)]
pub struct RefundStatusArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub order: OrderRefArgs,
    /// refund_no: the refund's out_refund_no.
    #[arg(long)]
    pub refund_no: String,
}

/// `vmp order close`.
#[derive(Debug, Args)]
pub struct CloseArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub order: OrderRefArgs,
    /// wallet: the order's wallet; picks its close service.
    /// Without --wallet and --service: service.common.Close.
    #[arg(long)]
    pub wallet: Option<Wallet>,
    /// service, e.g. service.alipay.wap.Close (default: the wallet's close service).
    #[arg(long)]
    pub service: Option<Service>,
}

fn invalid(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("invalid request: {e}")
}

/// Sends `request` and returns the verified answer, once `check` has read
/// it as the typed answer (about the order asked for).
async fn send<T>(
    client: &Client,
    request: Request,
    check: impl FnOnce(&Params, &str) -> Result<T, vmp_client::AnswerError>,
) -> anyhow::Result<Params> {
    let answer = client.send(&request).await.map_err(one_line)?;
    check(&answer, client.user_confirm_key()).map_err(|e| anyhow!("could not read the gateway's answer: {e}"))?;
    Ok(answer)
}

pub async fn query(args: QueryArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let order = args.order.order_ref()?;
    let mut query = match &args.refund_no {
        Some(no) => Query::refund(order, no).map_err(invalid)?,
        None => Query::sale(order),
    };
    if args.common {
        query = query.via(Service::CommonQuery);
    }
    let answer = send(&client, Request::Query(query.clone()), |a, k| QueryAnswer::for_request(a, &query, k)).await?;
    print_answer(&answer);
    Ok(())
}

pub async fn refund(args: RefundArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let mut refund =
        Refund::builder(args.order.order_ref()?).out_refund_no(args.out_refund_no).amount(args.return_amount);
    if let Some(w) = args.wallet {
        refund = refund.wallet(w);
    }
    if let Some(s) = args.service {
        refund = refund.service(s);
    }
    if let Some(t) = args.total_fee {
        refund = refund.total_fee(t);
    }
    if let Some(b) = args.buyer_type {
        refund = refund.buyer_type(b);
    }
    if let Some(r) = args.reason {
        refund = refund.reason(r);
    }
    if let Some(u) = args.notify_url {
        refund = refund.notify_url(u);
    }
    let refund = refund.build().map_err(invalid)?;
    let answer =
        send(&client, Request::Refund(refund.clone()), |a, k| RefundAnswer::for_request(a, &refund, k)).await?;
    print_answer(&answer);
    Ok(())
}

pub async fn refund_status(args: RefundStatusArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let query = RefundStatusQuery::new(args.order.order_ref()?, &args.refund_no).map_err(invalid)?;
    let answer =
        send(&client, Request::RefundStatus(query.clone()), |a, k| RefundStatusAnswer::for_request(a, &query, k))
            .await?;
    print_answer(&answer);
    Ok(())
}

pub async fn close(args: CloseArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let mut close = CloseOrder::new(args.order.order_ref()?);
    if let Some(w) = args.wallet {
        close = close.wallet(w);
    }
    if let Some(s) = args.service {
        close = close.via(s);
    }
    let answer = send(&client, Request::Close(close.clone()), |a, k| CloseAnswer::for_request(a, &close, k)).await?;
    print_answer(&answer);
    Ok(())
}

/// The verified answer as `key: value` lines, in received order, without
/// `sign` and empty values.
pub(crate) fn print_answer(answer: &Params) {
    for (k, v) in answer.iter() {
        if k == "sign" || v.is_empty() {
            continue;
        }
        println!("{k}: {}", v.as_str());
    }
}
