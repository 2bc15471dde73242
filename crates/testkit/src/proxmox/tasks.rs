//! Worker tasks: UPIDs, the running → stopped life cycle, deferred effects and injected failures.
//!
//! An operation's effect runs when its task finishes, so a client sees a clone, a power change or
//! an upload only after `status` reads `stopped`, as with a real Proxmox worker.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};

use super::state::World;

/// How long tasks stay `running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskTiming {
    /// Finish on their own after this long.
    After(Duration),
    /// Stay running until [`super::ProxmoxSim::complete_task`] is called.
    Manual,
}

/// Where a task is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// `exitstatus` is `OK` or the error text.
    Stopped {
        exitstatus: String,
    },
}

/// A copy of one task for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSnapshot {
    pub upid: String,
    pub node: String,
    /// Proxmox worker type: `qmstart`, `qmclone`, `qmconfig`, `imgcopy`, …
    pub kind: String,
    /// The object id (usually the VM id; empty for uploads).
    pub id: String,
    pub user: String,
    pub starttime: i64,
    pub state: TaskState,
    pub log: Vec<String>,
}

impl TaskSnapshot {
    pub fn is_running(&self) -> bool {
        self.state == TaskState::Running
    }

    pub fn exitstatus(&self) -> Option<&str> {
        match &self.state {
            TaskState::Running => None,
            TaskState::Stopped { exitstatus } => Some(exitstatus),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.exitstatus() == Some("OK")
    }
}

/// What a task does when it finishes; its error text becomes the exit status.
pub(crate) type Effect = Box<dyn FnOnce(&mut World, &mut Vec<String>) -> Result<(), String> + Send>;

/// A task to be started by a handler.
pub(crate) struct NewTask {
    pub node: String,
    pub kind: &'static str,
    pub id: String,
    pub user: String,
    pub effect: Effect,
    /// A VM id held for this task (clone/create target); released however the task ends.
    pub reserved_vmid: Option<u32>,
}

impl NewTask {
    pub(crate) fn new(
        node: &str,
        kind: &'static str,
        id: impl ToString,
        user: &str,
        effect: Effect,
    ) -> Self {
        Self {
            node: node.to_owned(),
            kind,
            id: id.to_string(),
            user: user.to_owned(),
            effect,
            reserved_vmid: None,
        }
    }

    pub(crate) fn reserving(mut self, vmid: u32) -> Self {
        self.reserved_vmid = Some(vmid);
        self
    }
}

pub(crate) struct Task {
    pub upid: String,
    pub node: String,
    pub kind: String,
    pub id: String,
    pub user: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: i64,
    pub endtime: Option<i64>,
    pub state: TaskState,
    pub log: Vec<String>,
    effect: Option<Effect>,
    forced_failure: Option<String>,
    reserved_vmid: Option<u32>,
}

impl Task {
    pub(crate) fn snapshot(&self) -> TaskSnapshot {
        TaskSnapshot {
            upid: self.upid.clone(),
            node: self.node.clone(),
            kind: self.kind.clone(),
            id: self.id.clone(),
            user: self.user.clone(),
            starttime: self.starttime,
            state: self.state.clone(),
            log: self.log.clone(),
        }
    }

    /// `GET …/tasks/{upid}/status`. A token's tasks report the user and token id separately.
    pub(crate) fn status_json(&self) -> Value {
        let (user, tokenid) = match self.user.split_once('!') {
            Some((user, token)) => (user, Some(token)),
            None => (self.user.as_str(), None),
        };
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": user,
            "status": if self.state == TaskState::Running { "running" } else { "stopped" },
        });
        if let Some(map) = v.as_object_mut() {
            if let Some(token) = tokenid {
                map.insert("tokenid".into(), token.into());
            }
            if let TaskState::Stopped { exitstatus } = &self.state {
                map.insert("exitstatus".into(), exitstatus.as_str().into());
            }
        }
        v
    }

    /// An entry of `GET /nodes/{node}/tasks`.
    pub(crate) fn list_json(&self) -> Value {
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": self.user,
        });
        if let (Some(map), TaskState::Stopped { exitstatus }) = (v.as_object_mut(), &self.state) {
            map.insert("status".into(), exitstatus.as_str().into());
            map.insert(
                "endtime".into(),
                self.endtime.unwrap_or(self.starttime).into(),
            );
        }
        v
    }
}

