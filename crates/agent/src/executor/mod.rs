//! Command executors: each handles a set of `command_type`s; the dispatcher picks one.

pub mod proxmox;
pub mod ssh;

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

/// Longest error text the server accepts.
pub const MAX_ERROR_CHARS: usize = 2000;

/// A failed command: `CODE: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ExecError {
    pub code: String,
    pub message: String,
}

impl ExecError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("BAD_REQUEST", message)
    }

    /// `CODE: message`, cut to 2000 characters.
    pub fn to_wire(&self) -> String {
        truncate_error(&self.to_string())
    }
}

/// Cuts to at most [`MAX_ERROR_CHARS`] characters (the `CODE:` prefix stays), marking the cut.
pub fn truncate_error(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text.to_owned();
    }
    let marker = "…[truncated]";
    let keep = MAX_ERROR_CHARS - marker.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(marker);
    out
}

/// Progress reporting for a running command.
pub type ProgressFn = Arc<dyn Fn(Option<i64>, String) + Send + Sync>;

pub struct CommandCtx {
    pub command_id: String,
    progress: ProgressFn,
}

impl CommandCtx {
    pub fn new(command_id: &str, progress: ProgressFn) -> Self {
        Self {
            command_id: command_id.to_owned(),
            progress,
        }
    }

    pub fn progress(&self, pct: Option<i64>, message: impl Into<String>) {
        (self.progress)(pct, message.into());
    }
}

pub trait Executor: Send + Sync {
    /// Whether this executor runs `command_type` (aliases included).
    fn handles(&self, command_type: &str) -> bool;

    fn execute<'a>(
        &'a self,
        ctx: &'a CommandCtx,
        command_type: &'a str,
        payload: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ExecError>>;
}

#[derive(Clone, Default)]
pub struct Dispatcher {
    executors: Vec<Arc<dyn Executor>>,
}

impl Dispatcher {
    pub fn new(executors: Vec<Arc<dyn Executor>>) -> Self {
        Self { executors }
    }

    pub async fn run(
        &self,
        ctx: &CommandCtx,
        command_type: &str,
        payload: &Value,
    ) -> Result<Value, ExecError> {
        match self.executors.iter().find(|e| e.handles(command_type)) {
            Some(e) => e.execute(ctx, command_type, payload).await,
            None => Err(ExecError::new(
                "UNKNOWN_COMMAND_TYPE",
                format!("Unknown command type: {command_type}"),
            )),
        }
    }
}
