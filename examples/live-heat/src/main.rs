//! live-heat: drag a polygon in the browser; plait's live flow solves the steady-state heat
//! equation over it and streams the result back, cancelling solves a newer shape made stale.
//!
//! `cargo run --release -p live-heat` serves the page and prints its address. See README.md.

mod feed;
mod flow;
mod polygon;
mod server;
mod solver;
mod status;

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use plait_engine::live::LiveFlow;

/// Serves the live-heat page on 127.0.0.1 and prints its address.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port to listen on; 0 picks a free one (the printed address says which).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Instead of serving, time the served solve on a few shapes (3 rounds each) and exit.
    #[arg(long)]
    solve_times: bool,
}

/// How long the polygon must hold still before a solve that a move cancelled starts again.
/// A drag sends a polygon every frame (16 ms): restarting between frames would start and
/// cancel a solve per frame, so the solver waits for a pause in the drag instead.
const RESTART_DELAY: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.solve_times {
        for time in solver::solve_times(&solver::Settings::SERVED, 3) {
            println!(
                "{}: {} sweeps, {:.0?} ms",
                time.shape, time.sweeps, time.milliseconds
            );
        }
        return Ok(());
    }
    let plan = flow::served_plan().context("The example's workflow does not compile")?;
    let mut builder = LiveFlow::builder(plan).restart_delay(RESTART_DELAY);
    // Taken before `start`, so the status sees revision 1's solve start too.
    let status = status::follow(builder.activity());
    let live = builder
        .start([(flow::POLYGON, flow::initial_polygon())])
        .context("Cannot start the live flow")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "Cannot listen on port {}; pick another with `--port N`, or `--port 0` for any free one",
                args.port
            )
        })?;
    let address = listener
        .local_addr()
        .context("Cannot read the bound address")?;
    // The address alone on stdout, for scripts; the rest goes to stderr.
    println!("http://{address}/");
    eprintln!("live-heat: open the address above in a browser and drag the polygon's corners");
    axum::serve(listener, server::router(live, status))
        .await
        .context("The server stopped")
}
