//! Races: many HTTP requests released at the same instant.
//!
//! Each racer has its own HTTP client with a connection already open to the
//! app; every request is built before the start, and the tasks that send
//! them wait on one barrier, so the requests leave together.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Reply, TestApp};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Barrier;

/// How many rounds each race runs: `SOUK_RACE_ROUNDS`, else `default`.
pub fn rounds(default: usize) -> usize {
    std::env::var("SOUK_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// One request of a race.
pub struct Shot {
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl Shot {
    /// A JSON POST signed with `token`, with a fresh Idempotency-Key.
    pub fn post(path: &str, token: Option<&str>, body: &Value) -> Shot {
        let mut headers = vec![
            ("content-type", "application/json".to_owned()),
            ("idempotency-key", uuid::Uuid::new_v4().to_string()),
        ];
        if let Some(t) = token {
            headers.push(("authorization", format!("Bearer {t}")));
        }
        Shot {
            method: Method::POST,
            path: path.to_owned(),
            headers,
            body: Some(serde_json::to_vec(body).unwrap()),
        }
    }

    /// A wallet's webhook delivery: the raw body and its signature header.
    pub fn webhook(provider: &str, body: &str, signature: &str) -> Shot {
        Shot {
            method: Method::POST,
            path: format!("/api/v1/payments/webhooks/{provider}"),
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("souk-signature", signature.to_owned()),
            ],
            body: Some(body.as_bytes().to_vec()),
        }
    }
}

/// `n` HTTP clients, each with a connection open to the app.
pub struct Racers {
    url: String,
    clients: Vec<reqwest::Client>,
}

impl Racers {
    pub async fn connect(app: &TestApp, n: usize) -> Racers {
        let clients: Vec<reqwest::Client> = (0..n)
            .map(|_| {
                reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap()
            })
            .collect();
        let warm = clients.iter().map(|c| async move {
            let r = c.get(format!("{}/healthz", app.url)).send().await.unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap();
        });
        futures::future::join_all(warm).await;
        Racers {
            url: app.url.clone(),
            clients,
        }
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Sends `shots[i]` from client `i`, all released together once every
    /// sender is ready; the replies come back in the order of `shots`.
    pub async fn fire(&self, shots: Vec<Shot>) -> Vec<Reply> {
        assert_eq!(shots.len(), self.clients.len(), "one shot per racer");
        let gate = Arc::new(Barrier::new(shots.len()));
        let tasks: Vec<_> = self
            .clients
            .iter()
            .zip(shots)
            .map(|(client, shot)| {
                let mut req = client.request(shot.method, format!("{}{}", self.url, shot.path));
                for (k, v) in shot.headers {
                    req = req.header(k, v);
                }
                if let Some(b) = shot.body {
                    req = req.body(b);
                }
                let req = req.build().unwrap();
                let (client, gate) = (client.clone(), gate.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    let res = client.execute(req).await.expect("request");
                    Reply {
                        status: res.status(),
                        headers: res.headers().clone(),
                        bytes: res.bytes().await.expect("body").to_vec(),
                    }
                })
            })
            .collect();
        let mut replies = Vec::with_capacity(tasks.len());
        for t in tasks {
            replies.push(t.await.expect("racer"));
        }
        replies
    }
}

/// `"<status> <code>"` of a reply (`"<status>"` when it has no error code).
/// A 5xx fails the test at once, with its body.
#[track_caller]
pub fn outcome(r: &Reply) -> String {
    assert!(
        !r.status.is_server_error(),
        "server error {}: {}",
        r.status,
        String::from_utf8_lossy(&r.bytes)
    );
    match r.code() {
        c if c.is_empty() => r.status.as_u16().to_string(),
        c => format!("{} {c}", r.status.as_u16()),
    }
}

/// How many replies had each outcome.
#[track_caller]
pub fn tally(replies: &[Reply]) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for r in replies {
        *t.entry(outcome(r)).or_insert(0) += 1;
    }
    t
}

/// The tally `{winner: 1, loser: n - 1}`.
pub fn one_winner(winner: &str, loser: &str, n: usize) -> BTreeMap<String, usize> {
    BTreeMap::from([(winner.to_owned(), 1), (loser.to_owned(), n - 1)])
}
