//! Cuts the elements that never hold article text (`<script>` other than JSON-LD, `<style>`,
//! `<noscript>`, `<svg>`) and comments out of a page's source before it is parsed. On real pages
//! they are about half the bytes (scripts a quarter, styles a fifth, SVG 7% on `../shared/data/extraction/`), and
//! the HTML parser would build and then throw away every one of their tokens and nodes.
//!
//! The scan follows the tokenizer's rules only as far as it must to find these elements where the
//! parser would: quoted attribute values, and the raw-text and RCDATA elements (`title`,
//! `textarea`, `iframe`, ...) whose content is text, not markup, are stepped over unchanged. A
//! script or style runs to its first end tag, as the parser reads it; one never closed runs to the
//! end of the page. JSON-LD scripts stay: metadata reads them.
//!
//! Attributes nothing reads are cut from start tags too: `data-*`, `src`, `srcset`, `title`,
//! `alt`, event handlers and the like are a fifth of what is left of a page, and the tokenizer
//! reads every one of their bytes and interns every name. [`KEPT_ATTRIBUTES`] lists what stays.

use memchr::memchr;
use std::borrow::Cow;

/// Elements whose content is text up to their own end tag (tokenizer raw text and RCDATA
/// states): stepped over, never searched for markup.
const TEXT_ELEMENTS: &[&[u8]] = &[b"title", b"textarea", b"xmp", b"iframe", b"noembed", b"noframes"];

/// Attributes that stay on start tags: what extraction and metadata read (class and id hints,
/// hidden flags, links, microdata, byline test ids) and what steers the tree builder (`type`
/// of a hidden input in a table; `color`, `face`, `size` of a `<font>` in foreign content;
/// `encoding` of MathML's `annotation-xml`). `<meta>`, `<link>` and `<base>` keep all of theirs.
pub const KEPT_ATTRIBUTES: &[&[u8]] = &[
    b"class",
    b"id",
    b"style",
    b"hidden",
    b"aria-hidden",
    b"itemprop",
    b"href",
    b"rel",
    b"property",
    b"name",
    b"content",
    b"datetime",
    b"data-testid",
    b"type",
    b"color",
    b"face",
    b"size",
    b"encoding",
];

/// Tags whose attributes are all kept (metadata and the page's charset live in them).
const TAGS_KEEPING_ATTRIBUTES: &[&[u8]] = &[b"meta", b"link", b"base"];

/// The page with its never-text elements removed; borrowed unchanged when it has none.
pub fn strip_never_text(src: &str) -> Cow<'_, str> {
    let b = src.as_bytes();
    let mut out: Vec<u8> = Vec::new(); // filled only once something is cut
    let mut kept_from = 0; // source bytes from here on are not yet copied to `out`
    let mut i = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        let rest = &b[lt + 1..];
        if rest.starts_with(b"!--") {
            // Comments (conditional comments too, which the parser also reads as comments).
            let end = comment_end(b, lt);
            cut(&mut out, b, &mut kept_from, lt..end);
            i = end;
            continue;
        }
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            i = lt + 1;
            continue;
        }
        let name_len = rest.iter().position(|&c| ends_tag_name(c)).unwrap_or(rest.len());
        let name = &rest[..name_len];
        let mut unread = Vec::new();
        let tag_end = scan_start_tag(b, lt + 1 + name_len, |attr, span| {
            if !KEPT_ATTRIBUTES.iter().any(|k| attr.eq_ignore_ascii_case(k)) {
                unread.push(span);
            }
        });
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if is(b"plaintext") {
            break; // everything after it is text
        }
        if let Some(&text) = TEXT_ELEMENTS.iter().find(|n| is(n)) {
            i = close_tag(b, tag_end, text).map_or(b.len(), |(_, end)| end);
            continue;
        }
        let removed_end = if is(b"script") {
            let json_ld = contains_ignore_case(&b[lt..tag_end], b"ld+json");
            let end = close_tag(b, tag_end, b"script").map_or(b.len(), |(_, end)| end);
            if json_ld {
                i = end;
                continue;
            }
            end
        } else if is(b"style") || is(b"noscript") {
            close_tag(b, tag_end, name).map_or(b.len(), |(_, end)| end)
        } else if is(b"svg") {
            svg_end(b, tag_end)
        } else {
            if !TAGS_KEEPING_ATTRIBUTES.iter().any(|n| is(n)) {
                for span in unread {
                    cut(&mut out, b, &mut kept_from, span);
                }
            }
            i = tag_end;
            continue;
        };
        cut(&mut out, b, &mut kept_from, lt..removed_end);
        i = removed_end;
    }
    if kept_from == 0 {
        return Cow::Borrowed(src);
    }
    out.extend_from_slice(&b[kept_from..]);
    // Only whole elements and attributes, which begin and end at character boundaries (after
    // ASCII bytes), were cut out.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|e| {
        debug_assert!(false, "a cut split a character");
        String::from_utf8_lossy(e.as_bytes()).into_owned()
    }))
}

/// Leaves `b[range]` out: what came before it since the last cut is copied to `out` (sized for
/// the whole page at the first cut).
fn cut(out: &mut Vec<u8>, b: &[u8], kept_from: &mut usize, range: std::ops::Range<usize>) {
    if out.capacity() == 0 {
        out.reserve(b.len());
    }
    out.extend_from_slice(&b[*kept_from..range.start]);
    *kept_from = range.end;
}

/// A byte after which a tag's name has ended.
fn ends_tag_name(c: u8) -> bool {
    c.is_ascii_whitespace() || c == b'/' || c == b'>'
}

