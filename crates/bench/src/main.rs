//! `botmox-bench <scenario>`: load generators that start a real server (in this process, on
//! its own runtime) and print one JSON line of figures.

mod agent_idle;
mod commands;
mod fleet;
mod harness;
mod http;
mod leases;
mod load;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "botmox-bench", about = "Bot-Mox load generators")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Subcommand)]
enum Scenario {
    /// HTTP throughput and latency of authenticated reads (`GET /api/v1/auth/whoami`, then
    /// `GET /api/v1/bots?limit=100` over 10,000 bots seeded through the API).
    Http {
        #[arg(long, value_enum, default_value = "both")]
        db: DbChoice,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Measured seconds per target (after a 1 s warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Many idle agents on one node: server memory per connection, idle CPU, responsiveness.
    Fleet {
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Seconds of idle time over which the server's CPU is measured.
        #[arg(long, default_value_t = 30)]
        idle_seconds: u64,
    },
    /// Internal: run a server from the environment (used by `fleet`).
    #[command(name = "__server", hide = true)]
    Server,
    /// Full command lifecycle through simulated WebSocket agents.
    Commands {
        #[arg(long, value_enum, default_value = "both")]
        db: DbChoice,
        #[arg(long, default_value_t = 50)]
        agents: usize,
        #[arg(long, default_value_t = 10_000)]
        commands: usize,
        /// Commands each agent runs at once.
        #[arg(long, default_value_t = 16)]
        inflight: u32,
        /// Concurrent client tasks queueing commands (throughput mode).
        #[arg(long, default_value_t = 4)]
        producers: usize,
        /// Commands per enqueue request: 1 = `POST /vm-ops/commands`, more =
        /// `POST /vm-ops/commands/batch` (throughput mode).
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Latency mode: queue single commands at this fixed rate (open loop, one request
        /// each) for `--seconds` instead of as fast as possible.
        #[arg(long)]
        rate: Option<u32>,
        /// Measured seconds of the latency mode.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The real agent binary paired, connected and idle: its RSS, threads and CPU time.
    #[command(name = "agent-idle")]
    AgentIdle {
        /// The `botmox-agent` binary (default: next to this one).
        #[arg(long)]
        agent_bin: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Lease-gated delivery: `POST /license/lease` then `POST /artifacts/resolve-download`.
    Leases {
        #[arg(long, value_enum, default_value = "both")]
        db: DbChoice,
        /// Concurrent round-trip loops.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Measured seconds per target (after a 1 s warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Http {
            db,
            connections,
            seconds,
        } => http::run(db, connections, seconds),
        Scenario::Fleet {
            agents,
            idle_seconds,
        } => fleet::run(agents, idle_seconds),
        Scenario::Server => fleet::serve_child(),
        Scenario::Commands {
            db,
            agents,
            commands,
            inflight,
            producers,
            batch,
            rate,
            seconds,
        } => commands::run(
            db,
            commands::Load {
                agents,
                commands,
                inflight,
                producers,
                batch,
                rate,
                seconds,
            },
        ),
        Scenario::AgentIdle { agent_bin, seconds } => agent_idle::run(agent_bin, seconds),
        Scenario::Leases {
            db,
            concurrency,
            seconds,
        } => leases::run(db, concurrency, seconds),
    }
}
