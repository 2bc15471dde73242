//! `botmox-agent`: pair with a Bot-Mox server, manage Proxmox targets, run the daemon.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use botmox_agent::api::{Paired, ServerApi, machine_name};
use botmox_agent::config::{self, AgentConfig, Pairing, ProxmoxTarget};
use botmox_agent::executor::Dispatcher;
use botmox_agent::executor::proxmox::ProxmoxExecutor;
use botmox_agent::pairing;
use botmox_agent::secret::Secret;
use botmox_agent::session::{Exit, Session, SessionOptions};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "botmox-agent", version, about = "Bot-Mox agent")]
struct Cli {
    /// Config file (default: $BOTMOX_AGENT_CONFIG or the platform config dir).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Pair with a server: a bundle, a botmox:// URI, a pairing URL, a code with --server, or
    /// --login EMAIL --server URL (password from a prompt or stdin).
    Pair(PairArgs),
    /// Show the pairing and the targets (no secrets).
    Status,
    /// Forget the pairing (targets are kept).
    Unpair,
    /// Manage Proxmox targets.
    #[command(subcommand)]
    Target(TargetCmd),
    /// Run the agent until stopped (SIGTERM / Ctrl-C), revoked or its token is rejected.
    Run,
}

#[derive(Args)]
struct PairArgs {
    /// Bundle, botmox://pair?bundle=… URI, <server>/agent/pair?bundle=… URL, or a code.
    input: Option<String>,
    /// Server URL (needed with a bare code or --login; overrides the bundle's).
    #[arg(long)]
    server: Option<String>,
    /// Quick pair with a Bot-Mox account (the password is read from a prompt or stdin).
    #[arg(long)]
    login: Option<String>,
    /// Name shown in the server (default: the host name).
    #[arg(long)]
    name: Option<String>,
}

#[derive(Subcommand)]
enum TargetCmd {
    /// Add or replace a target. The password (or API token secret) is read from a prompt or stdin.
    Add(TargetAdd),
    List,
    Remove {
        name: String,
    },
    /// Set how to reach the target's host over SSH (`proxmox.ssh-*` commands).
    Ssh(TargetSsh),
}

#[derive(Args)]
struct TargetSsh {
    name: String,
    /// Host (default: the Proxmox URL host).
    #[arg(long)]
    host: Option<String>,
    /// Port (default 22).
    #[arg(long)]
    port: Option<u16>,
    /// User (default: the Proxmox username without its realm).
    #[arg(long)]
    user: Option<String>,
    /// An OpenSSH private key file.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Read an SSH password from a prompt or stdin (default: the Proxmox password).
    #[arg(long)]
    password: bool,
    /// Pinned host key fingerprint, `SHA256:…` as `ssh-keygen -lf` prints it.
    #[arg(long, conflicts_with = "known_hosts")]
    host_key: Option<String>,
    /// A known_hosts file to check the host key against (default: ~/.ssh/known_hosts).
    #[arg(long)]
    known_hosts: Option<PathBuf>,
}

