//! The built-in demo VLM: an OpenAI-compatible `/v1/chat/completions` endpoint on 127.0.0.1 (an
//! ephemeral port) answering with a documented, NON-LEARNED rule, so `demo` exercises the whole
//! HTTP path (requests, retries, cache, parsing, records) with no network and no weights. It is
//! labelled as such everywhere (model name `demo-rule-vlm`); its scores say nothing about any
//! real model.
//!
//! The rule, on the image sent (luminance of the 8-bit PNG): saliency = |luminance - median|,
//! smoothed by a 5x5 mean; the "object" is the 4-connected region around the saliency maximum
//! where saliency >= half the maximum.
//! - grounding (the prompt asks for a box): the object's box `[x1, y1, x2, y2]` in pixels;
//! - VQA (the prompt lists lettered options): the option naming the quadrant of the object's
//!   centre ("upper left", "upper right", "lower left", "lower right"); when no option names a
//!   quadrant, the letter at position floor(mean luminance x options);
//! - caption (otherwise): "a {bright|dark} {greyscale|colour} image with a {small|large} salient
//!   region in the {quadrant}".

use crate::error::{Error, Result};
use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Model name the demo server reports (and the demo config uses).
pub const MODEL: &str = "demo-rule-vlm";

/// A running demo server; stops when dropped.
pub struct DemoServer {
    pub base_url: String,
    pub requests: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DemoServer {
    pub fn start() -> Result<DemoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::other("demo VLM server", format!("cannot bind 127.0.0.1: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::other("demo VLM server", e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::other("demo VLM server", e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let (stop2, req2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let req3 = req2.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, &req3);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(DemoServer {
            base_url: format!("http://{addr}/v1"),
            requests,
            stop,
            thread: Some(thread),
        })
    }

    /// A MODEL.toml for this server (written by `demo` next to its config).
    pub fn model_toml(&self) -> String {
        format!(
            "# The built-in demo VLM: a non-learned rule on 127.0.0.1 (src/eval/vlm/demo_server.rs), not a model.\n\
             name = \"{MODEL}\"\nbase_url = \"{}\"\nmodel = \"{MODEL}\"\nbox_format = \"xyxy-pixel\"\nconcurrency = 4\nmax_retries = 1\ntimeout_s = 30\n",
            self.base_url
        )
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, requests: &AtomicU64) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let post = line.starts_with("POST ") && line.contains("/chat/completions");
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len.min(64 << 20)];
    reader.read_exact(&mut body)?;
    let (status, reply) = if post {
        requests.fetch_add(1, Ordering::Relaxed);
        match serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| answer(&v))
        {
            Some(text) => (
                200,
                json!({"id": "demo", "object": "chat.completion", "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}),
            ),
            None => (
                400,
                json!({"error": {"message": "expected a chat completion with a text prompt and a PNG image"}}),
            ),
        }
    } else {
        (
            404,
            json!({"error": {"message": "only POST /v1/chat/completions"}}),
        )
    };
    let text = reply.to_string();
    let mut s = stream;
    write!(
        s,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        if status == 200 { "OK" } else { "Error" },
        text.len()
    )?;
    s.flush()
}

/// The rule's reply to a chat-completions body (None when it has no text or image).
pub fn answer(body: &Value) -> Option<String> {
    let content = body["messages"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["role"] == "user")?["content"]
        .as_array()?
        .clone();
    let prompt = content.iter().find_map(|c| c["text"].as_str())?.to_string();
    let url = content
        .iter()
        .find_map(|c| c["image_url"]["url"].as_str())?;
    let b64 = url.split_once("base64,")?.1;
    let png = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let img = image::load_from_memory(&png).ok()?;
    let colour = img.color().has_color();
    let grey = img.to_luma8();
    let (w, h) = (grey.width() as usize, grey.height() as usize);
    let lum: Vec<f32> = grey
        .as_raw()
        .iter()
        .map(|&v| f32::from(v) / 255.0)
        .collect();
    let object = salient_box(&lum, w, h);
    let mean = lum.iter().sum::<f32>() / lum.len().max(1) as f32;
    let lower = prompt.to_lowercase();
    if lower.contains("bounding box")
        || lower.contains("[x1")
        || lower.contains("box") && !lower.contains("option")
    {
        let [x1, y1, x2, y2] = object;
        return Some(format!("[{x1}, {y1}, {x2}, {y2}]"));
    }
    let q = quadrant(object, w, h);
    let options: Vec<(char, String)> = prompt
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let mut ch = l.chars();
            let c = ch.next()?;
            (c.is_ascii_uppercase() && matches!(ch.next(), Some('.') | Some(')') | Some(':')))
                .then(|| (c, l[2..].trim().to_lowercase()))
        })
        .collect();
    if !options.is_empty() {
        if let Some((c, _)) = options.iter().find(|(_, t)| t.contains(q)) {
            return Some(format!("{c}"));
        }
        let k = ((mean * options.len() as f32) as usize).min(options.len() - 1);
        return Some(format!("{}", options[k].0));
    }
    let area = ((object[2] - object[0]) * (object[3] - object[1])) as f32 / (w * h).max(1) as f32;
    Some(format!(
        "a {} {} image with a {} salient region in the {q}",
        if mean > 0.5 { "bright" } else { "dark" },
        if colour { "colour" } else { "greyscale" },
        if area > 0.1 { "large" } else { "small" }
    ))
}

