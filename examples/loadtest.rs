//! Load and latency tests of the custom handler.
//!
//! ```text
//! # p50/p99 of one 100-event mixed batch through the router in-process (tower oneshot)
//! cargo run --release --example loadtest -- inprocess [--requests 200]
//!
//! # the real server on 127.0.0.1: start-up (time to the first `GET /` answer), then
//! # P concurrent "partitions" posting 100-event batches of CORPUS for SECS seconds
//! cargo run --release --example loadtest -- serve --corpus CORPUS.jsonl [--bin target/release/chargeback] [--secs 30] [--partitions 4] [--data-type string|binary]
//! ```
//!
//! `--data-type binary` posts the host's `dataType: binary` shape (base64 events) instead of the
//! `dataType: string` shape `function.json` declares, to measure what the string shape's three
//! levels of JSON escaping cost the handler.
//!
//! Prints one JSON object: latencies (p50/p99/max ms), throughput (events/s, MB/s), errors (any
//! non-200 answer or an answer without the host's shape) and, for `serve`, the server's RSS
//! sampled every second. Loopback only; bounded in time.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::Request;
use chargeback_core::Encoding;
use chargeback_core::EngineConfig;
use chargeback_handler::{router, AppState, DEFAULT_MAX_BODY_BYTES};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

#[path = "corpus.rs"]
#[allow(dead_code)]
mod corpus;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A host invocation body for these raw events: `dataType: string` (what `function.json` uses:
/// each event a JSON string inside a JSON string), or with `binary` the `dataType: binary` shape
/// (a JSON string holding an array of base64 strings).
fn invocation(events: &[String], first_seq: usize, partition: usize, binary: bool) -> Vec<u8> {
    use base64::Engine as _;
    let seqs: Vec<usize> = (first_seq..first_seq + events.len()).collect();
    let items: Vec<String> = if binary {
        events
            .iter()
            .map(|e| base64::engine::general_purpose::STANDARD.encode(e))
            .collect()
    } else {
        events.to_vec()
    };
    serde_json::to_vec(&json!({
        "Data": {"events": serde_json::to_string(&items).unwrap_or_default()},
        "Metadata": {
            "PartitionContext": json!({"PartitionId": partition.to_string()}).to_string(),
            "SequenceNumberArray": serde_json::to_string(&seqs).unwrap_or_default(),
        }
    }))
    .unwrap_or_default()
}

fn mixed_batch(n: usize, seed: u64) -> Vec<String> {
    use corpus::Kind::*;
    let mix = [
        Chat,
        Chat,
        Chat,
        StreamUsage,
        StreamUsage,
        Embeddings,
        Responses,
        ToolStream,
        StreamText,
        Truncated,
    ];
    let mut gen = corpus::Gen::new(seed);
    (0..n)
        .map(|i| gen.event(mix[i % mix.len()]).to_string())
        .collect()
}

/// The host's answer shape (`{"Logs": …, "Outputs": {…}, "ReturnValue": null}`), checked
/// without parsing the whole body, so the client spends its CPU on sending, not on reading.
fn is_host_answer(body: &[u8]) -> bool {
    body.starts_with(b"{") && body.windows(11).any(|w| w == b"\"Outputs\":{")
}

fn inprocess(args: &[String]) -> Value {
    let requests: usize = arg(args, "--requests")
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    Encoding::O200kBase.warm_up();
    Encoding::Cl100kBase.warm_up();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return json!({"error": e.to_string()}),
    };
    let app = router(
        AppState::new(EngineConfig::default()),
        DEFAULT_MAX_BODY_BYTES,
    );
    let events = mixed_batch(100, 7);
    let body = Bytes::from(invocation(&events, 0, 0, false));
    let mut lat = Vec::with_capacity(requests);
    let mut errors = 0u64;
    // Warm-up requests are not measured.
    for i in 0..requests + 10 {
        let app = app.clone();
        let body = body.clone();
        let t = Instant::now();
        let ok = rt.block_on(async move {
            let Ok(req) = Request::post("/ChargebackEventHubTrigger")
                .header("content-type", "application/json")
                .body(Body::from(body))
            else {
                return false;
            };
            match app.oneshot(req).await {
                Ok(resp) if resp.status().is_success() => match resp.into_body().collect().await {
                    Ok(b) => is_host_answer(&b.to_bytes()),
                    Err(_) => false,
                },
                _ => false,
            }
        });
        if i >= 10 {
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            errors += u64::from(!ok);
        }
    }
    lat.sort_by(f64::total_cmp);
    let p50 = percentile(&lat, 0.5);
    let p99 = percentile(&lat, 0.99);
    json!({
        "mode": "inprocess", "batch_events": 100, "batch_bytes": body.len(), "requests": requests,
        "p50_ms": round3(p50), "p99_ms": round3(p99), "max_ms": round3(percentile(&lat, 1.0)),
        "p99_over_p50": round3(p99 / p50), "errors": errors,
    })
}

