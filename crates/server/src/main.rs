//! `botmox`: the server and its administration commands.

use anyhow::Context;
use botmox_server::auth::AuthService;
use botmox_server::config::Config;
use botmox_server::db::Db;
use botmox_server::{Server, app, observability};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};

#[derive(Parser)]
#[command(
    name = "botmox",
    version,
    about = "Bot-Mox control plane for Proxmox VM fleets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrations are applied first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; the password is read from stdin (one line) or generated and printed.
    Add {
        email: String,
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Comma-separated roles: admin, infra, api, user.
        #[arg(long, default_value = "user")]
        roles: String,
        /// Read the password from stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Set a user's password (read from stdin, or generated and printed); ends their sessions.
    SetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user and end their sessions.
    Disable { email: String },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Issue an API token; it is printed once.
    Issue {
        name: String,
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long, default_value = "api")]
        roles: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke an API token by id.
    Revoke { id: String },
    /// List API tokens.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!pw.is_empty(), "no password on stdin");
        Ok((pw, false))
    } else {
        Ok((botmox_server::auth::password::generate(), true))
    }
}

fn roles(list: &str) -> Vec<String> {
    list.split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect()
}

async fn admin_context(config: &Config) -> anyhow::Result<std::sync::Arc<AuthService>> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    AuthService::new(db, config).await
}

fn out(line: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        return out(&app::openapi_json()?);
    }
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    observability::logging::init(&config);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            out(&format!("migrations applied ({})", db.backend.name()))
        }
        Command::User(cmd) => {
            let auth = admin_context(&config).await?;
            match cmd {
                UserCmd::Add {
                    email,
                    tenant,
                    roles: r,
                    password_stdin,
                } => {
                    let (pw, generated) = read_password(password_stdin)?;
                    let user = auth
                        .add_user(&tenant, &email, &pw, &roles(&r))
                        .await
                        .map_err(api_err)?;
                    out(&format!(
                        "created user {} ({}) in tenant {} with roles {}",
                        user.email,
                        user.id,
                        user.tenant_id,
                        user.roles.join(",")
                    ))?;
                    if generated {
                        out(&format!("password: {pw}"))?;
                    }
                    Ok(())
                }
                UserCmd::List { tenant } => {
                    for u in auth.list_users(tenant.as_deref()).await.map_err(api_err)? {
                        out(&format!(
                            "{}\t{}\t{}\t{}\t{}",
                            u.id,
                            u.tenant_id,
                            u.email,
                            u.roles.join(","),
                            if u.disabled { "disabled" } else { "active" }
                        ))?;
                    }
                    Ok(())
                }
                UserCmd::SetPassword {
                    email,
                    password_stdin,
                } => {
                    let (pw, generated) = read_password(password_stdin)?;
                    auth.set_password(&email, &pw).await.map_err(api_err)?;
                    out(&format!(
                        "password of {email} changed; existing sessions ended"
                    ))?;
                    if generated {
                        out(&format!("password: {pw}"))?;
                    }
                    Ok(())
                }
                UserCmd::Disable { email } => {
                    auth.disable_user(&email).await.map_err(api_err)?;
                    out(&format!("{email} disabled; existing sessions ended"))
                }
            }
        }
        Command::Token(cmd) => {
            let auth = admin_context(&config).await?;
            match cmd {
                TokenCmd::Issue {
                    name,
                    tenant,
                    roles: r,
                    expires_in_days,
                } => {
                    let req = botmox_contract::auth::ApiTokenCreateRequest {
                        name,
                        roles: roles(&r),
                        expires_in_days,
                    };
                    let created = auth
                        .issue_api_token(&tenant, "cli", &req)
                        .await
                        .map_err(api_err)?;
                    out(&format!("id: {}", created.record.id))?;
                    out(&format!("token: {}", created.token))?;
                    out("The token is shown once; store it now.")
                }
                TokenCmd::Revoke { id } => {
                    auth.revoke_api_token(&id, None).await.map_err(api_err)?;
                    out(&format!("token {id} revoked"))
                }
                TokenCmd::List { tenant } => {
                    for t in auth
                        .list_api_tokens(tenant.as_deref())
                        .await
                        .map_err(api_err)?
                    {
                        let state = if t.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        out(&format!(
                            "{}\t{}\t{}\t{}\t{}",
                            t.id,
                            t.tenant_id,
                            t.name,
                            t.roles.join(","),
                            state
                        ))?;
                    }
                    Ok(())
                }
            }
        }
        Command::Openapi => Ok(()),
    }
}

fn api_err(e: botmox_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.is_sqlite() && config.listen.ip().is_unspecified() {
        tracing::warn!(
            "SQLite mode serves a single node; point DATABASE_URL at PostgreSQL to run several"
        );
    }
    let server = Server::start(config).await.context("starting the server")?;
    if let Some(admin) = &server.bootstrap {
        out("")?;
        out("  Bot-Mox first start: an administrator was created.")?;
        out(&format!("    email:    {}", admin.email))?;
        out(&format!("    password: {}", admin.password))?;
        out("  This password is shown only now. Change it with `botmox user set-password`.")?;
        out("")?;
    }
    out(&format!(
        "Bot-Mox listening on {} (health: {}/api/v1/health/ready)",
        server.url(),
        server.url()
    ))?;
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        let _ = stop.send(true);
    });
    server.wait().await;
    observability::logging::shutdown();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
