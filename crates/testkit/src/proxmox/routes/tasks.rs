//! `GET /nodes/{node}/tasks…`: task lists, status, logs, and `DELETE` to stop a task.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::proxmox::error::{ApiError, ApiResult, data, data_with_total};
use crate::proxmox::params::Params;
use crate::proxmox::state::{Shared, World};
use crate::proxmox::tasks::{Task, TaskState, upid_node};

/// Resolves a UPID on a node the way the task endpoints validate it.
fn find<'w>(world: &'w World, node: &str, upid: &str) -> Result<&'w Task, ApiError> {
    world.node(node)?;
    let owner =
        upid_node(upid).ok_or_else(|| ApiError::param("upid", "unable to parse worker upid"))?;
    world
        .tasks
        .get(upid)
        .filter(|_| owner == node)
        .ok_or_else(|| ApiError::param("upid", "no such task"))
}

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        matches!(
            k,
            "node"
                | "start"
                | "limit"
                | "vmid"
                | "typefilter"
                | "userfilter"
                | "errors"
                | "source"
                | "statusfilter"
                | "since"
                | "until"
        )
    })?;
    let start = usize::try_from(params.int("start")?.unwrap_or(0)).unwrap_or(0);
    let limit = usize::try_from(params.int("limit")?.unwrap_or(50)).unwrap_or(50);
    let errors_only = params.flag("errors")?.unwrap_or(false);
    let source = params
        .enumerated("source", &["archive", "active", "all"])?
        .unwrap_or("archive");
    let world = shared.lock();
    world.node(&node)?;
    let selected: Vec<Value> = world
        .tasks
        .list
        .iter()
        .rev()
        .filter(|t| t.node == node)
        .filter(|t| params.get("vmid").is_none_or(|v| t.id == v))
        .filter(|t| params.get("typefilter").is_none_or(|f| t.kind == f))
        .filter(|t| params.get("userfilter").is_none_or(|u| t.user.contains(u)))
        .filter(|t| {
            !matches!(
                (&t.state, source),
                (TaskState::Running, "archive") | (TaskState::Stopped { .. }, "active")
            )
        })
        .filter(|t| {
            !errors_only
                || matches!(&t.state, TaskState::Stopped { exitstatus } if exitstatus != "OK")
        })
        .skip(start)
        .take(limit)
        .map(Task::list_json)
        .collect();
    Ok(data(selected))
}

pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    Path((node, upid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| k == "node" || k == "upid")?;
    find(&shared.lock(), &node, &upid)?;
    Ok(data(json!([{"name": "log"}, {"name": "status"}])))
}

pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    Path((node, upid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| k == "node" || k == "upid")?;
    let world = shared.lock();
    Ok(data(find(&world, &node, &upid)?.status_json()))
}

pub(crate) async fn log(
    State(shared): State<Arc<Shared>>,
    Path((node, upid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| {
        matches!(k, "node" | "upid" | "start" | "limit" | "download")
    })?;
    let start = usize::try_from(params.int("start")?.unwrap_or(0)).unwrap_or(0);
    let limit = usize::try_from(params.int("limit")?.unwrap_or(50)).unwrap_or(50);
    let world = shared.lock();
    let task = find(&world, &node, &upid)?;
    let lines: Vec<&str> = if task.log.is_empty() {
        vec!["no content"]
    } else {
        task.log.iter().map(String::as_str).collect()
    };
    let page: Vec<Value> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(limit)
        .map(|(i, t)| json!({"n": i + 1, "t": t}))
        .collect();
    Ok(data_with_total(page, lines.len()))
}

/// Stops a running task: it fails with "interrupted by signal" and its effect is not applied.
pub(crate) async fn stop(
    State(shared): State<Arc<Shared>>,
    Path((node, upid)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    params.check(&[], |k| k == "node" || k == "upid")?;
    {
        let world = shared.lock();
        find(&world, &node, &upid)?;
    }
    shared.finish_task(&upid, Some("interrupted by signal".to_owned()));
    Ok(data(Value::Null))
}
