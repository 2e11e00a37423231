//! The HTTP the 127.0.0.1 fakes of AWS share: reading a request's headers and body off a
//! kept-alive connection (the SDK sends `x-amz-target` for JSON-protocol calls), and a server
//! that answers each request with a test's function.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// A fake's answer to one request: status, `x-amzn-errortype`, body.
pub type Answer = (u16, Option<&'static str>, String);

/// One request as a fake sees it.
pub struct Request {
    /// `GET`, `POST`.
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The `x-amz-target` header (empty when absent).
    pub target: String,
    /// The body (JSON for the JSON-protocol services).
    pub body: String,
}

/// A test's answer function with state: it sees the body too.
pub type Handler = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

/// Starts a server on 127.0.0.1 that answers each request with `answer(method, x-amz-target,
/// path)`; returns its URL and the requests seen (`GET /clusters/demo`, or the JSON-protocol
/// operation's name).
pub fn serve(answer: fn(&str, &str, &str) -> Answer) -> (String, Arc<Mutex<Vec<String>>>) {
    serve_with(Arc::new(move |r: &Request| {
        answer(&r.method, &r.target, &r.path)
    }))
}

/// [`serve`] with a handler that sees the whole request (its body too) and may keep state.
pub fn serve_with(answer: Handler) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = log.clone();
            let answer = answer.clone();
            thread::spawn(move || connection(stream, &log, &answer));
        }
    });
    (url, seen)
}

fn connection(stream: TcpStream, seen: &Mutex<Vec<String>>, answer: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut words = request.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or("").to_owned(),
            words.next().unwrap_or("").to_owned(),
        );
        let Some((target, body)) = read_request_body(&mut reader) else {
            return;
        };
        let (status, code, reply) = answer(&Request {
            method: method.clone(),
            path: path.clone(),
            target: target.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        seen.lock().unwrap().push(if target.is_empty() {
            format!("{method} {}", decode(&path))
        } else {
            target.rsplit('.').next().unwrap_or("").to_owned()
        });
        let code = code
            .map(|c| format!("x-amzn-errortype: {c}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{code}content-length: {}\r\n\r\n",
            reply.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(reply.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// `%3A` → `:`, `%2F` → `/` (the SDK percent-encodes a principal ARN in the path).
pub fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Reads header lines up to the blank line, then (and drops) `content-length` bytes of body;
/// returns the `x-amz-target` header, empty when absent. The request line, when it was not
/// read already, is skipped like any header without a `:`. `None` when the client closed the
/// connection.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    read_request_body(reader).map(|(target, _)| target)
}

/// [`read_request`], with the body.
pub fn read_request_body(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let (mut target, mut len) = (String::new(), 0usize);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "x-amz-target" => target = v.trim().to_owned(),
                "content-length" => len = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((target, body))
}

/// A JSON-protocol call a fake saw: the operation (`x-amz-target`'s last part, `StartQuery`)
/// and the request body.
pub type Call = (String, String);

/// Starts a server on 127.0.0.1 for JSON-protocol calls that answers each with
/// `answer(operation, body)`; returns its URL and the calls seen, bodies included (a test
/// checks what was sent, e.g. StartQuery's `logGroupIdentifiers`).
pub fn serve_json<F>(answer: F) -> (String, Arc<Mutex<Vec<Call>>>)
where
    F: Fn(&str, &str) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = log.clone();
            let answer = answer.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while let Some((target, body)) = read_request_body(&mut reader) {
                    let body = String::from_utf8_lossy(&body).into_owned();
                    let op = target.rsplit('.').next().unwrap_or("").to_owned();
                    let (status, code, reply) = answer(&op, &body);
                    log.lock().unwrap().push((op, body));
                    let code = code
                        .map(|c| format!("x-amzn-errortype: {c}\r\n"))
                        .unwrap_or_default();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\n{code}content-length: {}\r\n\r\n",
                        reply.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(reply.as_bytes()).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// `eks-authlog fleet ARGS` with a hermetic AWS environment: test credentials, no config
/// files, no IMDS, no retries, CloudWatch Logs at `logs` (a fake of this module).
pub fn fleet_command(logs: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_eks-authlog"));
    c.arg("fleet")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs);
    c
}
