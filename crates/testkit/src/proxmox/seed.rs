//! The world a fresh simulator starts with.

use bytes::Bytes;

use super::config::{
    DEFAULT_TOKEN_ID, DEFAULT_TOKEN_SECRET, DEFAULT_USER, INSTALLER_ISO, SEEDED_VMIDS, SimConfig,
    TEMPLATE_VMID,
};
use super::state::{Node, World};
use super::storage::{FileEntry, Storage, StorageSpec, split_volid};
use super::vm::{RunState, Vm, VmSpec, VmStatus};
use super::vmconfig;
use super::volumes;

pub(crate) fn populate(world: &mut World, config: &SimConfig) {
    world
        .users
        .insert(DEFAULT_USER.to_owned(), config.root_password.clone());
    for name in &config.nodes {
        let mut node = Node::default();
        for spec in [StorageSpec::local_dir(), StorageSpec::local_lvm()] {
            node.storages.insert(spec.name.clone(), Storage::new(spec));
        }
        world.nodes.insert(name.clone(), node);
    }
    if !config.seed {
        return;
    }
    world.tokens.insert(
        format!("{DEFAULT_USER}!{DEFAULT_TOKEN_ID}"),
        DEFAULT_TOKEN_SECRET.to_owned(),
    );
    let Some(first) = config.nodes.first() else {
        return;
    };
    let now = world.now();
    if let Some((storage, volname)) = split_volid(INSTALLER_ISO) {
        let bytes = Bytes::from_static(b"CD001 simulated Windows installer image");
        if let Ok(store) = world.storage_mut(first, storage) {
            store
                .files
                .insert(volname.to_owned(), FileEntry { bytes, ctime: now });
        }
    }
    let template = windows_vm("win10-template")
        .set("sata0", "local-lvm:64,serial=10000001")
        .set("ide0", &format!("{INSTALLER_ISO},media=cdrom"))
        .template();
    insert(world, first, TEMPLATE_VMID, template);
    let [first_id, second_id] = SEEDED_VMIDS;
    insert(
        world,
        first,
        first_id,
        windows_vm("WoW1")
            .set("sata0", "local-lvm:128,serial=10000101")
            .running(),
    );
    insert(
        world,
        first,
        second_id,
        windows_vm("WoW2").set("sata0", "local-lvm:128,serial=10000102"),
    );
}

/// A guest shaped like the VM generator's Windows machines.
fn windows_vm(name: &str) -> VmSpec {
    VmSpec::bare()
        .set("name", name)
        .set("cores", "2")
        .set("sockets", "1")
        .set("memory", "4096")
        .set("balloon", "0")
        .set("cpu", "host")
        .set("ostype", "win10")
        .set("bios", "seabios")
        .set("vga", "std")
        .set("ide2", "none,media=cdrom")
        .set(
            "net0",
            &format!("e1000={},bridge=vmbr0,firewall=1", vmconfig::random_mac()),
        )
        .set("boot", "order=sata0;ide0;net0")
        .set("smbios1", &vmconfig::with_new_smbios_uuid(None))
}

/// Adds a VM from a spec, allocating its disks. Used by the seed and by `ProxmoxSim::add_vm`.
pub(crate) fn insert(world: &mut World, node: &str, vmid: u32, spec: VmSpec) {
    let mut config = spec.config;
    volumes::allocate(world, node, vmid, &mut config);
    let mut vm = Vm::new(config);
    let now = world.now();
    vm.run = match spec.status {
        VmStatus::Stopped => RunState::Stopped,
        VmStatus::Running => RunState::Running { since: now },
        VmStatus::Paused => RunState::Paused { since: now },
    };
    if vm.is_running() {
        vm.pid = rand::random_range(10_000..4_000_000);
    }
    if let Some(n) = world.nodes.get_mut(node) {
        n.vms.insert(vmid, vm);
    }
}
