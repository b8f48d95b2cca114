//! A small client of the Chrome DevTools Protocol: JSON commands over one websocket, with
//! pages attached in flat mode (each command carries its page's `sessionId`).

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value as Json, json};
use tungstenite::{Message, WebSocket};

/// How long one command may take before the test gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The browser answered a command with an error (e.g. `Runtime.evaluate` while a
/// navigation destroys the page's execution context), or the evaluated expression threw.
/// The connection itself is fine, so a caller that polls may try again.
#[derive(Debug)]
pub(crate) struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// A connection to the browser's DevTools endpoint.
pub(crate) struct Cdp {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Events that arrived while waiting for a command's answer, oldest first.
    events: VecDeque<Json>,
}

impl Cdp {
    /// Connects to `ws://127.0.0.1:{port}{path}`, as `DevToolsActivePort` names it.
    pub(crate) fn connect(port: u16, path: &str) -> anyhow::Result<Cdp> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .with_context(|| format!("Cannot connect to the DevTools port {port}"))?;
        // The handshake gets a command's time: a browser starting on a loaded machine may
        // take longer than a short read to answer, and a timed-out read would end the
        // handshake half-way (tungstenite's `Interrupted`).
        stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (socket, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|error| anyhow::anyhow!("The DevTools websocket handshake failed: {error}"))?;
        // Then short reads, so a silent browser cannot hang the test past its deadlines.
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        Ok(Cdp {
            socket,
            next_id: 1,
            events: VecDeque::new(),
        })
    }

    /// Sends `method` (to the page of `session`, or to the browser) and waits for its result.
    pub(crate) fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Json,
    ) -> anyhow::Result<Json> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .with_context(|| format!("Cannot send `{method}` to the browser"))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let Some(message) = self.read(deadline, method)? else {
                continue;
            };
            if message.get("id").and_then(Json::as_u64) == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(Refused(format!("`{method}` failed: {error}")).into());
                }
                return Ok(message.get("result").cloned().unwrap_or(Json::Null));
            }
            if message.get("method").is_some() {
                self.events.push_back(message);
            }
        }
    }

    /// Every event received so far (and not yet taken).
    pub(crate) fn take_events(&mut self) -> Vec<Json> {
        self.events.drain(..).collect()
    }

    /// One JSON message, `None` if none came within the socket's read timeout.
    fn read(&mut self, deadline: Instant, waiting_for: &str) -> anyhow::Result<Option<Json>> {
        match self.socket.read() {
            Ok(Message::Text(text)) => Ok(Some(serde_json::from_str(text.as_str())?)),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(error))
                if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                if Instant::now() > deadline {
                    bail!("The browser did not answer `{waiting_for}` within {COMMAND_TIMEOUT:?}");
                }
                Ok(None)
            }
            Err(error) => Err(error).context("The DevTools connection broke"),
        }
    }
}

/// One page, attached in flat mode.
pub(crate) struct Page {
    session: String,
}

impl Page {
    /// Opens `url` in a new tab.
    pub(crate) fn open(cdp: &mut Cdp, url: &str) -> anyhow::Result<Page> {
        let target = cdp.call(None, "Target.createTarget", json!({"url": url}))?;
        let target_id = target["targetId"].as_str().context("no `targetId`")?;
        let attached = cdp.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )?;
        let session = attached["sessionId"].as_str().context("no `sessionId`")?;
        let page = Page {
            session: session.to_owned(),
        };
        // Uncaught exceptions then arrive as `Runtime.exceptionThrown` events.
        page.call(cdp, "Runtime.enable", json!({}))?;
        Ok(page)
    }

    pub(crate) fn call(&self, cdp: &mut Cdp, method: &str, params: Json) -> anyhow::Result<Json> {
        cdp.call(Some(&self.session), method, params)
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    pub(crate) fn eval(&self, cdp: &mut Cdp, expression: &str) -> anyhow::Result<Json> {
        let params = json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        let result = self.call(cdp, "Runtime.evaluate", params)?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(Refused(format!("`{expression}` threw: {exception}")).into());
        }
        Ok(result["result"].get("value").cloned().unwrap_or(Json::Null))
    }

    /// Evaluates `expression` until it is `true`, or fails after `timeout` with the value of
    /// `explain` (evaluated then) in the message. An evaluation the browser refuses or that
    /// throws (a navigation destroyed the context, the page's script has not run yet) counts
    /// as "not yet"; a broken or silent connection fails at once.
    pub(crate) fn wait_until(
        &self,
        cdp: &mut Cdp,
        expression: &str,
        explain: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last_refusal = match self.eval(cdp, expression) {
                Ok(Json::Bool(true)) => return Ok(()),
                Ok(_) => None,
                Err(error) => Some(error.downcast::<Refused>()?),
            };
            if Instant::now() > deadline {
                let state = self
                    .eval(cdp, explain)
                    .unwrap_or_else(|error| json!(format!("(unreadable: {error})")));
                let refusal = last_refusal
                    .map(|refused| format!("; the last evaluation was refused: {refused}"))
                    .unwrap_or_default();
                bail!("Waited {timeout:?} for `{expression}`; the page has {state}{refusal}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A mouse event at CSS pixel (`x`, `y`), with the left button.
    pub(crate) fn mouse(&self, cdp: &mut Cdp, kind: &str, point: [f64; 2]) -> anyhow::Result<()> {
        let clicks = if kind == "mouseMoved" { 0 } else { 1 };
        self.mouse_clicks(cdp, kind, point, clicks)
    }

    /// A double click of the left button at CSS pixel `point`.
    pub(crate) fn double_click(&self, cdp: &mut Cdp, point: [f64; 2]) -> anyhow::Result<()> {
        for clicks in [1, 2] {
            self.mouse_clicks(cdp, "mousePressed", point, clicks)?;
            self.mouse_clicks(cdp, "mouseReleased", point, clicks)?;
        }
        Ok(())
    }

    fn mouse_clicks(
        &self,
        cdp: &mut Cdp,
        kind: &str,
        [x, y]: [f64; 2],
        clicks: u32,
    ) -> anyhow::Result<()> {
        let buttons = if kind == "mouseReleased" { 0 } else { 1 };
        let params = json!({
            "type": kind, "x": x, "y": y,
            "button": "left", "buttons": buttons, "clickCount": clicks,
        });
        self.call(cdp, "Input.dispatchMouseEvent", params)?;
        Ok(())
    }
}
