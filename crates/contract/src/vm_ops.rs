//! The command bus: commands queued for agents, their lifecycle, events.

use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::validation::Input;

/// Every status a command can be in.
pub const STATUSES: [&str; 8] = [
    "queued",
    "dispatched",
    "running",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
    "dead_letter",
];

/// Terminal statuses: nothing changes a command after it reaches one.
pub const TERMINAL: [&str; 5] = ["succeeded", "failed", "expired", "cancelled", "dead_letter"];

pub fn is_terminal(status: &str) -> bool {
    TERMINAL.contains(&status)
}

/// Command types whose repeats within a few seconds are answered with the first command.
pub const READ_ONLY_TYPES: [&str; 8] = [
    "proxmox.status",
    "proxmox.ssh-status",
    "proxmox.ssh-test",
    "proxmox.list-vms",
    "proxmox.list-targets",
    "proxmox.cluster-resources",
    "proxmox.get-config",
    "proxmox.vm-status",
];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CommandRecord {
    pub id: String,
    pub tenant_id: String,
    pub agent_id: String,
    pub command_type: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub status: String,
    pub queued_at: String,
    pub dispatched_at: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub expires_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub error_message: Option<String>,
    pub created_by: Option<String>,
    pub idempotency_key: Option<String>,
    /// Fencing number of the current hand-out; ack, progress and result must carry it.
    pub lease_epoch: i64,
    pub requeue_count: i64,
    pub progress: Option<i64>,
    pub progress_message: Option<String>,
    pub cancel_requested_at: Option<String>,
    pub updated_at: String,
}

fn command_type_ok(value: &str, _: &()) -> garde::Result {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value.contains('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must look like `namespace.action` (lower-case letters, digits, '.', '-', '_')",
        ))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct CommandCreateRequest {
    #[garde(custom(crate::validation::not_blank), length(max = 200))]
    pub agent_id: String,
    #[garde(custom(command_type_ok))]
    pub command_type: String,
    #[garde(skip)]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Map<String, Value>>,
    /// Seconds the command may wait in the queue, 10..=86400 (default 300).
    #[garde(inner(range(min = 10, max = 86400)))]
    #[serde(default)]
    pub expires_in_seconds: Option<u32>,
    /// Repeating a request with the same key returns the first command.
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Queue for an offline agent instead of refusing with `AGENT_OFFLINE`.
    #[garde(skip)]
    #[serde(default)]
    pub queue_if_offline: bool,
}
impl Input for CommandCreateRequest {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_CREATE_BODY";
}

/// Most commands one `POST /vm-ops/commands/batch` may queue.
pub const MAX_BATCH: usize = 1000;

/// `POST /vm-ops/commands/batch`: many commands, each with the rules of `POST /vm-ops/commands`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct CommandBatchRequest {
    /// 1..=1000 commands; a malformed one refuses the whole batch (400), a refused one
    /// (offline agent, foreign agent, …) only itself.
    #[garde(length(min = 1, max = MAX_BATCH), dive)]
    pub commands: Vec<CommandCreateRequest>,
}
impl Input for CommandBatchRequest {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_BATCH_BODY";
}

/// The outcome of one item of a batch, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommandBatchItem {
    /// What `POST /vm-ops/commands` would have answered for this item alone: 202 queued,
    /// 200 replayed (idempotency key or read-only repeat), else the error's status.
    pub status: u16,
    #[serde(default)]
    pub replayed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::envelope::ApiErrorBody>,
}

/// Answer of `POST /vm-ops/commands/batch`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommandBatchResult {
    /// Newly queued commands.
    pub queued: usize,
    /// Items answered with an earlier command.
    pub replayed: usize,
    /// Items refused.
    pub failed: usize,
    pub items: Vec<CommandBatchItem>,
}

/// `POST /vm-ops/proxmox/{action}`: `command_type = "proxmox.<action>"`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct DispatchRequest {
    #[garde(custom(crate::validation::not_blank), length(max = 200))]
    pub agent_id: String,
    #[garde(skip)]
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Map<String, Value>>,
    #[garde(inner(range(min = 10, max = 86400)))]
    #[serde(default)]
    pub expires_in_seconds: Option<u32>,
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[garde(skip)]
    #[serde(default)]
    pub queue_if_offline: bool,
}
impl Input for DispatchRequest {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_DISPATCH_BODY";
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommandListQuery {
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(default)]
    pub agent_id: Option<String>,
    #[garde(inner(pattern(
        r"^(queued|dispatched|running|succeeded|failed|expired|cancelled|dead_letter)$"
    )))]
    #[serde(default)]
    pub status: Option<String>,
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(default)]
    pub command_type: Option<String>,
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
}
impl Input for CommandListQuery {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_LIST_QUERY";
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NextCommandQuery {
    #[garde(custom(crate::validation::not_blank), length(max = 200))]
    pub agent_id: String,
    /// How long to hold the request when nothing is queued, 1000..=60000 ms (default 25000).
    #[garde(inner(range(min = 1000, max = 60000)))]
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}
impl Input for NextCommandQuery {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_NEXT_QUERY";
}

/// An agent's report on a command it holds.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
pub struct CommandUpdateRequest {
    /// `running`, `succeeded`, `failed` or `cancelled`.
    #[garde(pattern(r"^(running|succeeded|failed|cancelled)$"))]
    pub status: String,
    /// The lease epoch the command was handed out with.
    #[garde(range(min = 1))]
    pub lease_epoch: i64,
    #[garde(skip)]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[garde(inner(length(max = 2000)))]
    #[serde(default)]
    pub error_message: Option<String>,
    #[garde(inner(range(min = 0, max = 100)))]
    #[serde(default)]
    pub progress: Option<i64>,
    #[garde(inner(length(max = 1000)))]
    #[serde(default)]
    pub message: Option<String>,
}
impl Input for CommandUpdateRequest {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_UPDATE_BODY";
}

/// Keeps an explicit `"result": null` distinct from an absent key.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(default)]
    pub agent_id: Option<String>,
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(default)]
    pub command_id: Option<String>,
    /// Resume after this event id (the `Last-Event-ID` header is read too).
    #[garde(skip)]
    #[serde(default)]
    pub last_event_id: Option<String>,
}
impl Input for EventsQuery {
    const INVALID_CODE: &'static str = "VM_OPS_INVALID_QUERY_PARAM";
}

/// One entry of the durable event log, as SSE `data:`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommandEvent {
    pub event_id: i64,
    /// `vm-command`.
    pub event_type: String,
    pub tenant_id: String,
    pub server_time: String,
    pub command: CommandRecord,
}
