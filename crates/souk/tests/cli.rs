//! The `souk` binary as a newcomer uses it: help, migrate, demo (seeded once,
//! idempotently), graceful shutdown on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn souk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_souk"));
    c.env_remove("SOUK_DATABASE_URL")
        .env_remove("SOUK_BIND")
        .env("SOUK_LOG_LEVEL", "warn");
    c
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["demo", "--help"],
    ] {
        let out = souk().args(sub).output().unwrap();
        assert!(out.status.success(), "{sub:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage"), "{sub:?}: {text}");
    }
    let out = souk().arg("frobnicate").output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn migrate_creates_the_sqlite_file_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new/folder/souk.db");
    let url = format!("sqlite://{}", file.display());
    for _ in 0..2 {
        let out = souk()
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(file.exists());
}

#[test]
fn migrate_refuses_an_unknown_database() {
    let out = souk()
        .args(["migrate", "--database-url", "mysql://nowhere/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

struct Server {
    child: Child,
    url: String,
    output: std::sync::mpsc::Receiver<String>,
}

/// Starts `souk demo` on a free port and waits for its "listening on" line.
fn start_demo(data_dir: &std::path::Path) -> Server {
    let mut child = souk()
        .args(["demo", "--data-dir"])
        .arg(data_dir)
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let url = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("listening on ") {
                    break Some(url.trim().to_owned());
                }
            }
            Err(_) => break None,
        }
    };
    match url {
        Some(url) => Server {
            child,
            url,
            output: rx,
        },
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("souk demo did not print its address");
        }
    }
}

fn stop(mut s: Server) -> std::process::ExitStatus {
    let pid = s.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "souk did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn count_public_products(url: &str) -> usize {
    let client = reqwest::Client::new();
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("{url}/api/v1/products?limit=100");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value = client.get(&q).send().await.unwrap().json().await.unwrap();
        n += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_once_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_demo(dir.path());
    let banner: Vec<String> = (0..4)
        .filter_map(|_| first.output.recv_timeout(Duration::from_secs(5)).ok())
        .collect();
    assert!(
        banner.iter().any(|l| l.contains("seeded just now")),
        "{banner:?}"
    );
    // 200 products, every tenth left in draft: 180 are public.
    assert_eq!(count_public_products(&first.url).await, 180);
    let zh: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/products/1", first.url))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zh["locale"], "zh-CN");
    assert!(zh["skus"].as_array().unwrap().len() >= 3);
    assert!(stop(first).success(), "clean exit on SIGTERM");

    let second = start_demo(dir.path());
    let banner: Vec<String> = (0..4)
        .filter_map(|_| second.output.recv_timeout(Duration::from_secs(5)).ok())
        .collect();
    assert!(
        banner.iter().any(|l| l.contains("already seeded")),
        "{banner:?}"
    );
    assert_eq!(
        count_public_products(&second.url).await,
        180,
        "seeding again added nothing"
    );
    assert!(stop(second).success());
}
