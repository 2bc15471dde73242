//! The VM generator: a durable server-side job that clones, configures, registers and
//! provisions a batch of VMs through an agent, one vm-ops command per step.

use crate::provisioning::parse_ipv4;
use garde::Validate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use utoipa::{IntoParams, ToSchema};

pub const MAX_COUNT: u32 = 50;
/// Highest VM id Proxmox accepts.
pub const MAX_VMID: u32 = 999_999_999;

pub const JOB_STATUSES: [&str; 6] = [
    "queued",
    "running",
    "succeeded",
    "partially_failed",
    "failed",
    "cancelled",
];
pub const ITEM_STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "cancelled"];

/// Steps of one VM, in order. `configure`, `resize_disk` and `start` may be `skipped`.
pub const STEPS: [&str; 8] = [
    "clone",
    "configure",
    "read_config",
    "resize_disk",
    "register",
    "provision",
    "attach_iso",
    "start",
];

fn ipv4(value: &str, _: &()) -> garde::Result {
    parse_ipv4(value)
        .map(|_| ())
        .ok_or_else(|| garde::Error::new("must be an IPv4 address such as 192.168.1.10"))
}

/// Proxmox node and storage names: letters, digits, `-`, `_`, `.`.
fn pve_name(value: &str, _: &()) -> garde::Result {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be 1 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

/// VM names become DNS names in Proxmox: letters, digits and `-`, starting with a letter.
fn vm_name_prefix(value: &str, _: &()) -> garde::Result {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value.as_bytes()[0].is_ascii_alphabetic()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be 1 to 40 letters, digits or '-', starting with a letter",
        ))
    }
}

/// Static addressing of the batch: VM `i` gets `ip_start + i`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema, PartialEq)]
pub struct VmGenNetwork {
    /// Address of the first VM.
    #[garde(custom(ipv4))]
    pub ip_start: String,
    /// 8..=30.
    #[garde(range(min = 8, max = 30))]
    pub prefix_length: u8,
    #[garde(custom(ipv4))]
    pub gateway: String,
    /// Up to 4 resolvers (default 8.8.8.8).
    #[garde(length(max = 4), inner(custom(ipv4)))]
    #[serde(default = "default_dns")]
    pub dns: Vec<String>,
    /// Bridge of `net0` (e.g. `vmbr1`); the template's NIC is kept when absent.
    #[garde(inner(custom(pve_name)))]
    #[serde(default)]
    pub bridge: Option<String>,
}

fn default_dns() -> Vec<String> {
    vec!["8.8.8.8".to_owned()]
}

fn default_iso_storage() -> String {
    "local".to_owned()
}

/// `POST /vm-generator/jobs`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema, PartialEq)]
pub struct VmGenJobCreateRequest {
    #[garde(length(min = 1, max = 64))]
    pub agent_id: String,
    /// Proxmox node the VMs are created on.
    #[garde(custom(pve_name))]
    pub node: String,
    #[garde(range(min = 1, max = MAX_VMID))]
    pub template_vmid: u32,
    /// 1..=50 VMs.
    #[garde(range(min = 1, max = MAX_COUNT))]
    pub count: u32,
    /// VM `i` is named `<name_prefix><name_start + i>`.
    #[garde(custom(vm_name_prefix))]
    pub name_prefix: String,
    /// Number of the first name (default 1).
    #[garde(inner(range(min = 0, max = 999_999)))]
    #[serde(default)]
    pub name_start: Option<u32>,
    /// VM id of the first VM (then consecutive); absent = Proxmox picks the next free id.
    #[garde(inner(range(min = 100, max = MAX_VMID)))]
    #[serde(default)]
    pub start_vmid: Option<u32>,
    /// Clone target storage; absent = the template's.
    #[garde(inner(custom(pve_name)))]
    #[serde(default)]
    pub storage: Option<String>,
    #[garde(inner(range(min = 1, max = 128)))]
    #[serde(default)]
    pub cores: Option<u32>,
    /// MiB, 256..=1048576.
    #[garde(inner(range(min = 256, max = 1_048_576)))]
    #[serde(default)]
    pub memory_mb: Option<u32>,
    /// Grow the primary disk to this size (GiB); never shrinks.
    #[garde(inner(range(min = 1, max = 65_536)))]
    #[serde(default)]
    pub disk_gib: Option<u32>,
    #[garde(dive)]
    pub network: VmGenNetwork,
    /// Unattend profile for the provisioning ISO.
    #[garde(length(min = 1, max = 128))]
    pub profile_id: String,
    #[garde(inner(length(min = 1, max = 128)))]
    #[serde(default)]
    pub playbook_id: Option<String>,
    /// Project the VMs are registered under.
    #[garde(inner(length(max = 100)))]
    #[serde(default)]
    pub project_id: Option<String>,
    /// Storage holding ISO images on the node (default `local`).
    #[garde(custom(pve_name))]
    #[serde(default = "default_iso_storage")]
    pub iso_storage: String,
    /// Boot each VM once its provisioning ISO is attached.
    #[garde(skip)]
    #[serde(default)]
    pub start_after: bool,
}

