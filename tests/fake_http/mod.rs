//! The one piece of HTTP the 127.0.0.1 fakes of AWS share: reading a request's headers and
//! body off a kept-alive connection (the SDK sends `x-amz-target` for JSON-protocol calls).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

/// Reads header lines up to the blank line, then (and drops) `content-length` bytes of body;
/// returns the `x-amz-target` header, empty when absent. The request line, when it was not
/// read already, is skipped like any header without a `:`. `None` when the client closed the
/// connection.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
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
    Some(target)
}
