//! `botmox-proxmox-sim`: runs the Proxmox VE API simulator for manual testing.
//!
//! Usage: `botmox-proxmox-sim [--port 8006] [--bind 127.0.0.1] [--http] [--node NAME]...`

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, bail};
use botmox_testkit::proxmox::{
    DEFAULT_PASSWORD, DEFAULT_TOKEN_ID, DEFAULT_TOKEN_SECRET, DEFAULT_USER, ProxmoxSim, SimConfig,
};

const USAGE: &str =
    "usage: botmox-proxmox-sim [--port PORT] [--bind ADDR] [--http] [--node NAME]...";

fn parse_args() -> anyhow::Result<SimConfig> {
    let mut config = SimConfig::default();
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = 8006u16;
    let mut nodes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--port" => port = value("--port")?.parse().context("--port")?,
            "--bind" => ip = value("--bind")?.parse().context("--bind")?,
            "--node" => nodes.push(value("--node")?),
            "--http" => config.tls = false,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if !nodes.is_empty() {
        config.nodes = nodes;
    }
    config.bind = SocketAddr::new(ip, port);
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = ProxmoxSim::start(parse_args()?).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Proxmox VE API simulator listening on {}", sim.url())?;
    writeln!(out, "API base:    {}", sim.base_api_url())?;
    if let Some(fingerprint) = sim.fingerprint_sha256() {
        writeln!(out, "Fingerprint: {fingerprint}")?;
    }
    writeln!(out, "Login:       {DEFAULT_USER} / {DEFAULT_PASSWORD}")?;
    writeln!(
        out,
        "API token:   PVEAPIToken={DEFAULT_USER}!{DEFAULT_TOKEN_ID}={DEFAULT_TOKEN_SECRET}"
    )?;
    if let Some(pem) = sim.cert_pem() {
        writeln!(out, "Certificate:\n{pem}")?;
    }
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.shutdown().await;
    Ok(())
}
