//! WARC (ISO 28500) archives, as crawlers write them (Common Crawl's news crawl, warcio, wget):
//! records of `WARC/1.x` header lines, a blank line and `Content-Length` bytes of block.
//!
//! A small reader of our own rather than the `warc` crate (0.4): that crate reads blocks line by
//! line, has no bound on header size, and after a malformed header goes on parsing the block as
//! the next header; here a broken record costs that record only (the reader resynchronises on the
//! next `WARC/` version line), every size is bounded, and gzip comes from the same `flate2` as
//! compressed inputs.

use std::io::{BufRead, Read};

/// Bounds that protect the machine from hostile archives.
#[derive(Debug, Clone, Copy)]
pub struct WarcLimits {
    /// Largest record block (bytes); larger records are skipped with an error.
    pub max_block: u64,
    /// Largest header (bytes).
    pub max_header: usize,
}

impl Default for WarcLimits {
    fn default() -> Self {
        Self {
            max_block: 64 << 20,
            max_header: 64 << 10,
        }
    }
}

/// The named fields rhetor reads of a record header (names compared case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarcHeader {
    pub version: String,
    pub warc_type: String,
    pub record_id: String,
    pub target_uri: String,
    pub date: String,
    pub content_type: String,
    pub content_length: u64,
}

/// One item of an archive: a record with its block, or a stretch that could not be read.
#[derive(Debug)]
pub enum WarcItem {
    Record {
        header: WarcHeader,
        /// Byte offset of the record in the (decompressed) stream.
        offset: u64,
        block: Vec<u8>,
    },
    /// A record that could not be read; `fatal` when the stream ends there (truncated).
    Broken { offset: u64, reason: String, fatal: bool },
}

pub struct WarcReader<R: BufRead> {
    r: R,
    offset: u64,
    limits: WarcLimits,
    done: bool,
    /// After a broken header, the rest of that record is skipped without a second report.
    skipping: bool,
    /// A version line read while reporting junk before it, with its offset.
    peeked: Option<(Vec<u8>, u64)>,
}

impl<R: BufRead> WarcReader<R> {
    pub fn new(r: R, limits: WarcLimits) -> Self {
        Self {
            r,
            offset: 0,
            limits,
            done: false,
            skipping: false,
            peeked: None,
        }
    }

    /// Reads one line (at most `max` bytes; the rest of a longer line is consumed and dropped).
    fn line(&mut self, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        let mut buf = Vec::new();
        let n = (&mut self.r).take(max as u64 + 1).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.offset += n as u64;
        if buf.len() > max && !buf.ends_with(b"\n") {
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let m = (&mut self.r).take(1 << 16).read_until(b'\n', &mut sink)?;
                self.offset += m as u64;
                if m == 0 || sink.ends_with(b"\n") {
                    break;
                }
            }
        }
        Ok(Some(buf))
    }

    fn skip(&mut self, mut n: u64) -> std::io::Result<u64> {
        let mut skipped = 0;
        while n > 0 {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let k = (buf.len() as u64).min(n) as usize;
            self.r.consume(k);
            n -= k as u64;
            skipped += k as u64;
        }
        self.offset += skipped;
        Ok(skipped)
    }

    fn fail(&mut self, offset: u64, reason: String, fatal: bool) -> Option<WarcItem> {
        if fatal {
            self.done = true;
        } else {
            self.skipping = true;
        }
        Some(WarcItem::Broken { offset, reason, fatal })
    }
}