pub(crate) struct Tasks {
    pub list: Vec<Task>,
    pub default_timing: TaskTiming,
    pub timing_by_kind: HashMap<String, TaskTiming>,
    /// Queued exit statuses per task type: the next tasks of that type fail with them.
    pub failures: HashMap<String, VecDeque<String>>,
    next_pid: u32,
}

impl Tasks {
    pub(crate) fn new(default_timing: TaskTiming) -> Self {
        Self {
            list: Vec::new(),
            default_timing,
            timing_by_kind: HashMap::new(),
            failures: HashMap::new(),
            next_pid: 40_000 + rand::random_range(0..20_000),
        }
    }

    pub(crate) fn timing_for(&self, kind: &str) -> TaskTiming {
        self.timing_by_kind
            .get(kind)
            .copied()
            .unwrap_or(self.default_timing)
    }

    /// Registers a running task and returns its UPID. `boot_time` feeds the `pstart` field
    /// (clock ticks since boot, as in `/proc/<pid>/stat`).
    pub(crate) fn register(&mut self, new: NewTask, now: i64, boot_time: i64) -> String {
        self.next_pid = self.next_pid.wrapping_add(1 + rand::random_range(0..7));
        let pid = self.next_pid;
        let pstart =
            u64::try_from((now - boot_time).max(1)).unwrap_or(1) * 100 + u64::from(pid % 100);
        let upid = format_upid(&new.node, pid, pstart, now, new.kind, &new.id, &new.user);
        let forced_failure = self
            .failures
            .get_mut(new.kind)
            .and_then(VecDeque::pop_front);
        self.list.push(Task {
            upid: upid.clone(),
            node: new.node,
            kind: new.kind.to_owned(),
            id: new.id,
            user: new.user,
            pid,
            pstart,
            starttime: now,
            endtime: None,
            state: TaskState::Running,
            log: Vec::new(),
            effect: Some(new.effect),
            forced_failure,
            reserved_vmid: new.reserved_vmid,
        });
        upid
    }

    pub(crate) fn get(&self, upid: &str) -> Option<&Task> {
        self.list.iter().find(|t| t.upid == upid)
    }

    fn get_mut(&mut self, upid: &str) -> Option<&mut Task> {
        self.list.iter_mut().find(|t| t.upid == upid)
    }
}

/// Finishes a running task: applies its effect (unless a failure was injected or `interrupt`
/// is given) and records the exit status. Returns false if the task is unknown or already done.
pub(crate) fn finish(world: &mut World, upid: &str, now: i64, interrupt: Option<String>) -> bool {
    let Some(task) = world.tasks.get_mut(upid) else {
        return false;
    };
    if task.state != TaskState::Running {
        return false;
    }
    let effect = task.effect.take();
    let forced = task.forced_failure.take();
    if let Some(vmid) = task.reserved_vmid.take() {
        world.reserved_vmids.remove(&vmid);
    }
    let mut log = Vec::new();
    let outcome = match (interrupt, forced) {
        (Some(reason), _) | (None, Some(reason)) => Err(reason),
        (None, None) => effect.map_or(Ok(()), |effect| effect(world, &mut log)),
    };
    let Some(task) = world.tasks.get_mut(upid) else {
        return false;
    };
    task.log.extend(log);
    let exitstatus = match outcome {
        Ok(()) => {
            task.log.push("TASK OK".to_owned());
            "OK".to_owned()
        }
        Err(message) => {
            let message = message.trim_end().to_owned();
            task.log.push(format!("TASK ERROR: {message}"));
            message
        }
    };
    task.state = TaskState::Stopped { exitstatus };
    task.endtime = Some(now);
    true
}

pub(crate) fn format_upid(
    node: &str,
    pid: u32,
    pstart: u64,
    starttime: i64,
    kind: &str,
    id: &str,
    user: &str,
) -> String {
    format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{user}:")
}

/// The node field of a well-formed UPID; `None` when it does not parse.
pub(crate) fn upid_node(upid: &str) -> Option<&str> {
    let rest = upid.strip_prefix("UPID:")?;
    let fields: Vec<&str> = rest.split(':').collect();
    // node, pid, pstart, starttime, type, id, user, "" (trailing colon)
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = fields.len() == 8
        && !fields[0].is_empty()
        && hex(fields[1])
        && hex(fields[2])
        && hex(fields[3])
        && !fields[4].is_empty()
        && fields[7].is_empty();
    ok.then_some(fields[0])
}