impl crate::validation::Input for VmGenJobCreateRequest {
    const INVALID_CODE: &'static str = "VMGEN_INVALID_JOB_BODY";
}

impl VmGenJobCreateRequest {
    /// Rules across fields, as `{field: [messages]}` (empty = valid). Run after `validate`.
    pub fn cross_check(&self) -> BTreeMap<String, Vec<String>> {
        let mut bad: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut add = |k: &str, m: String| bad.entry(k.to_owned()).or_default().push(m);
        if let Some(start) = self.start_vmid
            && u64::from(start) + u64::from(self.count) - 1 > u64::from(MAX_VMID)
        {
            add(
                "start_vmid",
                format!("start_vmid + count must stay below {MAX_VMID}"),
            );
        }
        if let Some(start) = self.start_vmid
            && (start..start.saturating_add(self.count)).contains(&self.template_vmid)
        {
            add(
                "start_vmid",
                "the VM id range must not include the template".to_owned(),
            );
        }
        let n = &self.network;
        if let (Some(first), Some(gw)) = (parse_ipv4(&n.ip_start), parse_ipv4(&n.gateway)) {
            let prefix = n.prefix_length.clamp(8, 30);
            let mask = u32::MAX << (32 - u32::from(prefix));
            let net = u32::from(first) & mask;
            let broadcast = net | !mask;
            let last = u64::from(u32::from(first)) + u64::from(self.count) - 1;
            if u32::from(first) == net {
                add(
                    "network.ip_start",
                    "must not be the network address".to_owned(),
                );
            }
            if last >= u64::from(broadcast) {
                add(
                    "network.ip_start",
                    format!(
                        "{} addresses from {first} do not fit in {}/{prefix}",
                        self.count,
                        Ipv4Addr::from(net)
                    ),
                );
            }
            if u32::from(gw) & mask != net {
                add(
                    "network.gateway",
                    format!("must be inside {}/{prefix}", Ipv4Addr::from(net)),
                );
            }
            let g = u64::from(u32::from(gw));
            if (u64::from(u32::from(first))..=last).contains(&g) {
                add(
                    "network.gateway",
                    "must not be one of the VMs' addresses".to_owned(),
                );
            }
        }
        bad
    }

    /// Address of VM `index`.
    pub fn ip_of(&self, index: u32) -> Option<String> {
        let first = parse_ipv4(&self.network.ip_start)?;
        u32::from(first)
            .checked_add(index)
            .map(|v| Ipv4Addr::from(v).to_string())
    }

    pub fn name_of(&self, index: u32) -> String {
        format!(
            "{}{}",
            self.name_prefix,
            self.name_start.unwrap_or(1).saturating_add(index)
        )
    }
}