fn trim_line(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && matches!(l[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &l[..end]
}

fn is_version_line(l: &[u8]) -> bool {
    trim_line(l).starts_with(b"WARC/")
}

impl<R: BufRead> Iterator for WarcReader<R> {
    type Item = WarcItem;

    fn next(&mut self) -> Option<WarcItem> {
        if self.done {
            return None;
        }
        let max_header = self.limits.max_header;
        // 1. The version line. Bytes before it that are not blank lines are reported once
        // (unless they are the rest of a record already reported as broken).
        let mut junk_from: Option<u64> = None;
        let (start, version) = loop {
            let (line, at) = match self.peeked.take() {
                Some((l, at)) => (Ok(Some(l)), at),
                None => {
                    let at = self.offset;
                    (self.line(max_header), at)
                }
            };
            match line {
                Ok(None) => {
                    self.done = true;
                    let report = junk_from.filter(|_| !self.skipping);
                    return report.map(|offset| WarcItem::Broken {
                        offset,
                        reason: "bytes that are not a WARC record, up to the end of the archive".into(),
                        fatal: false,
                    });
                }
                Ok(Some(l)) if is_version_line(&l) => {
                    if let Some(offset) = junk_from.filter(|_| !self.skipping) {
                        self.peeked = Some((l, at));
                        return Some(WarcItem::Broken {
                            offset,
                            reason: "bytes that are not a WARC record".into(),
                            fatal: false,
                        });
                    }
                    self.skipping = false;
                    break (at, String::from_utf8_lossy(trim_line(&l)).to_string());
                }
                Ok(Some(l)) if trim_line(&l).is_empty() => {}
                Ok(Some(_)) => {
                    junk_from.get_or_insert(at);
                }
                Err(e) => return self.fail(at, format!("the archive cannot be read past this point ({e})"), true),
            }
        };
        // 2. Header fields up to the blank line.
        let mut header = WarcHeader {
            version,
            ..Default::default()
        };
        let mut header_bytes = 0usize;
        let mut content_length: Option<Result<u64, String>> = None;
        let mut last_name = String::new();
        loop {
            let at = self.offset;
            let l = match self.line(max_header) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    return self.fail(
                        start,
                        "the archive ends inside a record header (truncated)".into(),
                        true,
                    )
                }
                Err(e) => return self.fail(at, format!("the archive cannot be read past this point ({e})"), true),
            };
            header_bytes += l.len();
            if header_bytes > max_header {
                return self.fail(
                    start,
                    format!("the record header is longer than {max_header} bytes"),
                    false,
                );
            }
            let t = trim_line(&l);
            if t.is_empty() {
                break;
            }
            if is_version_line(t) {
                self.peeked = Some((l, at));
                return self.fail(start, "a record header with no blank line after it".into(), false);
            }
            let text = String::from_utf8_lossy(t);
            if text.starts_with([' ', '\t']) {
                // A folded continuation line.
                if last_name == "warc-target-uri" {
                    header.target_uri.push_str(text.trim());
                }
                continue;
            }
            let Some((name, value)) = text.split_once(':') else {
                let shown: String = text.chars().take(60).collect();
                return self.fail(start, format!("a record header line without a colon: {shown:?}"), false);
            };
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_string();
            match name.as_str() {
                "warc-type" => header.warc_type = value,
                "warc-record-id" => header.record_id = value,
                "warc-target-uri" => header.target_uri = value.trim_matches(['<', '>']).to_string(),
                "warc-date" => header.date = value,
                "content-type" => header.content_type = value,
                "content-length" => content_length = Some(value.parse::<u64>().map_err(|_| value.clone())),
                _ => {}
            }
            last_name = name;
        }
        let length = match content_length {
            Some(Ok(n)) => n,
            Some(Err(v)) => {
                return self.fail(
                    start,
                    format!("the record's Content-Length is not a number: {v:?}"),
                    false,
                )
            }
            None => return self.fail(start, "the record has no Content-Length".into(), false),
        };
        header.content_length = length;
        // 3. The block.
        if length > self.limits.max_block {
            let skipped = match self.skip(length) {
                Ok(s) => s,
                Err(e) => return self.fail(start, format!("the archive cannot be read past this point ({e})"), true),
            };
            let reason = format!(
                "record {} is {length} bytes, more than the limit of {} bytes; skipped",
                header.record_id, self.limits.max_block
            );
            if skipped < length {
                return self.fail(start, reason, true);
            }
            return Some(WarcItem::Broken {
                offset: start,
                reason,
                fatal: false,
            });
        }
        let mut block = Vec::with_capacity(length.min(1 << 20) as usize);
        match (&mut self.r).take(length).read_to_end(&mut block) {
            Ok(n) => self.offset += n as u64,
            Err(e) => return self.fail(start, format!("the archive cannot be read past this point ({e})"), true),
        }
        if (block.len() as u64) < length {
            let reason = format!(
                "the archive ends inside record {} ({} of {length} bytes; truncated)",
                header.record_id,
                block.len()
            );
            return self.fail(start, reason, true);
        }
        Some(WarcItem::Record {
            header,
            offset: start,
            block,
        })
    }
}