/// "upper left" / "upper right" / "lower left" / "lower right" of a box's centre.
pub fn quadrant(b: [usize; 4], w: usize, h: usize) -> &'static str {
    let (cx, cy) = ((b[0] + b[2]) as f32 / 2.0, (b[1] + b[3]) as f32 / 2.0);
    match (cy < h as f32 / 2.0, cx < w as f32 / 2.0) {
        (true, true) => "upper left",
        (true, false) => "upper right",
        (false, true) => "lower left",
        (false, false) => "lower right",
    }
}

/// Box [x1, y1, x2, y2] (x2, y2 exclusive) of the salient region (module docs).
pub fn salient_box(lum: &[f32], w: usize, h: usize) -> [usize; 4] {
    if w == 0 || h == 0 {
        return [0, 0, 0, 0];
    }
    let mut sorted = lum.to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    let raw: Vec<f32> = lum.iter().map(|v| (v - median).abs()).collect();
    let mut sal = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let (mut s, mut n) = (0f32, 0f32);
            for yy in y.saturating_sub(2)..(y + 3).min(h) {
                for xx in x.saturating_sub(2)..(x + 3).min(w) {
                    s += raw[yy * w + xx];
                    n += 1.0;
                }
            }
            sal[y * w + x] = s / n;
        }
    }
    let (start, max) =
        sal.iter().enumerate().fold(
            (0, f32::MIN),
            |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) },
        );
    let thr = max * 0.5;
    let mut seen = vec![false; w * h];
    let mut stack = vec![start];
    seen[start] = true;
    let (mut x1, mut y1, mut x2, mut y2) = (w, h, 0, 0);
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        x1 = x1.min(x);
        y1 = y1.min(y);
        x2 = x2.max(x + 1);
        y2 = y2.max(y + 1);
        let mut push = |j: usize| {
            if !seen[j] && sal[j] >= thr {
                seen[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            push(i - 1);
        }
        if x + 1 < w {
            push(i + 1);
        }
        if y > 0 {
            push(i - w);
        }
        if y + 1 < h {
            push(i + w);
        }
    }
    [x1, y1, x2, y2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(prompt: &str, w: u32, h: u32, spot: (u32, u32)) -> Value {
        let mut img = image::GrayImage::from_pixel(w, h, image::Luma([40]));
        for y in spot.1..spot.1 + 6 {
            for x in spot.0..spot.0 + 8 {
                img.put_pixel(x, y, image::Luma([220]));
            }
        }
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let url = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&png)
        );
        json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": prompt}]}]})
    }

    #[test]
    fn the_rule_finds_the_bright_spot() {
        let b = body(
            "Give the bounding box [x1, y1, x2, y2] of the lesion.",
            40,
            30,
            (28, 4),
        );
        assert_eq!(answer(&b).unwrap(), "[28, 4, 36, 10]");
        let q = "Where is the lesion?\nA. upper left\nB. upper right\nC. lower left\nD. lower right\nAnswer with the letter.";
        assert_eq!(answer(&body(q, 40, 30, (28, 4))).unwrap(), "B");
        assert_eq!(answer(&body(q, 40, 30, (2, 20))).unwrap(), "C");
        let c = answer(&body("Describe this image.", 40, 30, (2, 20))).unwrap();
        assert_eq!(
            c,
            "a dark greyscale image with a small salient region in the lower left"
        );
    }

    #[test]
    fn serves_over_http() {
        let s = DemoServer::start().unwrap();
        let b = body("Describe this image.", 20, 20, (1, 1));
        let resp = ureq::post(&format!("{}/chat/completions", s.base_url))
            .send_string(&b.to_string())
            .unwrap();
        let v: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
        assert!(v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("a dark greyscale image"));
        assert_eq!(s.requests.load(Ordering::Relaxed), 1);
    }
}
