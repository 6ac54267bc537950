//! A loopback OpenAI-compatible test server: deterministic replies from a handler, injected
//! 429 / 500 / timeouts / garbage, a log of what it received. Bounded: it serves at most
//! `MAX_REQUESTS` requests and stops by itself after `LIFETIME` or when dropped.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_REQUESTS: usize = 5000;
const LIFETIME: Duration = Duration::from_secs(300);

/// What the server does with one request.
pub enum Action {
    /// 200 with this message content.
    Reply(String),
    /// This status with a body.
    Status(u16, String),
    /// Wait this long before answering (longer than the client's timeout: a timeout).
    Stall(Duration),
    /// 200 with a body that is not a chat-completions reply.
    Garbage,
}

/// One received request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub authorization: Option<String>,
    pub body: serde_json::Value,
    /// How many times this exact body had been seen before (0 for the first).
    pub repeat: usize,
}

pub type Handler = dyn Fn(&Seen) -> Action + Send + Sync;

pub struct Server {
    pub base_url: String,
    pub log: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: Box<Handler>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let handler: Arc<Handler> = Arc::from(handler);
        let (log2, stop2) = (log.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut served = 0usize;
            while !stop2.load(Ordering::Relaxed)
                && start.elapsed() < LIFETIME
                && served < MAX_REQUESTS
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        let (log, counts, handler, stop) =
                            (log2.clone(), counts.clone(), handler.clone(), stop2.clone());
                        std::thread::spawn(move || serve(stream, &log, &counts, &*handler, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server {
            base_url: format!("http://{addr}/v1"),
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut s: TcpStream,
    log: &Mutex<Vec<Seen>>,
    counts: &Mutex<HashMap<String, usize>>,
    handler: &Handler,
    stop: &AtomicBool,
) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let header_end = loop {
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 1 << 26 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut len = 0usize;
    let mut auth = None;
    for line in head.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_string());
            }
        }
    }
    while buf.len() < header_end + len {
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
    let body_text = String::from_utf8_lossy(&buf[header_end..header_end + len]).to_string();
    let body: serde_json::Value =
        serde_json::from_str(&body_text).unwrap_or(serde_json::Value::Null);
    let repeat = {
        let mut c = counts.lock().unwrap();
        let e = c.entry(body_text.clone()).or_insert(0);
        *e += 1;
        *e - 1
    };
    let seen = Seen {
        authorization: auth,
        body,
        repeat,
    };
    log.lock().unwrap().push(seen.clone());
    let (status, text) = match handler(&seen) {
        Action::Reply(content) => (
            200,
            serde_json::json!({
                "id": "cmpl-test", "object": "chat.completion", "model": "test",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]
            })
            .to_string(),
        ),
        Action::Status(code, body) => (code, body),
        Action::Garbage => (200, "<html>502 upstream hiccup</html>".to_string()),
        Action::Stall(d) => {
            let until = Instant::now() + d;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
            (200, "{}".to_string())
        }
    };
    let resp = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = s.write_all(resp.as_bytes());
    let _ = s.flush();
}

/// The text part of the user message of a request.
pub fn prompt_of(seen: &Seen) -> String {
    let msgs = seen.body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let user = msgs
        .iter()
        .find(|m| m["role"] == "user")
        .cloned()
        .unwrap_or_default();
    user["content"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

/// The PNG bytes of the image part of a request, if any.
pub fn image_of(seen: &Seen) -> Option<Vec<u8>> {
    use base64::Engine;
    let msgs = seen.body["messages"].as_array()?;
    let user = msgs.iter().find(|m| m["role"] == "user")?;
    let url = user["content"]
        .as_array()?
        .iter()
        .find_map(|p| p["image_url"]["url"].as_str())?;
    let b64 = url.strip_prefix("data:image/png;base64,")?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}
