//! Logging set-up shared by both binaries: JSON lines in Lambda (CloudWatch Logs Insights
//! reads the fields), plain lines elsewhere. `RUST_LOG` overrides the level.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// True when running inside the Lambda runtime.
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Installs the global subscriber; `default_level` applies when `RUST_LOG` is unset.
pub fn init(json: bool, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},aws_config=warn,aws_smithy_runtime=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!json && std::io::stderr().is_terminal());
    let _ = if json {
        builder.json().flatten_event(true).with_current_span(true).without_time().try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
