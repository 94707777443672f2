//! A tiny Chrome DevTools Protocol client: starts Debian's headless
//! chromium on a fresh profile, opens one tab and drives it.
//!
//! The WebSocket is the blocking one of `tungstenite` (re-exported by
//! `tokio-tungstenite`): every command waits for its own answer, reading
//! with a socket timeout, so every wait is bounded by [`WAIT`]. Events that
//! arrive meanwhile are kept for [`Chromium::take_events`]. Tests run on a
//! multi-thread runtime: blocking the test body leaves the gateway's tasks
//! running on the workers.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// Where Debian (and CI, via apt) installs chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The bound of every wait: start-up, each command, each page to load.
pub const WAIT: Duration = Duration::from_secs(20);

/// A headless chromium with one attached tab. Dropping it closes the
/// browser (killing it if it does not exit promptly) and deletes the profile.
pub struct Chromium {
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    events: Vec<Value>,
    process: Process,
}

/// The chromium process and its profile directory.
struct Process {
    child: Child,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    _profile: tempfile::TempDir,
}

impl Process {
    fn stderr(&self) -> String {
        self.stderr_tail.lock().map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromium {
    /// Starts chromium, or returns `None` (after a loud notice) when it is
    /// not installed and `VMP_SKIP_BROWSER=1`. Panics when it is missing
    /// otherwise: these tests must not pass silently without a browser.
    pub fn launch() -> Option<Self> {
        Self::launch_at(CHROMIUM)
    }

    /// [`Chromium::launch`] with another executable.
    pub fn launch_at(chromium: &str) -> Option<Self> {
        if !Path::new(chromium).exists() {
            if std::env::var("VMP_SKIP_BROWSER").as_deref() == Ok("1") {
                eprintln!(
                    "\n**************************************************************\n\
                     *  SKIPPED: {chromium} is missing and VMP_SKIP_BROWSER=1.\n\
                     *  The real-browser tests did NOT run.\n\
                     **************************************************************\n"
                );
                return None;
            }
            panic!(
                "{chromium} is missing: the browser tests need Debian's chromium. \
                 Install it with `apt-get install chromium` (or set VMP_SKIP_BROWSER=1 to skip them)."
            );
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromium}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let process = Process { child, stderr_tail: Arc::clone(&stderr_tail), _profile: profile };

        // Keep draining stderr (a full pipe would stall chromium); hand the
        // DevTools address over once it shows up.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
                if let Ok(mut tail) = stderr_tail.lock() {
                    if tail.len() == 40 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        });
        let Ok(ws_url) = rx.recv_timeout(WAIT) else {
            panic!(
                "chromium printed no `DevTools listening on` line within {WAIT:?}; its stderr:\n{}",
                process.stderr()
            );
        };
        let addr: SocketAddr = ws_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|hp| hp.parse().ok())
            .unwrap_or_else(|| panic!("unexpected DevTools URL {ws_url}"));
        assert!(addr.ip().is_loopback(), "DevTools must listen on loopback: {ws_url}");
        let stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect to DevTools");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        let (ws, _) = tungstenite::client::client(ws_url.as_str(), stream)
            .unwrap_or_else(|e| panic!("WebSocket handshake with {ws_url}: {e}"));

        let mut browser = Self { ws, session: String::new(), next_id: 0, events: Vec::new(), process };
        let target = browser.browser_call("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = browser.browser_call("Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }));
        browser.session = attached["sessionId"].as_str().expect("sessionId").to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Network.enable"] {
            browser.call(domain, json!({}));
        }
        browser.set_viewport(420, 800, true);
        Some(browser)
    }

    /// Sends one command (to the tab when `session` is set, else to the
    /// browser) and waits for its answer; events read meanwhile are kept.
    fn raw_call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        self.ws.send(Message::text(msg.to_string())).map_err(|e| format!("sending {method}: {e}"))?;
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no answer to {method} within {WAIT:?}"));
            }
            let _ = self.ws.get_mut().set_read_timeout(Some(left));
            let text = match self.ws.read() {
                Ok(Message::Text(t)) => t,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(e) => return Err(format!("reading the answer to {method}: {e}")),
            };
            let v: Value = serde_json::from_str(text.as_str()).map_err(|e| format!("bad CDP message: {e}"))?;
            if v["id"].as_u64() == Some(id) {
                return match v.get("error") {
                    Some(err) => Err(format!("{method} failed: {err}")),
                    None => Ok(v["result"].clone()),
                };
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.raw_call(None, method, params)
            .unwrap_or_else(|e| panic!("{e}\nchromium stderr:\n{}", self.process.stderr()))
    }

    /// Sends a command to the tab, panicking on error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let session = self.session.clone();
        self.raw_call(Some(&session), method, params)
    }

    /// The page's viewport, in CSS pixels.
    pub fn set_viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        );
    }

    /// Evaluates `expression` in the page; its value, or why it failed.
    pub fn try_eval(&mut self, expression: &str) -> Result<Value, String> {
        let r = self.try_call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }))?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!("{expression} threw: {ex}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Evaluates `expression` in the page, panicking if it throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Polls `condition` (a JS boolean expression) until it is true, at most
    /// [`WAIT`]; errors while a page is being replaced count as "not yet".
    pub fn wait_until(&mut self, condition: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        let mut last;
        loop {
            last = self.try_eval(condition);
            if last == Ok(Value::Bool(true)) {
                return;
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let at = self.try_eval("[location.href, document.body && document.body.innerText.slice(0, 400)]");
        panic!("waited {WAIT:?} for {what} ({condition}); last: {last:?}; page (URL, text): {at:?}");
    }

    /// Marks the current document, runs `action`, then waits until a new
    /// document replaced it and finished loading.
    pub fn navigating(&mut self, what: &str, action: impl FnOnce(&mut Self)) {
        self.eval("window.__vmpOld = true");
        action(self);
        self.wait_until("window.__vmpOld !== true && document.readyState === 'complete'", what);
    }

    /// Opens `url` in the tab and waits until it loaded.
    pub fn goto(&mut self, url: &str) {
        self.navigating(url, |b| {
            let r = b.call("Page.navigate", json!({ "url": url }));
            if let Some(err) = r["errorText"].as_str() {
                panic!("navigating to {url}: {err}");
            }
        });
    }

    /// `data-page-kind` of the body, if any.
    pub fn page_kind(&mut self) -> Option<String> {
        self.eval("document.body && document.body.dataset.pageKind || null").as_str().map(str::to_owned)
    }

    /// `textContent` of the element `selector`, if it exists.
    pub fn text(&mut self, selector: &str) -> Option<String> {
        let sel = json!(selector);
        self.eval(&format!("(document.querySelector({sel}) || {{}}).textContent || null")).as_str().map(str::to_owned)
    }

    /// Clicks the centre of `selector` with real mouse events, as a buyer
    /// would (so a hidden or covered button cannot be clicked).
    pub fn click(&mut self, selector: &str) {
        let sel = json!(selector);
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return r.width > 0 && r.height > 0 ? [r.left + r.width / 2, r.top + r.height / 2] : null; }})()"
        ));
        let (Some(x), Some(y)) = (at[0].as_f64(), at[1].as_f64()) else {
            panic!("{selector} is missing or not visible on {:?}", self.try_eval("location.href"));
        };
        self.call("Input.dispatchMouseEvent", json!({ "type": "mouseMoved", "x": x, "y": y }));
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1 }),
            );
        }
    }

    /// Focuses `selector` and types `text` into it; returns its value.
    pub fn type_into(&mut self, selector: &str, text: &str) -> String {
        let sel = json!(selector);
        let focused = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.focus(); \
             return document.activeElement === e; }})()"
        ));
        assert_eq!(focused, Value::Bool(true), "{selector} takes the focus");
        self.call("Input.insertText", json!({ "text": text }));
        self.eval(&format!("document.querySelector({sel}).value")).as_str().unwrap_or_default().to_owned()
    }

    /// Presses and releases `key` with real key events, as a keyboard
    /// would: `Tab`, `Enter`, ` ` (space) or one printable character (typed
    /// into the focused field). `shift` holds Shift down.
    pub fn press(&mut self, key: &str, shift: bool) {
        let (code, vk, text) = match key {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            " " => ("Space", 32, " "),
            k => ("", k.chars().next().map_or(0, |c| u32::from(c.to_ascii_uppercase())), k),
        };
        let modifiers = if shift { 8 } else { 0 };
        let down = if text.is_empty() { "rawKeyDown" } else { "keyDown" };
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": down, "key": key, "code": code, "windowsVirtualKeyCode": vk, "text": text,
                    "unmodifiedText": text, "modifiers": modifiers }),
        );
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers }),
        );
    }

    /// Types `text` key by key into the focused element.
    pub fn type_keys(&mut self, text: &str) {
        for c in text.chars() {
            self.press(&c.to_string(), false);
        }
    }

    /// The `id` of the focused element (`""` for none).
    pub fn focused(&mut self) -> String {
        self.eval("document.activeElement ? document.activeElement.id : ''").as_str().unwrap_or_default().to_owned()
    }

    /// Presses Tab until `id` has the focus (at most `max` times); the ids
    /// passed on the way, `id` last.
    pub fn tab_to(&mut self, id: &str, max: usize) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..max {
            self.press("Tab", false);
            seen.push(self.focused());
            if seen.last().map(String::as_str) == Some(id) {
                return seen;
            }
        }
        panic!("Tab never reached #{id}; focus went {seen:?}");
    }

    /// A PNG of the whole page (not just the viewport).
    pub fn screenshot(&mut self) -> Vec<u8> {
        self.screenshot_scaled(1.0)
    }

    /// [`Chromium::screenshot`] at `scale` (0.5: half the width and height),
    /// for long pages whose full size would make a large file.
    pub fn screenshot_scaled(&mut self, scale: f64) -> Vec<u8> {
        let size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]");
        let (w, h) = (size[0].as_f64().unwrap_or(1.0), size[1].as_f64().unwrap_or(1.0));
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": w, "height": h, "scale": scale },
            }),
        );
        base64_decode(shot["data"].as_str().expect("screenshot data"))
    }

    /// The events received since the last call, in order.
    pub fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Ask politely; `Process` kills it if it lingers.
        let _ = self.ws.send(Message::text(json!({ "id": 0, "method": "Browser.close" }).to_string()));
    }
}

/// Standard base64 (with padding), as CDP sends binary data.
fn base64_decode(text: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    }
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| acc | (value(c) << (18 - 6 * i)));
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len() - 1]);
    }
    out
}

#[test]
fn base64_decodes_the_rfc_4648_vectors() {
    for (text, plain) in
        [("", ""), ("Zg==", "f"), ("Zm8=", "fo"), ("Zm9v", "foo"), ("Zm9vYg==", "foob"), ("Zm9vYmFy", "foobar")]
    {
        assert_eq!(base64_decode(text), plain.as_bytes(), "{text}");
    }
}
