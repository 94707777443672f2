//! `vmp`: run the OpenVMP gateway and administer it.
//!
//! `main` only parses arguments and dispatches; the work lives in the
//! command modules and in the `vmp-server` library.
#![forbid(unsafe_code)]

mod admin_cmd;
mod aftersale_cmd;
mod bench_cmd;
mod check_handler_cmd;
mod cli;
mod console_cmd;
mod listen_cmd;
mod merchant_cmd;
mod order_cmd;
mod sandbox_cmd;
mod scene_cmd;
mod scene_order_cmd;
mod serve;
mod sign_cmd;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args.command {
            cli::Command::Serve(a) => serve::run(*a).await,
            cli::Command::Merchant(m) => merchant_cmd::run(m).await,
            cli::Command::Admin(a) => admin_cmd::run(a).await,
            cli::Command::Order(o) => order_cmd::run(o).await,
            cli::Command::Sign(a) => sign_cmd::run_sign(a),
            cli::Command::Verify(a) => sign_cmd::run_verify(a),
            cli::Command::Listen(a) => listen_cmd::run(a).await,
            cli::Command::Bench(a) => bench_cmd::run(*a).await,
            cli::Command::Sandbox(c) => sandbox_cmd::run(c).await,
            cli::Command::CheckHandler(a) => check_handler_cmd::run(a).await,
            cli::Command::Orders(c) => console_cmd::orders(c).await,
            cli::Command::Notifications(c) => console_cmd::notifications(c).await,
            cli::Command::Requests(c) => console_cmd::requests(c).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