#[derive(Args)]
struct TargetAdd {
    name: String,
    /// https://host:8006
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "root@pam")]
    username: String,
    /// API token id (`user@realm!name`); its secret is read instead of a password.
    #[arg(long)]
    token_id: Option<String>,
    #[arg(long)]
    node: String,
    /// Pinned SHA-256 fingerprint of the host certificate.
    #[arg(long, conflicts_with_all = ["ca", "insecure"])]
    fingerprint: Option<String>,
    /// CA certificate (PEM) to verify the host.
    #[arg(long, conflicts_with = "insecure")]
    ca: Option<PathBuf>,
    /// Disable TLS verification for this target.
    #[arg(long)]
    insecure: bool,
    /// Do not ask for a secret (store none).
    #[arg(long)]
    no_secret: bool,
    /// Make it the default target.
    #[arg(long)]
    default: bool,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    // Two workers whatever the host's core count: the agent is mostly idle and its commands
    // are I/O-bound, so more threads would only cost memory.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(real_main(cli)) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BOTMOX_AGENT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json =
        std::env::var("BOTMOX_AGENT_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = match cli.config {
        Some(p) => p,
        None => config::default_path()?,
    };
    match cli.cmd {
        Cmd::Pair(args) => pair(&path, args).await?,
        Cmd::Status => {
            let cfg = AgentConfig::load(&path)?;
            out(&serde_json::to_string_pretty(&config::redacted_summary(
                &cfg, &path,
            ))?)?;
        }
        Cmd::Unpair => {
            let mut cfg = AgentConfig::load(&path)?;
            if cfg.agent.take().is_none() {
                out("not paired")?;
            } else {
                cfg.save(&path)?;
                out("unpaired (revoke the agent on the server to invalidate its token)")?;
            }
        }
        Cmd::Target(t) => target(&path, t)?,
        Cmd::Run => return run(&path).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn out(text: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{text}").context("writing to stdout")
}

/// A secret from a TTY prompt, or the first line of stdin when it is not a terminal.
fn read_secret(prompt: &str) -> anyhow::Result<Secret> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading the secret")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the secret from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if value.is_empty() {
        bail!("empty secret");
    }
    Ok(Secret::new(value))
}

async fn pair(path: &Path, args: PairArgs) -> anyhow::Result<()> {
    let machine = args.name.clone().unwrap_or_else(machine_name);
    let (server, paired, hints) = if let Some(login) = &args.login {
        if args.input.is_some() {
            bail!("give either a pairing input or --login, not both");
        }
        let server = args
            .server
            .clone()
            .ok_or_else(|| anyhow!("--login needs --server URL"))?;
        let password = read_secret(&format!("Password for {login}: "))?;
        let api = ServerApi::new(&server, None)?;
        let paired = api
            .quick_pair(login, &password, &machine)
            .await
            .context("quick pair")?;
        (server, paired, None)
    } else {
        let input = args
            .input
            .as_deref()
            .ok_or_else(|| anyhow!("give a pairing bundle, URI, URL or code (or --login)"))?;
        let parsed = pairing::parse(input)?;
        let server = args
            .server
            .clone()
            .or(parsed.server_url.clone())
            .ok_or_else(|| anyhow!("this pairing input has no server URL; add --server URL"))?;
        let api = ServerApi::new(&server, None)?;
        let paired: Paired = api
            .register(&parsed.code, &machine)
            .await
            .context("registering the agent")?;
        (server, paired, parsed.proxmox)
    };
    let mut cfg = AgentConfig::load(path)?;
    let now = chrono::Utc::now();
    cfg.agent = Some(Pairing {
        server_url: server.trim_end_matches('/').to_owned(),
        agent_id: paired.id.clone(),
        agent_name: paired.name.clone(),
        token: Secret::new(paired.agent_token),
        token_issued_at: now,
        token_expires_at: paired.agent_token_expires_at,
        paired_at: now,
    });
    cfg.save(path)?;
    out(&format!(
        "paired as agent {} ({}) with {}",
        paired.id, paired.name, server
    ))?;
    if let Some(h) = hints {
        out(&format!(
            "server suggests a Proxmox target: url={} username={} node={} (add it with `botmox-agent target add`)",
            h.url.unwrap_or_default(),
            h.username.unwrap_or_default(),
            h.node.unwrap_or_default()
        ))?;
    }
    Ok(())
}

