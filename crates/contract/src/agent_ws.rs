//! Messages on the agent WebSocket `/api/v1/agents/ws`. Every frame is one JSON object with a
//! `type`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vm_ops::CommandRecord;

/// Agent → server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum Inbound {
    #[serde(rename = "heartbeat")]
    Heartbeat {
        #[serde(default)]
        request_id: Option<String>,
        #[serde(default)]
        agent_id: Option<String>,
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        metadata: Option<serde_json::Map<String, Value>>,
    },
    /// Pull mode: wait up to `timeout_ms` for the next command.
    #[serde(rename = "next_command")]
    NextCommand {
        #[serde(default)]
        request_id: Option<String>,
        #[serde(default)]
        agent_id: Option<String>,
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    #[serde(rename = "agent.command.ack")]
    Ack {
        #[serde(default)]
        request_id: Option<String>,
        command_id: String,
        agent_id: String,
        lease_epoch: i64,
    },
    #[serde(rename = "agent.command.progress")]
    Progress {
        #[serde(default)]
        request_id: Option<String>,
        command_id: String,
        agent_id: String,
        lease_epoch: i64,
        #[serde(default)]
        progress: Option<i64>,
        #[serde(default)]
        message: Option<String>,
    },
    #[serde(rename = "agent.command.result")]
    Result {
        #[serde(default)]
        request_id: Option<String>,
        command_id: String,
        agent_id: String,
        lease_epoch: i64,
        status: String,
        #[serde(default)]
        result: Option<Value>,
        #[serde(default)]
        error_message: Option<String>,
    },
    /// After (re)connecting: the commands the agent still holds. Commands handed out to it
    /// that it does not list were lost in transit and are queued again.
    #[serde(rename = "agent.sync")]
    Sync {
        #[serde(default)]
        request_id: Option<String>,
        #[serde(default)]
        holding: Vec<HeldCommand>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeldCommand {
    pub command_id: String,
    pub lease_epoch: i64,
}

/// Server → agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum Outbound {
    #[serde(rename = "connected")]
    Connected {
        ts: String,
        transport: String,
        agent_id: String,
        /// `push`: commands arrive unasked; `pull`: the agent sends `next_command`.
        mode: String,
        max_inflight: u32,
    },
    #[serde(rename = "error")]
    Error {
        code: String,
        message: String,
        ts: String,
        #[serde(default)]
        request_id: Option<String>,
    },
    #[serde(rename = "agent.command.assigned")]
    Assigned {
        ts: String,
        command: Option<Box<CommandRecord>>,
    },
    #[serde(rename = "agent.command.ack")]
    Ack {
        ts: String,
        request_id: Option<String>,
        command_id: String,
        agent_id: String,
    },
    #[serde(rename = "agent.command.progress")]
    Progress {
        ts: String,
        request_id: Option<String>,
        command_id: String,
        agent_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    #[serde(rename = "agent.command.result")]
    Result {
        ts: String,
        request_id: Option<String>,
        command_id: String,
        agent_id: String,
        status: String,
    },
    #[serde(rename = "agent.heartbeat")]
    Heartbeat {
        ts: String,
        request_id: Option<String>,
        agent_id: String,
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<serde_json::Map<String, Value>>,
    },
    /// The operator cancelled a command the agent is running.
    #[serde(rename = "agent.command.cancel")]
    Cancel {
        ts: String,
        command_id: String,
        agent_id: String,
        lease_epoch: i64,
    },
    #[serde(rename = "agent.sync")]
    Synced {
        ts: String,
        request_id: Option<String>,
        requeued: Vec<String>,
        failed: Vec<String>,
    },
}