/// User + system CPU seconds a process has used so far (`/proc/PID/stat`, clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One HTTP/1.1 request over a fresh loopback connection; returns the status and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let head_end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP head"))?;
    let head = String::from_utf8_lossy(&resp[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let mut body = resp[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}

fn serve(args: &[String]) -> Value {
    let bin = arg(args, "--bin").unwrap_or_else(|| "target/release/chargeback".into());
    let secs: u64 = arg(args, "--secs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let partitions: usize = arg(args, "--partitions")
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let binary = arg(args, "--data-type").as_deref() == Some("binary");
    let Some(corpus_path) = arg(args, "--corpus") else {
        return json!({"error": "--corpus FILE is required"});
    };
    let lines: Vec<String> = match std::fs::File::open(&corpus_path) {
        Ok(f) => std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.trim().is_empty())
            .collect(),
        Err(e) => return json!({"error": format!("{corpus_path}: {e}")}),
    };
    // Batches of 100 events; partition p takes batches p, p+P, p+2P, … and cycles.
    let batches: Vec<(usize, usize, Bytes)> = lines
        .chunks(100)
        .enumerate()
        .map(|(i, c)| {
            let bytes: usize = c.iter().map(|l| l.len() + 1).sum();
            (
                c.len(),
                bytes,
                Bytes::from(invocation(c, i * 100, i % partitions, binary)),
            )
        })
        .collect();
    drop(lines);

    let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => return json!({"error": e.to_string()}),
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let started = Instant::now();
    let mut child = match Command::new(&bin)
        .args(["serve", "--port", &port.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return json!({"error": format!("cannot start {bin}: {e}")}),
    };
    let pid = child.id();
    let mut startup_ms = None;
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok((200, _)) = http(addr, "GET", "/", b"") {
            startup_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let rss_after_start = rss_kb(pid);
    // Let the encoders finish loading in the background before the clock starts.
    std::thread::sleep(Duration::from_millis(1500));
    let rss_encoders_loaded = rss_kb(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let (events, bytes, errors) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let batches = Arc::new(batches);
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let client_cpu0 = cpu_seconds(std::process::id()).unwrap_or(0.0);
    let t0 = Instant::now();
    let workers: Vec<_> = (0..partitions)
        .map(|p| {
            let (stop, events, bytes, errors, latencies, batches) = (
                stop.clone(),
                events.clone(),
                bytes.clone(),
                errors.clone(),
                latencies.clone(),
                batches.clone(),
            );
            std::thread::spawn(move || {
                let mut i = p;
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) && !batches.is_empty() {
                    let (n, b, body) = &batches[i % batches.len()];
                    let t = Instant::now();
                    let ok = matches!(http(addr, "POST", "/ChargebackEventHubTrigger", body),
                                      Ok((200, resp)) if is_host_answer(&resp));
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    if ok {
                        events.fetch_add(*n as u64, Ordering::Relaxed);
                        bytes.fetch_add(*b as u64, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    i += partitions;
                }
                if let Ok(mut all) = latencies.lock() {
                    all.extend(lat);
                }
            })
        })
        .collect();
    let mut rss = Vec::new();
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        rss.push(rss_kb(pid).unwrap_or(0) / 1024);
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let client_cpu = cpu_seconds(std::process::id()).unwrap_or(0.0) - client_cpu0;
    let _ = child.kill();
    let _ = child.wait();
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let ev = events.load(Ordering::Relaxed);
    let half = rss.len() / 2;
    let mean = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len().max(1) as f64;
    json!({
        "mode": "serve", "data_type": if binary { "binary" } else { "string" }, "partitions": partitions, "seconds": round3(elapsed),
        "startup_get_ms": startup_ms.map(round3),
        "rss_mb_after_start": rss_after_start.map(|k| k / 1024),
        "rss_mb_encoders_loaded": rss_encoders_loaded.map(|k| k / 1024),
        "requests": lat.len(), "events": ev,
        "events_per_s": round3(ev as f64 / elapsed),
        "mb_per_s": round3(bytes.load(Ordering::Relaxed) as f64 / 1e6 / elapsed),
        "p50_ms": round3(percentile(&lat, 0.5)), "p99_ms": round3(percentile(&lat, 0.99)),
        "errors": errors.load(Ordering::Relaxed),
        "server_cpu_seconds": round3(server_cpu),
        "client_cpu_seconds": round3(client_cpu),
        "events_per_server_cpu_second": round3(ev as f64 / server_cpu.max(1e-9)),
        "rss_mb_each_second": rss.clone(),
        "rss_mb_first_half_mean": round3(mean(&rss[..half])),
        "rss_mb_second_half_mean": round3(mean(&rss[half..])),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.first().map(String::as_str) {
        Some("inprocess") => inprocess(&args),
        Some("serve") => serve(&args),
        _ => {
            eprintln!("usage: loadtest inprocess [--requests N] | loadtest serve --corpus FILE [--bin PATH] [--secs N] [--partitions N]");
            std::process::exit(2);
        }
    };
    println!("{out}");
    if out.get("error").is_some() || out.get("errors").and_then(Value::as_u64).unwrap_or(0) > 0 {
        std::process::exit(1);
    }
}
