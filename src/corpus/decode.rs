//! Bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, and legacy single-byte encodings
//! (Windows-1252/Latin-1 and kin) detected from the bytes. Binary files are refused as such.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// Decoded text and the name of the encoding it came from.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

/// Why bytes could not be read as text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("this is a binary file, not text ({0}); rhetor reads .txt, .md, .html, .jsonl and .csv")]
    Binary(&'static str),
    #[error("the text could not be decoded: it is not UTF-8 and {0} decoding produced invalid characters")]
    Undecodable(&'static str),
}

/// Decodes `bytes`, stripping any byte-order mark.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(DecodeError::Undecodable(enc.name()));
        }
        let name = if enc == UTF_8 {
            "UTF-8 (BOM)"
        } else if enc == UTF_16LE {
            "UTF-16LE"
        } else if enc == UTF_16BE {
            "UTF-16BE"
        } else {
            enc.name()
        };
        return Ok(Decoded {
            text: text.into_owned(),
            encoding: name,
        });
    }
    if let Some(reason) = binary_signature(bytes) {
        return Err(DecodeError::Binary(reason));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(Decoded {
            text: s.to_string(),
            encoding: "UTF-8",
        });
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let enc = detector.guess(None, chardetng::Utf8Detection::Deny);
    let (text, _, had_errors) = enc.decode(bytes);
    if had_errors || control_ratio(&text) > 0.01 {
        return Err(DecodeError::Undecodable(enc.name()));
    }
    Ok(Decoded {
        text: text.into_owned(),
        encoding: enc.name(),
    })
}

/// Decodes a web page: a byte-order mark, else valid UTF-8, else the charset the page declares
/// (`declared`, from the HTTP header, else a `<meta charset>` in its first 2 KB), else what
/// the bytes look like.
pub fn decode_html(bytes: &[u8], declared: Option<&str>) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() || Encoding::for_bom(bytes).is_some() || std::str::from_utf8(bytes).is_ok() {
        return decode(bytes);
    }
    if let Some(reason) = binary_signature(bytes) {
        return Err(DecodeError::Binary(reason));
    }
    let label = declared
        .map(str::to_string)
        .or_else(|| meta_charset(&bytes[..bytes.len().min(2048)]));
    if let Some(enc) = label.and_then(|l| Encoding::for_label(l.trim().as_bytes())) {
        if enc != UTF_8 {
            let (text, _, had_errors) = enc.decode(bytes);
            if !had_errors {
                return Ok(Decoded {
                    text: text.into_owned(),
                    encoding: enc.name(),
                });
            }
        }
    }
    decode(bytes)
}

/// The charset a page's head declares: `<meta charset=X>` or `<meta http-equiv=... content="...;
/// charset=X">`.
fn meta_charset(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let i = text.find("charset=")? + "charset=".len();
    let rest = text[i..].trim_start_matches(['"', '\'', ' ']);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

/// A reason to think `bytes` are not text: NUL bytes, a known binary magic number, or many control
/// characters.
fn binary_signature(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive or Office document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"PAR1", "a Parquet file"),
        (b"\x7fELF", "an executable"),
        (b"\xd0\xcf\x11\xe0", "an old Office document"),
    ];
    for (magic, what) in MAGIC {
        if bytes.starts_with(magic) {
            return Some(what);
        }
    }
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Some("it contains NUL bytes");
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    if controls * 100 > head.len() {
        return Some("it is full of control characters");
    }
    None
}

fn control_ratio(text: &str) -> f64 {
    let n = text.chars().count().max(1);
    let bad = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
        .count();
    bad as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode("Iran’s".as_bytes()).unwrap().text, "Iran’s");
        let d = decode(b"\xef\xbb\xbfIran").unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("Iran", "UTF-8 (BOM)"));
    }

    #[test]
    fn utf16_with_bom() {
        let mut b = vec![0xff, 0xfe];
        for u in "Tehran – Qom".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode(&b).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("Tehran – Qom", "UTF-16LE"));
    }

    #[test]
    fn windows_1252() {
        // "café – “quoted”" in Windows-1252.
        let d = decode(b"The caf\xe9 \x96 \x93quoted\x94 text is here, as written in a Western European encoding.")
            .unwrap();
        assert!(d.text.contains("café – “quoted”"), "{}", d.text);
    }

    #[test]
    fn declared_charset_of_a_page() {
        // "é" as ISO-8859-15 / Windows-1252 byte 0xe9, declared in the page.
        let page = b"<html><head><meta charset=\"windows-1252\"></head><body>Caf\xe9</body></html>";
        assert!(decode_html(page, None).unwrap().text.contains("Café"));
        assert!(decode_html(b"<p>Caf\xe9 cr\xe8me</p>", Some("iso-8859-1"))
            .unwrap()
            .text
            .contains("Café crème"));
        assert_eq!(
            decode_html("<p>ok</p>".as_bytes(), Some("iso-8859-1"))
                .unwrap()
                .encoding,
            "UTF-8"
        );
    }

    #[test]
    fn binary_and_empty() {
        assert!(matches!(decode(b""), Err(DecodeError::Empty)));
        assert!(matches!(decode(b"%PDF-1.4 ..."), Err(DecodeError::Binary(_))));
        assert!(matches!(decode(b"abc\0\0def"), Err(DecodeError::Binary(_))));
    }
}