fn target(path: &Path, cmd: TargetCmd) -> anyhow::Result<()> {
    let mut cfg = AgentConfig::load(path)?;
    match cmd {
        TargetCmd::Add(a) => {
            let url = url::Url::parse(&a.url).context("--url")?;
            if !matches!(url.scheme(), "https" | "http") {
                bail!("--url must be http(s)://host:port");
            }
            if let Some(fp) = &a.fingerprint {
                botmox_agent::executor::proxmox::tls::parse_fingerprint(fp)
                    .context("--fingerprint")?;
            }
            let mut t = ProxmoxTarget {
                url: a.url.trim_end_matches('/').to_owned(),
                username: a.username.clone(),
                node: a.node.clone(),
                fingerprint: a.fingerprint.clone(),
                ca_path: a.ca.clone(),
                insecure: a.insecure,
                ..ProxmoxTarget::default()
            };
            if !a.no_secret {
                match &a.token_id {
                    Some(id) => {
                        t.token_id = Some(id.clone());
                        t.token_secret =
                            Some(read_secret(&format!("API token secret for {id}: "))?);
                    }
                    None => {
                        t.password = Some(read_secret(&format!(
                            "Proxmox password for {}: ",
                            a.username
                        ))?)
                    }
                }
            }
            if a.insecure {
                tracing::warn!(target_name = %a.name, "TLS verification is disabled for this target");
            }
            if a.default || cfg.default_target.is_none() {
                cfg.default_target = Some(a.name.clone());
            }
            cfg.targets.insert(a.name.clone(), t);
            cfg.save(path)?;
            out(&format!("target {} saved", a.name))?;
        }
        TargetCmd::List => {
            let list: Vec<serde_json::Value> = cfg
                .targets
                .iter()
                .map(|(n, t)| {
                    config::target_summary(n, t, cfg.default_target.as_deref() == Some(n))
                })
                .collect();
            out(&serde_json::to_string_pretty(&list)?)?;
        }
        TargetCmd::Ssh(a) => {
            let t = cfg
                .targets
                .get_mut(&a.name)
                .ok_or_else(|| anyhow!("no target named {}", a.name))?;
            let mut ssh = t.ssh.clone().unwrap_or_default();
            if let Some(fp) = &a.host_key {
                let body = fp.trim().trim_start_matches("SHA256:");
                if body.is_empty()
                    || !body
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                {
                    bail!("--host-key must be SHA256:<base64> as `ssh-keygen -lf` prints it");
                }
                ssh.host_key = Some(format!("SHA256:{}", body.trim_end_matches('=')));
                ssh.known_hosts = None;
            }
            if let Some(p) = a.known_hosts {
                ssh.known_hosts = Some(p);
                ssh.host_key = None;
            }
            if a.host.is_some() {
                ssh.host = a.host;
            }
            if a.port.is_some() {
                ssh.port = a.port;
            }
            if a.user.is_some() {
                ssh.username = a.user;
            }
            if a.key.is_some() {
                ssh.key_path = a.key;
            }
            if a.password {
                ssh.password = Some(read_secret("SSH password: ")?);
            }
            t.ssh = Some(ssh);
            cfg.save(path)?;
            out(&format!("SSH settings of target {} saved", a.name))?;
        }
        TargetCmd::Remove { name } => {
            if cfg.targets.remove(&name).is_none() {
                bail!("no target named {name}");
            }
            if cfg.default_target.as_deref() == Some(name.as_str()) {
                cfg.default_target = cfg.targets.keys().next().cloned();
            }
            cfg.save(path)?;
            out(&format!("target {name} removed"))?;
        }
    }
    Ok(())
}

async fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let cfg = AgentConfig::load(path)?;
    let pairing = cfg.pairing()?.clone();
    if cfg.targets.is_empty() {
        tracing::warn!("no Proxmox target configured; proxmox.* commands will fail");
    }
    let dispatcher = Dispatcher::new(vec![Arc::new(ProxmoxExecutor::new(&cfg))]);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let session = Session::new(
        path.to_owned(),
        pairing,
        dispatcher,
        SessionOptions::from_env(),
        stop_rx,
    );
    Ok(match session.run().await? {
        Exit::Shutdown => ExitCode::SUCCESS,
        Exit::Revoked => ExitCode::from(3),
        Exit::TokenRejected => ExitCode::from(4),
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C received");
    }
}
