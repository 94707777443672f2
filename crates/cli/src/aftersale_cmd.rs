//! `vmp order query`, `refund`, `refund-status` and `close`: after-sale
//! requests against a gateway with the merchant SDK (`vmp-client`). Each
//! prints the verified answer as `key: value` lines.

use clap::Args;
use vmp_client::{
    Amount, BuyerType, CloseOrder, CloseService, OrderRef, Params, Query, QueryEndpoint, Refund, RefundService,
    RefundStatusQuery, Wallet,
};

use crate::order_cmd::{GatewayArgs, one_line, parse_amount};

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
    fn order_ref(&self) -> OrderRef {
        match (&self.eft_trade_no, &self.out_trade_no) {
            (Some(eft), _) => OrderRef::eft_trade_no(eft),
            // clap requires one of the two.
            (None, out) => OrderRef::out_trade_no(out.clone().unwrap_or_default()),
        }
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
    pub service: Option<RefundService>,
    /// total_fee: the order's amount (the gateway checks it).
    #[arg(long, value_parser = parse_amount)]
    pub total_fee: Option<Amount>,
    /// buyerType: ios, android or others.
    #[arg(long)]
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
    pub service: Option<CloseService>,
}

pub async fn query(args: QueryArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let order = args.order.order_ref();
    let mut query = match args.refund_no {
        Some(no) => Query::refund(order, no),
        None => Query::sale(order),
    };
    if args.common {
        query = query.via(QueryEndpoint::CommonQuery);
    }
    let answer = client.query(&query).await.map_err(one_line)?;
    print_answer(&answer.answer);
    Ok(())
}

pub async fn refund(args: RefundArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let mut refund = Refund::common(args.order.order_ref(), args.out_refund_no, args.return_amount);
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
    let answer = client.refund(&refund).await.map_err(one_line)?;
    print_answer(&answer.answer);
    Ok(())
}

pub async fn refund_status(args: RefundStatusArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let query = RefundStatusQuery::new(args.order.order_ref(), args.refund_no);
    let answer = client.refund_status(&query).await.map_err(one_line)?;
    print_answer(&answer.answer);
    Ok(())
}

pub async fn close(args: CloseArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let mut close = CloseOrder::common(args.order.order_ref());
    if let Some(w) = args.wallet {
        close = close.wallet(w);
    }
    if let Some(s) = args.service {
        close = close.service(s);
    }
    let answer = client.close_order(&close).await.map_err(one_line)?;
    print_answer(&answer.answer);
    Ok(())
}

/// The verified answer as `key: value` lines, in received order, without
/// `sign` and empty values.
fn print_answer(answer: &Params) {
    for (k, v) in answer.iter() {
        if k == "sign" || v.is_empty() {
            continue;
        }
        println!("{k}: {}", v.as_str());
    }
}
