//! The `chargeback` binary: the Azure Functions custom handler (`serve`) and the offline tools
//! (`replay`, `report`, `resend`). Argument parsing and dispatch only (`cli/`); each command's
//! logic lives in a library crate: `chargeback-handler` (serve), `chargeback-core` (replay),
//! `chargeback-billing` (report, the ledger side of resend), `chargeback-appinsights` (the
//! sending side of resend).

#![warn(unreachable_pub)]

mod cli;

/// mimalloc rather than the C library's allocator: the Functions package is a static musl
/// binary, and musl's allocator made the hot path 1.5-2x slower (mostly system time) than the
/// same code on glibc; with mimalloc both builds run alike and RSS stays flat under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    cli::forget_empty_settings();
    let code = match cli::run(clap::Parser::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chargeback: error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
