//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
//! request as soon as the previous answer arrives. Latencies go into an HDR histogram.

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub histogram: Histogram<u64>,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Latency at a quantile, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        (self.histogram.value_at_quantile(q) as f64 / 1000.0 * 1000.0).round() / 1000.0
    }
}

/// Runs `GET path` with a bearer token for `warmup + duration`, measuring only `duration`.
pub async fn run_get(
    addr: SocketAddr,
    path: &str,
    token: &str,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let path = path.to_owned();
        let auth = format!("Bearer {token}");
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let (mut ok, mut errors) = (0u64, 0u64);
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let req = Request::get(path.as_str())
                    .header("host", addr.to_string())
                    .header("authorization", auth.as_str())
                    .body(Empty::<Bytes>::new())?;
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                let status = resp.status();
                resp.into_body().collect().await?;
                if sent >= measure_from {
                    if status.is_success() {
                        ok += 1;
                        hist.record(sent.elapsed().as_micros().max(1) as u64)?;
                    } else {
                        errors += 1;
                    }
                }
            }
            anyhow::Ok((hist, ok, errors))
        }));
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut requests, mut errors) = (0, 0);
    for t in tasks {
        let (h, ok, err) = t.await??;
        histogram.add(h)?;
        requests += ok;
        errors += err;
    }
    Ok(LoadResult {
        requests,
        errors,
        elapsed: duration,
        histogram,
    })
}
