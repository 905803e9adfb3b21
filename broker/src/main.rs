//! The `memorystreamer` binary.

use clap::Parser;
use memorystreamer_broker::config::{Args, BrokerConfig, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    match args.log_format {
        LogFormat::Text => {
            use std::io::IsTerminal;
            let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(ansi)
                .init()
        }
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
    }
    let config = match BrokerConfig::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("memorystreamer: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    memorystreamer_broker::limits::raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("memorystreamer: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(memorystreamer_broker::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "broker stopped");
            eprintln!("memorystreamer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