/// Where a comment starting at `lt` ends (after `-->`; `<!-->` and `<!--->` close at once, as the
/// tokenizer reads them; an unclosed comment runs to the end).
fn comment_end(b: &[u8], lt: usize) -> usize {
    let body = lt + 4;
    if b[body..].starts_with(b">") {
        return body + 1;
    }
    if b[body..].starts_with(b"->") {
        return body + 2;
    }
    memchr::memmem::find(&b[body..], b"-->").map_or(b.len(), |e| body + e + 3)
}

/// Reads a start tag's attributes as the tokenizer does, from just after the tag's name: calls
/// `on_attribute` with each attribute's name and span (from its name up to the next attribute or
/// the tag's end, so that cutting the span leaves the others separated as they were), and
/// returns the byte after the tag's `>` (the page's end when the tag is never closed). A quoted
/// value may hold `>`.
fn scan_start_tag(b: &[u8], mut j: usize, mut on_attribute: impl FnMut(&[u8], std::ops::Range<usize>)) -> usize {
    let n = b.len();
    let skip_space = |mut j: usize| {
        while j < n && b[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    loop {
        j = skip_space(j);
        if j >= n {
            return n;
        }
        match b[j] {
            b'>' => return j + 1,
            b'/' => {
                j += 1;
                continue;
            }
            _ => {}
        }
        // A name runs to white space, `/`, `>` or `=`; its first byte may be `=`.
        let start = j;
        j += 1;
        while j < n && !b[j].is_ascii_whitespace() && !matches!(b[j], b'/' | b'>' | b'=') {
            j += 1;
        }
        let name = &b[start..j];
        let after_name = skip_space(j);
        if after_name < n && b[after_name] == b'=' {
            j = skip_space(after_name + 1);
            if j < n {
                match b[j] {
                    q @ (b'"' | b'\'') => j = memchr(q, &b[j + 1..]).map_or(n, |e| j + 1 + e + 1),
                    b'>' => {}
                    _ => {
                        while j < n && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                            j += 1;
                        }
                    }
                }
            }
        }
        j = skip_space(j);
        on_attribute(name, start..j);
    }
}

/// The first end tag `</name` (any case, followed by white space, `/` or `>`) at or after
/// `from`: its start and the byte after its `>`.
fn close_tag(b: &[u8], from: usize, name: &[u8]) -> Option<(usize, usize)> {
    let mut j = from;
    while let Some(off) = memchr(b'<', &b[j..]) {
        let lt = j + off;
        let after = lt + 2 + name.len();
        if b.get(lt + 1) == Some(&b'/')
            && after <= b.len()
            && b[lt + 2..after].eq_ignore_ascii_case(name)
            && b.get(after).is_none_or(|&c| ends_tag_name(c))
        {
            let end = memchr(b'>', &b[after..]).map_or(b.len(), |e| after + e + 1);
            return Some((lt, end));
        }
        j = lt + 1;
    }
    None
}

/// The end of an `<svg>` element whose start tag ends at `from`, counting nested `<svg>`s; an
/// unclosed one runs to the end.
fn svg_end(b: &[u8], from: usize) -> usize {
    let mut depth = 1;
    let mut j = from;
    while let Some(off) = memchr(b'<', &b[j..]) {
        let lt = j + off;
        let tail = &b[lt + 1..];
        let closing = tail.first() == Some(&b'/');
        let name = if closing { &tail[1..] } else { tail };
        if name.len() >= 3 && name[..3].eq_ignore_ascii_case(b"svg") && name.get(3).is_none_or(|&c| ends_tag_name(c)) {
            let tag_end = memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1);
            let self_closing = !closing && tag_end >= 2 && b[tag_end - 2] == b'/';
            if closing {
                depth -= 1;
                if depth == 0 {
                    return tag_end;
                }
            } else if !self_closing {
                depth += 1;
            }
            j = tag_end;
        } else {
            j = lt + 1;
        }
    }
    b.len()
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_scripts_styles_and_svg_but_not_json_ld_or_text() {
        let page = concat!(
            "<html><head><title>A <script> in a title</title><style>p{color:red}</style>",
            r#"<script type="application/ld+json">{"headline":"H"}</script>"#,
            r#"<script src="x.js" data-x="a>b"></script><SCRIPT>if (a<b) {document.write("</p>")}</SCRIPT >"#,
            "</head><body><p>One <svg><svg><path/></svg><title>icon</title></svg>two</p>",
            "<!-- <script> not a script --><textarea><style></textarea><noscript><img></noscript>",
            "<p>three</p><script>never closed",
        );
        assert_eq!(
            strip_never_text(page),
            concat!(
                "<html><head><title>A <script> in a title</title>",
                r#"<script type="application/ld+json">{"headline":"H"}</script>"#,
                "</head><body><p>One two</p>",
                "<textarea><style></textarea>",
                "<p>three</p>",
            )
        );
        let plain = r#"<p class="a">No scripts here, <b>only</b> <a href="/x">text</a>.</p>"#;
        assert!(matches!(strip_never_text(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn cuts_unread_attributes_as_the_tokenizer_reads_them() {
        let page = concat!(
            r#"<div data-x="1>2" class="story" onclick='f("a")'>"#,
            r#"<img src=a.jpg alt="An image"/><p id=p1 title="t"data-y=2>"#,
            r#"<a href="/author/x" data-track=""rel="author">X</a>"#,
            r#"<meta name="author" content="Y" data-z="3"><input type="hidden" value="v">"#,
            r#"<span é="1" lang="fa">ü</span><p =odd x>"#,
        );
        assert_eq!(
            strip_never_text(page),
            concat!(
                r#"<div class="story" >"#,
                r#"<img /><p id=p1 >"#,
                r#"<a href="/author/x" rel="author">X</a>"#,
                r#"<meta name="author" content="Y" data-z="3"><input type="hidden" >"#,
                r#"<span >ü</span><p >"#,
            )
        );
    }
}