/// One step of one VM.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
pub struct VmGenStep {
    /// One of [`STEPS`].
    pub name: String,
    /// `pending`, `running`, `succeeded`, `failed`, `skipped` or `cancelled`.
    pub status: String,
    /// The vm-ops command of this step (none for `register`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// One VM of a job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VmGenItem {
    pub id: String,
    pub index: u32,
    pub name: String,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub vmid: Option<u32>,
    /// SMBIOS uuid, lower-cased (the VM registry key).
    pub vm_uuid: Option<String>,
    pub ip: Option<String>,
    /// Provisioning token id issued for this VM.
    pub token_id: Option<String>,
    /// The step running or last run.
    pub current_step: Option<String>,
    pub error: Option<String>,
    pub steps: Vec<VmGenStep>,
    pub updated_at: String,
}

/// Items by status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VmGenCounts {
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
}

/// A VM generator job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VmGenJob {
    pub id: String,
    pub tenant_id: String,
    pub agent_id: String,
    pub node: String,
    pub template_vmid: u32,
    pub count: u32,
    pub name_prefix: String,
    /// `queued`, `running`, `succeeded`, `partially_failed`, `failed` or `cancelled`.
    pub status: String,
    /// The request the job was created from.
    #[schema(value_type = Object)]
    pub request: Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub cancel_requested_at: Option<String>,
    pub counts: VmGenCounts,
    /// Present on `GET /vm-generator/jobs/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<VmGenItem>>,
}

/// `GET /vm-generator/jobs`: newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VmGenJobListQuery {
    #[garde(inner(length(min = 1, max = 512)))]
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1..=500, default 50.
    #[garde(inner(range(min = 1, max = 500)))]
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only jobs with this status.
    #[garde(inner(custom(job_status)))]
    #[serde(default)]
    pub status: Option<String>,
}

fn job_status(value: &str, _: &()) -> garde::Result {
    crate::rules::one_of(value, &JOB_STATUSES)
}

impl crate::validation::Input for VmGenJobListQuery {
    const INVALID_CODE: &'static str = "VMGEN_INVALID_LIST_QUERY";
}

impl VmGenJobListQuery {
    pub fn page(&self) -> crate::pagination::PageQuery {
        crate::pagination::PageQuery {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(extra: Value) -> VmGenJobCreateRequest {
        let mut base = json!({
            "agent_id": "a", "node": "pve", "template_vmid": 9000, "count": 3,
            "name_prefix": "WoW", "profile_id": "p",
            "network": {"ip_start": "192.168.10.10", "prefix_length": 24, "gateway": "192.168.10.1"}
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base).expect("request")
    }

    #[test]
    fn addresses_and_names_follow_the_index() {
        let r = req(json!({"name_start": 7}));
        assert!(r.validate().is_ok());
        assert!(r.cross_check().is_empty());
        assert_eq!(r.ip_of(2).as_deref(), Some("192.168.10.12"));
        assert_eq!(r.name_of(2), "WoW9");
        assert_eq!(r.network.dns, vec!["8.8.8.8"]);
        assert_eq!(r.iso_storage, "local");
    }

    #[test]
    fn ranges_that_leave_the_subnet_or_hit_the_gateway_are_refused() {
        let r = req(
            json!({"count": 10, "network": {"ip_start": "192.168.10.250", "prefix_length": 24, "gateway": "192.168.10.1"}}),
        );
        assert!(r.cross_check().contains_key("network.ip_start"));
        let r = req(
            json!({"network": {"ip_start": "192.168.10.1", "prefix_length": 24, "gateway": "192.168.10.2"}}),
        );
        assert!(r.cross_check().contains_key("network.gateway"));
        let r = req(
            json!({"network": {"ip_start": "192.168.10.10", "prefix_length": 24, "gateway": "10.0.0.1"}}),
        );
        assert!(r.cross_check().contains_key("network.gateway"));
        let r = req(json!({"start_vmid": 8999}));
        assert!(r.cross_check().contains_key("start_vmid"));
    }
}
