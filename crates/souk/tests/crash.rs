//! Nothing acknowledged is lost: `kill -9` the server in the middle of a burst
//! of writes, start it again on the same database, and find every write that
//! was answered with success.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "souk-demo-password";

/// Starts `souk demo` on `dir` and returns the child and its URL.
fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_souk"))
        .args(["demo", "--data-dir"])
        .arg(dir)
        .args(["--bind", "127.0.0.1:0", "--write-rate-per-sec", "0"])
        .env("SOUK_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(url) => (child, url),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("souk demo did not start");
        }
    }
}

async fn post(c: &reqwest::Client, url: &str, token: &str, body: Value) -> Option<Value> {
    let r = c
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .ok()?;
    if r.status().is_success() {
        r.json().await.ok()
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start(dir.path());
    let c = reqwest::Client::new();
    let login: Value = c
        .post(format!("{url}/api/v1/auth/password"))
        .json(&json!({"email": "operator@souk.demo", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = login["token"].as_str().unwrap().to_owned();
    // A demo SKU with plenty of stock at the cloud warehouse (location 1).
    let sku = 1;
    post(
        &c,
        &format!("{url}/api/v1/stock/receive"),
        &op,
        json!({"sku_id": sku, "location_id": 1, "qty": 100_000}),
    )
    .await
    .expect("receive");

    // Two kinds of acknowledged writes: reservations (group-committed by the
    // stock owner) and suppliers (plain transactions).
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..16 {
        let (c, url, op, stop) = (c.clone(), url.clone(), op.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut acked: Vec<(&'static str, i64)> = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let r = if i % 4 == 0 {
                    post(
                        &c,
                        &format!("{url}/api/v1/suppliers"),
                        &op,
                        json!({"name": format!("Crash {w}-{i}")}),
                    )
                    .await
                    .map(|v| ("supplier", v["id"].as_i64().unwrap()))
                } else {
                    post(
                        &c,
                        &format!("{url}/api/v1/reservations"),
                        &op,
                        json!({"sku_id": sku, "qty": 1, "location_id": 1}),
                    )
                    .await
                    .map(|v| ("reservation", v["id"].as_i64().unwrap()))
                };
                if let Some(a) = r {
                    acked.push(a);
                }
            }
            acked
        }));
    }
    // Let the burst run, then pull the plug without warning.
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    for w in workers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 20,
        "the burst acknowledged too little to prove anything: {}",
        acked.len()
    );

    let (mut child, url) = start(dir.path());
    let mut missing = Vec::new();
    for (kind, id) in &acked {
        let path = match *kind {
            "supplier" => format!("{url}/api/v1/suppliers/{id}"),
            _ => format!("{url}/api/v1/reservations/{id}"),
        };
        let status = c.get(&path).bearer_auth(&op).send().await.unwrap().status();
        if !status.is_success() {
            missing.push((kind, id, status.as_u16()));
        }
    }
    let check: Value = c
        .get(format!("{url}/api/v1/stock/check"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {missing:?}",
        missing.len(),
        acked.len()
    );
    assert_eq!(check["consistent"], true, "{check}");
}