/// An HTTP response (the block of a `response` record): status, lower-cased headers, body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The `charset` parameter of the Content-Type header.
    pub fn charset(&self) -> Option<String> {
        let ct = self.header("content-type")?;
        ct.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim().eq_ignore_ascii_case("charset")).then(|| v.trim().trim_matches(['"', '\'']).to_string())
        })
    }

    pub fn is_html(&self) -> bool {
        match self.header("content-type") {
            Some(ct) => {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("text/html") || ct.starts_with("application/xhtml")
            }
            None => {
                let head = String::from_utf8_lossy(&self.body[..self.body.len().min(1024)]).to_ascii_lowercase();
                head.contains("<html") || head.contains("<!doctype html")
            }
        }
    }
}

/// Parses the block of a `response` record. Chunked transfer encoding and gzip or deflate
/// content encoding are undone (bounded by `max_body` bytes); crawlers store either form.
pub fn parse_http_response(block: &[u8], max_body: u64) -> Result<HttpResponse, String> {
    let split = block
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, p + 4))
        .or_else(|| block.windows(2).position(|w| w == b"\n\n").map(|p| (p, p + 2)))
        .ok_or("the HTTP response has no blank line after its headers")?;
    let head = String::from_utf8_lossy(&block[..split.0]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP status line: {:?}",
                status_line.chars().take(60).collect::<String>()
            )
        })?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        body: block[split.1..].to_vec(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        response.body = dechunk(&response.body).ok_or("the chunked HTTP body is malformed")?;
    }
    match response.header("content-encoding").map(|e| e.to_ascii_lowercase()) {
        Some(e) if e.contains("gzip") => {
            response.body = inflate(flate2::read::MultiGzDecoder::new(&response.body[..]), max_body)?;
        }
        Some(e) if e.contains("deflate") => {
            response.body = inflate(flate2::read::ZlibDecoder::new(&response.body[..]), max_body)?;
        }
        _ => {}
    }
    Ok(response)
}

fn inflate(r: impl Read, max: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    r.take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the compressed HTTP body cannot be decompressed ({e})"))?;
    if out.len() as u64 > max {
        return Err(format!("the HTTP body expands past {max} bytes"));
    }
    Ok(out)
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.iter().position(|&c| c == b'\n')?;
        let size_text = String::from_utf8_lossy(&b[..nl]);
        let size = usize::from_str_radix(size_text.trim().split(';').next()?.trim(), 16).ok()?;
        b = &b[nl + 1..];
        if size == 0 {
            return Some(out);
        }
        if b.len() < size {
            out.extend_from_slice(b);
            return Some(out);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size..];
        b = b.strip_prefix(b"\r\n").or_else(|| b.strip_prefix(b"\n")).unwrap_or(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, body: &str) -> String {
        format!(
            "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: https://example.org/{id}\r\nWARC-Date: 2020-01-02T03:04:05Z\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n{body}\r\n\r\n",
            body.len()
        )
    }

    fn items(s: &str) -> Vec<WarcItem> {
        WarcReader::new(std::io::Cursor::new(s.as_bytes().to_vec()), WarcLimits::default()).collect()
    }

    #[test]
    fn reads_records_and_survives_a_broken_header() {
        let http = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<html><p>x</p></html>";
        let broken = "WARC/1.0\r\nWARC-Type: response\r\nContent-Length: banana\r\n\r\nsome block\r\n\r\n";
        let s = format!("{}{broken}{}", record("a", http), record("b", http));
        let got = items(&s);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(matches!(&got[0], WarcItem::Record { header, .. } if header.target_uri == "https://example.org/a"));
        assert!(matches!(&got[1], WarcItem::Broken { fatal: false, reason, .. } if reason.contains("Content-Length")));
        assert!(matches!(&got[2], WarcItem::Record { header, .. } if header.record_id == "<urn:uuid:b>"));
        if let WarcItem::Record { block, .. } = &got[0] {
            let r = parse_http_response(block, 1 << 20).unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.charset().as_deref(), Some("windows-1252"));
            assert!(r.is_html());
        }
    }

    #[test]
    fn truncation_keeps_what_came_before() {
        let s = format!(
            "{}{}",
            record("a", "HTTP/1.1 200 OK\r\n\r\nabc"),
            record("b", "HTTP/1.1 200 OK\r\n\r\nabcdef")
        );
        let cut = &s[..s.len() - 8];
        let got = items(cut);
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], WarcItem::Record { .. }));
        assert!(matches!(&got[1], WarcItem::Broken { fatal: true, .. }));
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(dechunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n").unwrap(), b"Wikipedia");
    }
}
