//! HTML pages: metadata from `<meta>` tags and byline elements, article text from `<article>`
//! (else `<main>`, else `<body>`) without scripts, navigation, headers, footers, asides and forms.

use super::blocks::{BlockKind, RawBlock};
use super::metadata::MetaSource;
use scraper::{ElementRef, Html, Node, Selector};
use serde_json::Value;

/// Elements whose content is never article text.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "button", "select", "textarea",
    "iframe", "svg", "canvas", "template", "figure", "menu", "dialog", "object", "video", "audio", "head",
];

/// Elements that start a new block.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "dl",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "address",
    "center",
    "body",
];

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("valid selector")
}

/// Metadata from the page's head and byline markup, and its article blocks.
pub fn read_html(src: &str) -> (MetaSource, Vec<RawBlock>) {
    let doc = Html::parse_document(src);
    let mut meta = MetaSource::default();
    let meta_content = |selector: &str| -> Option<String> {
        doc.select(&sel(selector))
            .filter_map(|e| e.value().attr("content"))
            .map(|c| c.trim().to_string())
            .find(|c| !c.is_empty())
    };
    let text_of = |e: ElementRef| -> String {
        e.text()
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };

    meta.title = meta_content(r#"meta[property="og:title"], meta[name="og:title"]"#)
        .or_else(|| doc.select(&sel("h1")).map(text_of).find(|t| !t.is_empty()))
        .or_else(|| doc.select(&sel("title")).map(text_of).find(|t| !t.is_empty()));
    let authors: Vec<String> = {
        let from_meta: Vec<String> = doc
            .select(&sel(r#"meta[name="author"], meta[property="article:author"], meta[name="article:author"], meta[name="byl"]"#))
            .filter_map(|e| e.value().attr("content"))
            .map(|c| c.trim().trim_start_matches("By ").trim_start_matches("by ").to_string())
            .filter(|c| !c.is_empty() && !c.starts_with("http"))
            .collect();
        if !from_meta.is_empty() {
            from_meta
        } else {
            doc.select(&sel(
                r#"[rel="author"], [itemprop="author"], .byline, .author, .article-author"#,
            ))
            .map(text_of)
            .map(|t| regex::Regex::new(r"(?i)^by\s+").unwrap().replace(&t, "").to_string())
            .filter(|t| !t.is_empty() && t.split_whitespace().count() <= 12)
            .take(1)
            .collect()
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    for a in authors {
        for name in super::metadata::split_byline(&a) {
            if seen.insert(name.clone()) {
                meta.authors.push(name);
            }
        }
    }
    meta.date_raw = meta_content(
        r#"meta[property="article:published_time"], meta[name="article:published_time"], meta[name="date"], meta[name="pubdate"], meta[name="publish-date"], meta[name="dc.date"], meta[name="DC.date"], meta[itemprop="datePublished"]"#,
    )
    .or_else(|| doc.select(&sel("time[datetime]")).filter_map(|e| e.value().attr("datetime")).map(|s| s.trim().to_string()).next());
    meta.publication = meta_content(r#"meta[property="og:site_name"], meta[name="application-name"]"#);
    meta.url = doc
        .select(&sel(r#"link[rel="canonical"]"#))
        .filter_map(|e| e.value().attr("href"))
        .map(|s| s.to_string())
        .next()
        .or_else(|| meta_content(r#"meta[property="og:url"]"#));
    if let Some(d) = meta_content(r#"meta[name="description"], meta[property="og:description"]"#) {
        meta.set("description", &Value::String(d));
    }

    let root = ["article", "main", "[role=main]", "body"]
        .iter()
        .find_map(|s| doc.select(&sel(s)).find(|e| !text_of(*e).is_empty()));
    let mut blocks = Vec::new();
    if let Some(root) = root {
        let mut cur = String::new();
        let mut kind = BlockKind::Paragraph;
        walk(root, &mut cur, &mut kind, &mut blocks);
        flush(&mut cur, kind, &mut blocks);
    }
    (meta, blocks)
}

/// Marks a `<br>`: one is a space, two in a row separate paragraphs (as on older sites).
const BR: char = '\u{E002}';

fn flush(cur: &mut String, kind: BlockKind, blocks: &mut Vec<RawBlock>) {
    let folded = cur.split_whitespace().collect::<Vec<_>>().join(" ");
    let paragraph_break = format!("{BR} {BR}");
    let folded = folded.replace(&format!("{BR}{BR}"), &paragraph_break);
    for part in folded.split(paragraph_break.as_str()) {
        let t = part.replace(BR, " ").split_whitespace().collect::<Vec<_>>().join(" ");
        if !t.is_empty() {
            blocks.push(RawBlock { kind, text: t });
        }
    }
    cur.clear();
}

fn walk(el: ElementRef, cur: &mut String, kind: &mut BlockKind, blocks: &mut Vec<RawBlock>) {
    let name = el.value().name();
    if SKIP.contains(&name) || el.value().attr("hidden").is_some() || el.value().attr("aria-hidden") == Some("true") {
        return;
    }
    let is_block = BLOCK.contains(&name);
    if is_block {
        flush(cur, *kind, blocks);
        *kind = match name {
            "h1" => BlockKind::Heading(1),
            "h2" => BlockKind::Heading(2),
            "h3" => BlockKind::Heading(3),
            "h4" => BlockKind::Heading(4),
            "h5" => BlockKind::Heading(5),
            "h6" => BlockKind::Heading(6),
            "li" => BlockKind::ListItem,
            "blockquote" => BlockKind::Quote,
            _ => BlockKind::Paragraph,
        };
    }
    for child in el.children() {
        match child.value() {
            Node::Text(t) => cur.push_str(t),
            Node::Element(e) if e.name() == "br" => cur.push(BR),
            Node::Element(_) => {
                if let Some(e) = ElementRef::wrap(child) {
                    walk(e, cur, kind, blocks);
                }
            }
            _ => {}
        }
    }
    if is_block {
        flush(cur, *kind, blocks);
        *kind = BlockKind::Paragraph;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_and_metadata() {
        let html = r#"<html><head><title>Site | Page</title>
            <meta property="og:title" content="Iran Talks Resume">
            <meta name="author" content="Jane Doe and John Roe">
            <meta property="article:published_time" content="2013-11-24T08:00:00Z">
            <script>var x = "not text";</script></head>
            <body><nav>Home | About</nav><header>Site header</header>
            <article><h1>Iran Talks Resume</h1><p>The talks in <a href="/geneva">Geneva</a> resumed.</p>
            <aside>Related: other things</aside><p>Second<br>line.</p><p>Old<br><br>style</p></article>
            <footer>Copyright</footer></body></html>"#;
        let (meta, blocks) = read_html(html);
        assert_eq!(meta.title.as_deref(), Some("Iran Talks Resume"));
        assert_eq!(meta.authors, vec!["Jane Doe", "John Roe"]);
        assert_eq!(meta.date_raw.as_deref(), Some("2013-11-24T08:00:00Z"));
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Iran Talks Resume",
                "The talks in Geneva resumed.",
                "Second line.",
                "Old",
                "style"
            ]
        );
        assert_eq!(blocks[0].kind, BlockKind::Heading(1));
    }
}
