//! Blocks of a page (headings, paragraphs, list items, quotes) and the cleaning that turns them into
//! article text: inline markup and links reduced to text, boilerplate sections and lines dropped,
//! the header's byline and date line read as metadata, author bios and credit lines removed.
//! Markdown, plain text, HTML and JSONL/CSV text all pass through here, so one set of rules serves.

use super::metadata::{normalize_date, split_byline};
use super::rules::Rules;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Heading(u8),
    Paragraph,
    ListItem,
    Quote,
}

/// A block as found in the source, inline markup still in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    pub kind: BlockKind,
    pub text: String,
}

/// What cleaning produced: the article text and the metadata read from the page's header.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cleaned {
    pub text: String,
    /// The first level-1 heading.
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub date_raw: Option<String>,
    pub extra: BTreeMap<String, String>,
}

static ATX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$").unwrap());
static HR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ {0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$").unwrap());
static LIST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s{0,3}(?:[-*+•]|\d{1,3}[.)])\s+(.*)$").unwrap());
static QUOTE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s{0,3}>\s?(.*)$").unwrap());
static REFDEF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s{0,3}\[[^\]]+\]:\s*\S+").unwrap());
static FENCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s{0,3}(```|~~~)").unwrap());

/// Splits Markdown (or plain text, which is Markdown without markup) into raw blocks.
/// Lines of a paragraph are joined with a space; code blocks and rules are dropped.
pub fn parse_markdown(src: &str) -> Vec<RawBlock> {
    let mut blocks = Vec::new();
    let mut cur: Option<RawBlock> = None;
    let mut in_fence = false;
    let flush = |cur: &mut Option<RawBlock>, blocks: &mut Vec<RawBlock>| {
        if let Some(b) = cur.take() {
            if !b.text.trim().is_empty() {
                blocks.push(b);
            }
        }
    };
    for line in src.lines() {
        if FENCE.is_match(line) {
            flush(&mut cur, &mut blocks);
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut cur, &mut blocks);
            continue;
        }
        if trimmed.starts_with("<!--") && trimmed.ends_with("-->") {
            continue;
        }
        // Setext heading: a one-line paragraph underlined with === or ---.
        if let Some(b) = &mut cur {
            if b.kind == BlockKind::Paragraph && !b.text.contains('\n') {
                let level = if trimmed.chars().all(|c| c == '=') {
                    Some(1)
                } else if trimmed.len() >= 2 && trimmed.chars().all(|c| c == '-') {
                    Some(2)
                } else {
                    None
                };
                if let Some(level) = level {
                    b.kind = BlockKind::Heading(level);
                    flush(&mut cur, &mut blocks);
                    continue;
                }
            }
        }
        if let Some(c) = ATX.captures(line) {
            flush(&mut cur, &mut blocks);
            let text = c.get(2).map(|m| m.as_str()).unwrap_or("").to_string();
            blocks.push(RawBlock {
                kind: BlockKind::Heading(c[1].len() as u8),
                text,
            });
            continue;
        }
        if HR.is_match(line) {
            flush(&mut cur, &mut blocks);
            continue;
        }
        if REFDEF.is_match(line) {
            continue;
        }
        if let Some(c) = LIST.captures(line) {
            // "**T**he" and "*Emphasis*" start with '*' but are not list items: those need a space.
            flush(&mut cur, &mut blocks);
            cur = Some(RawBlock {
                kind: BlockKind::ListItem,
                text: c[1].to_string(),
            });
            continue;
        }
        if let Some(c) = QUOTE.captures(line) {
            match &mut cur {
                Some(b) if b.kind == BlockKind::Quote => {
                    b.text.push(' ');
                    b.text.push_str(c[1].trim());
                }
                _ => {
                    flush(&mut cur, &mut blocks);
                    cur = Some(RawBlock {
                        kind: BlockKind::Quote,
                        text: c[1].trim().to_string(),
                    });
                }
            }
            continue;
        }
        match &mut cur {
            Some(b) => {
                b.text.push(' ');
                b.text.push_str(trimmed);
            }
            None => {
                cur = Some(RawBlock {
                    kind: BlockKind::Paragraph,
                    text: trimmed.to_string(),
                })
            }
        }
    }
    flush(&mut cur, &mut blocks);
    blocks
}

static IMAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"!\[(?:\\.|[^\]\\])*\]\([^)]*\)").unwrap());
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\[((?:\\.|[^\]\\])*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"]*")?\)"#).unwrap());
static REF_LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[((?:\\.|[^\]\\])+)\]\[[^\]]*\]").unwrap());
static AUTOLINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<(?:https?|mailto|ftp):[^>\s]*>").unwrap());
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>").unwrap());
static ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\([\\`*_{}\[\]()#+\-.!|>~])").unwrap());
/// Link paths left in parentheses by scrapers: "Mehdi Khalaji (/experts/mehdi-khalaji)".
static LINK_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*\((?:/|https?://|www\.)[^()\s]*(?:\s[^()\s]*){0,3}\)").unwrap());
static BARE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:https?://|www\.)[^\s<>"]*[^\s<>".,;:!?)\]'”’]"#).unwrap());
static STRONG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*{1,3}|(?:^|\b|\s)_{1,3}|_{1,3}(?:\b|\s|$)").unwrap());
static CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`+").unwrap());

/// Reduces Markdown inline markup to plain text: images dropped, links to their text, URLs and
/// link paths removed, emphasis and escapes undone.
pub fn markdown_inline_to_text(s: &str) -> String {
    let s = IMAGE.replace_all(s, "");
    let s = LINK.replace_all(&s, "$1");
    let s = REF_LINK.replace_all(&s, "$1");
    let s = AUTOLINK.replace_all(&s, "");
    let s = HTML_TAG.replace_all(&s, "");
    let s = CODE.replace_all(&s, "");
    // Emphasis markers go before escapes are undone, so an escaped \* survives as a literal.
    let s = s.replace("\\*", "\u{E000}").replace("\\_", "\u{E001}");
    let s = STRONG.replace_all(&s, |c: &regex::Captures| {
        let m = c.get(0).unwrap().as_str();
        // Keep the white space an underscore run was matched with.
        m.chars().filter(|ch| ch.is_whitespace()).collect::<String>()
    });
    let s = s.replace('\u{E000}', "*").replace('\u{E001}', "_");
    let s = ESCAPE.replace_all(&s, "$1");
    plain_inline_cleanup(&s)
}

/// Cleanup shared by every format: link paths and bare URLs removed, white space folded.
pub fn plain_inline_cleanup(s: &str) -> String {
    // Every block of every page comes through here: the regexes run only when their literal
    // prefixes occur, and white space is folded by hand (same result, a fifth of the time).
    let url_like = s.contains("http") || s.contains("www.");
    let s = if url_like || s.contains("(/") {
        LINK_PATH.replace_all(s, "")
    } else {
        std::borrow::Cow::Borrowed(s)
    };
    let s = if url_like { BARE_URL.replace_all(&s, "") } else { s };
    // \s+ -> one space, trimmed; then no space before , . ; : ! ?
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space && !matches!(c, ',' | '.' | ';' | ':' | '!' | '?') {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

/// True when the whole block is set in emphasis (`*...*` or `_..._`), as bios and credits are.
fn is_emphasised(raw: &str, rules: &Rules) -> bool {
    let t: String = raw.chars().filter(|c| !rules.strip_chars.contains(c)).collect();
    let t = t.trim();
    let single = |d: char| t.len() > 2 && t.starts_with(d) && t.ends_with(d) && !t.starts_with(&format!("{d}{d}{d}"));
    (single('*') && !t[1..t.len() - 1].contains("**")) || single('_')
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

/// How a dropped section began: at a heading of this level, or at a plain line.
#[derive(Debug, Clone, Copy)]
enum Section {
    Heading(u8),
    Line,
}

/// A paragraph that reads as article prose: long enough and ending a sentence.
fn is_body_like(text: &str) -> bool {
    word_count(text) >= 30 && text.trim_end().ends_with(['.', '!', '?', '"', '”', '’', ')'])
}

/// A block after inline cleanup, with what the cleaner needs to know about it.
struct Item {
    kind: BlockKind,
    text: String,
    emphasised: bool,
}

/// Turns raw blocks into article text plus header metadata. `markdown` says whether inline
/// Markdown is to be reduced (HTML blocks arrive as plain text). `known_authors` are authors stated
/// elsewhere (sidecar, front matter), used to recognise bios.
pub fn clean_blocks(raw: &[RawBlock], rules: &Rules, markdown: bool, known_authors: &[String]) -> Cleaned {
    let mut items = Vec::with_capacity(raw.len());
    for b in raw {
        let emphasised = markdown && is_emphasised(&b.text, rules);
        let mut text = if markdown {
            markdown_inline_to_text(&b.text)
        } else {
            plain_inline_cleanup(&b.text)
        };
        for re in &rules.inline_drop {
            text = re.replace_all(&text, "").into_owned();
        }
        if !rules.strip_chars.is_empty() {
            text.retain(|c| !rules.strip_chars.contains(&c));
        }
        let text = plain_inline_cleanup(&text);
        if !text.is_empty() {
            items.push(Item {
                kind: b.kind,
                text,
                emphasised,
            });
        }
    }

    // 1. Sections, end markers and boilerplate lines. The section rules are for scraped text
    // (Markdown, plain text, JSONL/CSV fields); web pages have their own boilerplate handling
    // (`html::extract`). A dropped section never swallows an article body: it ends at the next
    // heading, and a section opened by a plain line (not a heading) also ends at the first
    // body-like paragraph; one opened by a heading ends at the second body-like paragraph in a
    // row (a bio is one paragraph; a body goes on), and both are kept.
    let mut kept: Vec<Item> = Vec::with_capacity(items.len());
    let mut dropping: Option<Section> = None;
    let mut pending: Option<Item> = None;
    for it in items {
        if markdown && rules.end_lines.iter().any(|re| re.is_match(&it.text)) {
            break;
        }
        let section_head = markdown && rules.drop_sections.iter().any(|re| re.is_match(&it.text));
        match it.kind {
            BlockKind::Heading(level) => {
                pending = None;
                if section_head {
                    dropping = Some(Section::Heading(level));
                    continue;
                }
                if matches!(dropping, Some(Section::Heading(d)) if level <= d)
                    || matches!(dropping, Some(Section::Line))
                {
                    dropping = None;
                }
            }
            _ if section_head && word_count(&it.text) <= 6 => {
                // A plain line such as "REGIONS & COUNTRIES".
                pending = None;
                if dropping.is_none() {
                    dropping = Some(Section::Line);
                }
                continue;
            }
            _ => {}
        }
        if let Some(section) = dropping {
            if !is_body_like(&it.text) {
                pending = None;
                continue;
            }
            match section {
                Section::Line => dropping = None,
                Section::Heading(_) => match pending.take() {
                    Some(first) => {
                        dropping = None;
                        kept.push(first);
                    }
                    None => {
                        pending = Some(it);
                        continue;
                    }
                },
            }
        }
        if rules.drop_lines.iter().any(|re| re.is_match(&it.text)) {
            continue;
        }
        kept.push(it);
    }

    // 2. The header: title, byline and date line before the first paragraph of body text.
    let mut out = Cleaned::default();
    let mut header_drop = vec![false; kept.len()];
    for (i, it) in kept.iter().enumerate() {
        if let BlockKind::Heading(level) = it.kind {
            if level == 1 && out.title.is_none() {
                out.title = Some(it.text.clone());
            }
            continue;
        }
        let words = word_count(&it.text);
        if words <= 16 && out.authors.is_empty() {
            if let Some(names) = rules
                .byline
                .iter()
                .find_map(|re| re.captures(&it.text))
                .and_then(|c| c.name("authors"))
            {
                out.authors = split_byline(names.as_str());
                header_drop[i] = true;
                continue;
            }
        }
        if words <= 8 && out.date_raw.is_none() && normalize_date(&it.text).is_some() {
            out.date_raw = Some(it.text.clone());
            header_drop[i] = true;
            continue;
        }
        if words >= 8 {
            break; // the body has begun
        }
    }

    // 3. Bios, credit lines and speaker labels.
    let mut authors: Vec<String> = out.authors.clone();
    authors.extend(known_authors.iter().cloned());
    let bio_res: Vec<Regex> = bio_regexes(rules, &authors);
    let last_body = kept
        .iter()
        .enumerate()
        .rev()
        .find(|(i, it)| !header_drop[*i] && !it.emphasised && it.kind != BlockKind::Heading(1))
        .map(|(i, _)| i);
    let mut paragraphs: Vec<String> = Vec::new();
    for (i, it) in kept.iter().enumerate() {
        if header_drop[i] {
            continue;
        }
        let words = word_count(&it.text);
        if !matches!(it.kind, BlockKind::Heading(_))
            && words <= rules.bio_max_words
            && bio_res.iter().any(|re| re.is_match(&it.text))
        {
            continue;
        }
        if it.emphasised && words <= rules.credit_max_words && last_body.is_none_or(|l| i > l) {
            let credit = it.text.trim_end_matches('.').to_string();
            out.extra.entry("original_publication".into()).or_insert(credit);
            continue;
        }
        if rules.other_labels.iter().any(|re| re.is_match(&it.text)) {
            continue;
        }
        let mut text = it.text.clone();
        for re in &rules.author_labels {
            text = re.replace(&text, "").into_owned();
        }
        if text.trim().is_empty() {
            continue;
        }
        paragraphs.push(text);
    }
    out.text = paragraphs.join("\n\n");
    out
}

/// Bio patterns with every author's full name and surname filled in: one regex per author,
/// compiled once per run and name (documents by the same author share it).
fn bio_regexes(rules: &Rules, authors: &[String]) -> Vec<Regex> {
    static CACHE: LazyLock<std::sync::Mutex<std::collections::HashMap<String, Option<Regex>>>> =
        LazyLock::new(Default::default);
    let mut res = Vec::new();
    for a in authors {
        let mut names = vec![a.clone()];
        if let Some(last) = a.split_whitespace().last() {
            if last != a {
                names.push(last.to_string());
            }
        }
        let pattern = names
            .iter()
            .flat_map(|name| {
                rules
                    .bio_patterns
                    .iter()
                    .map(move |p| format!("(?:{})", p.replace("{author}", &regex::escape(name))))
            })
            .collect::<Vec<_>>()
            .join("|");
        if pattern.is_empty() {
            continue;
        }
        let mut cache = CACHE.lock().expect("bio cache lock");
        // Bounded: a corpus of many thousands of authors must not grow it without end.
        if cache.len() > 20_000 {
            cache.clear();
        }
        if let Some(re) = cache
            .entry(pattern.clone())
            .or_insert_with(|| Regex::new(&pattern).ok())
        {
            res.push(re.clone());
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written white-space folding gives what the regexes it replaced gave.
    #[test]
    fn inline_cleanup_folds_as_the_regexes_did() {
        let spaces = Regex::new(r"\s+").unwrap();
        let before_punct = Regex::new(r" ([,.;:!?])").unwrap();
        let by_regex = |s: &str| {
            let s = LINK_PATH.replace_all(s, "");
            let s = BARE_URL.replace_all(&s, "");
            let s = spaces.replace_all(&s, " ");
            before_punct.replace_all(&s, "$1").trim().to_string()
        };
        let pieces = [
            " ",
            "\t",
            "\n",
            "\u{a0}",
            ",",
            ".",
            ";",
            ":",
            "!",
            "?",
            "word",
            "Iran",
            "(",
            ")",
            "(/path)",
            "https://example.org/a",
            "www.x.org",
            "é",
            "—",
            "  ",
            " ,",
            "x",
        ];
        // Every string of up to four pieces, and longer ones by a fixed walk through them.
        let mut cases: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            cases = cases
                .iter()
                .flat_map(|c| pieces.iter().map(move |p| format!("{c}{p}")))
                .collect();
        }
        cases.extend((0..2000).map(|k| {
            (0..12)
                .map(|j| pieces[(k * 7 + j * j * 3 + j) % pieces.len()])
                .collect()
        }));
        for c in &cases {
            assert_eq!(plain_inline_cleanup(c), by_regex(c), "{c:?}");
        }
    }

    #[test]
    fn inline_markdown() {
        assert_eq!(
            markdown_inline_to_text(r"by [Mehdi Khalaji \(/experts/mehdi-khalaji\)](/experts/mehdi-khalaji)"),
            "by Mehdi Khalaji"
        );
        assert_eq!(markdown_inline_to_text("**T**he recent talks"), "The recent talks");
        assert_eq!(
            markdown_inline_to_text("See [the report](https://example.org/a_(b)) and https://example.org/x. Done"),
            "See the report and. Done"
        );
        assert_eq!(
            markdown_inline_to_text("snake_case stays, _emphasis_ goes"),
            "snake_case stays, emphasis goes"
        );
        assert_eq!(markdown_inline_to_text(r"a literal \* star"), "a literal * star");
    }

    #[test]
    fn blocks_from_markdown() {
        let b = parse_markdown("# Title\n\nline one\nline two\n\n- item\n* * *\nSetext\n===\n> quoted\n> more\n");
        assert_eq!(
            b,
            vec![
                RawBlock {
                    kind: BlockKind::Heading(1),
                    text: "Title".into()
                },
                RawBlock {
                    kind: BlockKind::Paragraph,
                    text: "line one line two".into()
                },
                RawBlock {
                    kind: BlockKind::ListItem,
                    text: "item".into()
                },
                RawBlock {
                    kind: BlockKind::Heading(1),
                    text: "Setext".into()
                },
                RawBlock {
                    kind: BlockKind::Quote,
                    text: "quoted more".into()
                },
            ]
        );
    }
}
