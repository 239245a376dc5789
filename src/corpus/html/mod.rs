//! HTML pages: metadata from JSON-LD, meta tags and byline markup (`meta`), and the article's
//! text chosen by evidence (`extract`) from a compact copy (`dom`) of the parsed page (`tree`).

pub mod dom;
pub mod extract;
pub mod meta;
pub mod prefilter;
pub mod tree;

use super::blocks::RawBlock;
use super::metadata::MetaSource;
pub use extract::HtmlRules;

/// Metadata from the page's head and byline markup, and its article blocks.
pub fn read_html(src: &str, rules: &HtmlRules) -> (MetaSource, Vec<RawBlock>) {
    let dom = dom::Dom::parse(&prefilter::strip_never_text(src));
    let meta = meta::read_meta(&dom);
    let ld_body = meta::ld_article_body(&dom);
    let mut blocks = extract::extract(&dom, rules);
    // A page built by scripts may have its text only in JSON-LD: use it when the markup gave
    // less than half as much.
    if let Some(body) = ld_body {
        let from_markup: usize = blocks.iter().map(|b| b.text.chars().count()).sum();
        if from_markup * 2 < body.chars().count() {
            blocks = body
                .split("\n\n")
                .flat_map(|p| p.split('\n'))
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty())
                .map(|text| RawBlock {
                    kind: super::blocks::BlockKind::Paragraph,
                    text,
                })
                .collect();
        }
    }
    (meta, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::blocks::BlockKind;

    #[test]
    fn article_and_metadata() {
        let html = r#"<html><head><title>Site | Page</title>
            <meta property="og:title" content="Iran Talks Resume">
            <meta name="author" content="Jane Doe and John Roe">
            <meta property="article:published_time" content="2013-11-24T08:00:00Z">
            <script>var x = "not text";</script></head>
            <body><nav>Home | About</nav><header>Site header</header>
            <article><h1>Iran Talks Resume</h1><p>The talks in <a href="/geneva">Geneva</a> resumed on Sunday, after a break of three weeks, with both delegations present.</p>
            <aside>Related: other things</aside><p>Second<br>line of the story, which goes on for a while, as stories do.</p><p>Old<br><br>style</p></article>
            <footer>Copyright</footer></body></html>"#;
        let (meta, blocks) = read_html(html, &HtmlRules::defaults());
        assert_eq!(meta.title.as_deref(), Some("Iran Talks Resume"));
        assert_eq!(meta.authors, vec!["Jane Doe", "John Roe"]);
        assert_eq!(meta.date_raw.as_deref(), Some("2013-11-24T08:00:00Z"));
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Iran Talks Resume",
                "The talks in Geneva resumed on Sunday, after a break of three weeks, with both delegations present.",
                "Second line of the story, which goes on for a while, as stories do.",
                "Old",
                "style"
            ]
        );
        assert_eq!(blocks[0].kind, BlockKind::Heading(1));
    }
}
