//! Metadata of a web page from what real pages carry, each field from the first source that has
//! it (the precedence is documented in the README):
//! - title: JSON-LD `headline`/`name` of the article object, `og:title`, `twitter:title`,
//!   `parsely-title`, `sailthru.title`, Dublin Core `dc.title`, the first `<h1>`, `<title>`;
//! - authors: JSON-LD `author` (a string, a `Person`, an `Organization`, or a list of them),
//!   `meta name=author`, `article:author` (when not a URL), `parsely-author`, `sailthru.author`,
//!   `dc.creator`, then byline markup (`rel=author`, `itemprop=author`, `.byline`, `.author`);
//! - date: JSON-LD `datePublished` (else `dateCreated`), `article:published_time`,
//!   `parsely-pub-date`, `sailthru.date`, `dc.date`/`dcterms.date`/`dc.date.issued`,
//!   `meta name=date|pubdate|publish-date|publication_date`, `itemprop=datePublished`, the first
//!   `<time datetime>`;
//! - publication: JSON-LD `publisher.name`, `og:site_name`, `application-name`, `dc.publisher`;
//! - url: `link rel=canonical`, `og:url`, JSON-LD `url`.
//!
//! JSON-LD objects count when their `@type` is an article type (`NewsArticle`, `Article`,
//! `OpinionNewsArticle`, `ReportageNewsArticle`, `AnalysisNewsArticle`, `BlogPosting`, `Report`,
//! ...), at the top level, in a list or inside `@graph`.

use crate::corpus::metadata::{split_byline, MetaSource};
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use std::sync::LazyLock;

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("valid selector")
}

static META: LazyLock<Selector> = LazyLock::new(|| sel("meta"));
static LD_JSON: LazyLock<Selector> = LazyLock::new(|| sel(r#"script[type="application/ld+json"]"#));
static H1: LazyLock<Selector> = LazyLock::new(|| sel("h1"));
static TITLE: LazyLock<Selector> = LazyLock::new(|| sel("title"));
static CANONICAL: LazyLock<Selector> = LazyLock::new(|| sel(r#"link[rel="canonical"]"#));
static TIME: LazyLock<Selector> = LazyLock::new(|| sel("time[datetime]"));
static BYLINE: LazyLock<Selector> = LazyLock::new(|| {
    sel(r#"[rel="author"], [itemprop="author"], .byline, .author, .article-author, .byline-name, .author-name"#)
});
static BY_PREFIX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^\s*(by|written by|posted by|from)\s+").unwrap());

const ARTICLE_TYPES: &[&str] = &[
    "article",
    "newsarticle",
    "opinionnewsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "backgroundnewsarticle",
    "reviewnewsarticle",
    "askpublicnewsarticle",
    "blogposting",
    "socialmediaposting",
    "liveblogposting",
    "report",
    "scholarlyarticle",
    "techarticle",
    "webpage",
];

fn text_of(e: ElementRef) -> String {
    e.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn type_names(v: &Value) -> Vec<String> {
    match v.get("@type") {
        Some(Value::String(s)) => vec![s.to_lowercase()],
        Some(Value::Array(a)) => a.iter().filter_map(|t| t.as_str()).map(|s| s.to_lowercase()).collect(),
        _ => vec![],
    }
}

/// Every JSON object of the page's JSON-LD that has an article type; articles proper before
/// plain `WebPage`s.
fn ld_articles(doc: &Html) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pages = Vec::new();
    fn visit(v: &Value, out: &mut Vec<Value>, pages: &mut Vec<Value>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| visit(x, out, pages)),
            Value::Object(o) => {
                let types = type_names(v);
                if types.iter().any(|t| t == "webpage") {
                    pages.push(v.clone());
                } else if types.iter().any(|t| ARTICLE_TYPES.contains(&t.as_str())) {
                    out.push(v.clone());
                }
                if let Some(g) = o.get("@graph") {
                    visit(g, out, pages);
                }
                if let Some(m) = o.get("mainEntity") {
                    if m.is_object() {
                        visit(m, out, pages);
                    }
                }
            }
            _ => {}
        }
    }
    for s in doc.select(&LD_JSON) {
        let raw: String = s.text().collect();
        // Some sites leave HTML comments or trailing semicolons around the JSON.
        let trimmed = raw
            .trim()
            .trim_start_matches("<!--")
            .trim_end_matches("-->")
            .trim()
            .trim_end_matches(';');
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            visit(&v, &mut out, &mut pages);
        }
    }
    out.extend(pages);
    out
}

fn ld_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(ld_string),
        Value::Object(o) => o
            .get("name")
            .and_then(ld_string)
            .or_else(|| o.get("@value").and_then(ld_string)),
        _ => None,
    }
}

/// Authors of a JSON-LD `author` value: people first; organisations only when no person is named.
fn ld_authors(v: &Value) -> Vec<String> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut people = Vec::new();
    let mut orgs = Vec::new();
    for it in items {
        let is_org = type_names(it)
            .iter()
            .any(|t| t.contains("organization") || t.contains("organisation"));
        if let Some(name) = ld_string(it) {
            let names = if it.is_string() {
                split_byline(&name)
            } else {
                vec![name]
            };
            if is_org {
                orgs.extend(names);
            } else {
                people.extend(names);
            }
        }
    }
    if people.is_empty() {
        orgs
    } else {
        people
    }
}

/// Decodes the entities a `content` attribute may still hold after parsing (double-escaped
/// pages) and folds white space.
fn clean(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `content` of the first `<meta>` whose `name`, `property` or `itemprop` is one of `keys`
/// (compared case-insensitively), in the order of `keys`.
fn meta_content(metas: &[(String, String)], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        metas
            .iter()
            .find(|(name, content)| name == k && !content.trim().is_empty())
            .map(|(_, c)| clean(c))
    })
}

fn looks_like_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("www.") || s.starts_with('/')
}

/// Removes a site name appended to a page title ("Headline | Site", "Headline - Site").
fn strip_site_suffix(title: &str, site: Option<&str>) -> String {
    for sep in [" | ", " – ", " — ", " - ", " :: ", " · "] {
        if let Some(pos) = title.rfind(sep) {
            let (head, tail) = (&title[..pos], &title[pos + sep.len()..]);
            let tail_is_site = site.is_some_and(|s| tail.trim().eq_ignore_ascii_case(s.trim()))
                || (tail.split_whitespace().count() <= 4 && head.split_whitespace().count() >= 3);
            if tail_is_site {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
}

/// The `articleBody` of the page's JSON-LD article, when it has one (some pages put the text
/// there and build the page with scripts).
pub fn ld_article_body(doc: &Html) -> Option<String> {
    ld_articles(doc)
        .iter()
        .find_map(|o| {
            o.get("articleBody")
                .and_then(|v| v.as_str())
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
}

/// Reads the page's metadata.
pub fn read_meta(doc: &Html) -> MetaSource {
    let mut meta = MetaSource::default();
    let metas: Vec<(String, String)> = doc
        .select(&META)
        .filter_map(|e| {
            let v = e.value();
            let key = v
                .attr("property")
                .or_else(|| v.attr("name"))
                .or_else(|| v.attr("itemprop"))?;
            Some((key.trim().to_lowercase(), v.attr("content")?.to_string()))
        })
        .collect();
    let ld = ld_articles(doc);
    let ld_field = |key: &str| ld.iter().find_map(|o| o.get(key).and_then(ld_string));

    let publication = ld
        .iter()
        .find_map(|o| o.get("publisher").and_then(ld_string))
        .or_else(|| {
            meta_content(
                &metas,
                &["og:site_name", "application-name", "dc.publisher", "dcterms.publisher"],
            )
        });

    meta.title = ld_field("headline")
        .or_else(|| {
            meta_content(
                &metas,
                &[
                    "og:title",
                    "twitter:title",
                    "parsely-title",
                    "sailthru.title",
                    "dc.title",
                    "dcterms.title",
                ],
            )
        })
        .or_else(|| doc.select(&H1).map(text_of).find(|t| !t.is_empty()))
        .or_else(|| {
            doc.select(&TITLE)
                .map(text_of)
                .find(|t| !t.is_empty())
                .map(|t| strip_site_suffix(&t, publication.as_deref()))
        })
        .map(|t| clean(&t));

    let mut authors: Vec<String> = ld
        .iter()
        .find_map(|o| o.get("author").map(ld_authors).filter(|a| !a.is_empty()))
        .unwrap_or_default();
    if authors.is_empty() {
        let from_meta = [
            "author",
            "article:author",
            "parsely-author",
            "sailthru.author",
            "dc.creator",
            "dcterms.creator",
            "byl",
        ]
        .iter()
        .find_map(|k| {
            let vals: Vec<String> = metas
                .iter()
                .filter(|(name, c)| name == k && !c.trim().is_empty() && !looks_like_url(c.trim()))
                .map(|(_, c)| BY_PREFIX.replace(&clean(c), "").to_string())
                .collect();
            (!vals.is_empty()).then_some(vals)
        });
        authors = match from_meta {
            Some(vals) => vals.iter().flat_map(|v| split_byline(v)).collect(),
            None => doc
                .select(&BYLINE)
                .map(text_of)
                .map(|t| BY_PREFIX.replace(&t, "").to_string())
                .filter(|t| !t.is_empty() && t.split_whitespace().count() <= 12)
                .take(1)
                .flat_map(|t| split_byline(&t))
                .collect(),
        };
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in authors {
        let a = a.trim().to_string();
        if !a.is_empty() && seen.insert(a.to_lowercase()) {
            meta.authors.push(a);
        }
    }

    meta.date_raw = ld_field("datePublished")
        .or_else(|| ld_field("dateCreated"))
        .or_else(|| {
            meta_content(
                &metas,
                &[
                    "article:published_time",
                    "parsely-pub-date",
                    "sailthru.date",
                    "dc.date",
                    "dcterms.date",
                    "dc.date.issued",
                    "dcterms.issued",
                    "date",
                    "pubdate",
                    "publish-date",
                    "publication_date",
                    "datepublished",
                    "og:published_time",
                ],
            )
        })
        .or_else(|| {
            doc.select(&TIME)
                .filter_map(|e| e.value().attr("datetime"))
                .map(|s| s.trim().to_string())
                .find(|s| !s.is_empty())
        });
    meta.publication = publication.map(|p| clean(&p));
    meta.url = doc
        .select(&CANONICAL)
        .filter_map(|e| e.value().attr("href"))
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .or_else(|| meta_content(&metas, &["og:url"]))
        .or_else(|| ld_field("url"));
    if let Some(d) = meta_content(&metas, &["description", "og:description", "twitter:description"]) {
        meta.set("description", &Value::String(d));
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ld_in_a_graph_wins() {
        let html = r#"<html><head><title>Old | Site</title>
            <meta property="og:title" content="OG title">
            <meta name="author" content="Meta Author">
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[
              {"@type":"WebSite","name":"Site"},
              {"@type":["OpinionNewsArticle"],"headline":"The Headline","datePublished":"2019-03-04T10:00:00Z",
               "author":[{"@type":"Person","name":"Ann Lee"},{"@type":"Person","name":"Bo Chen"}],
               "publisher":{"@type":"Organization","name":"The Daily"}}]}</script></head><body></body></html>"#;
        let m = read_meta(&Html::parse_document(html));
        assert_eq!(m.title.as_deref(), Some("The Headline"));
        assert_eq!(m.authors, vec!["Ann Lee", "Bo Chen"]);
        assert_eq!(m.date_raw.as_deref(), Some("2019-03-04T10:00:00Z"));
        assert_eq!(m.publication.as_deref(), Some("The Daily"));
    }

    #[test]
    fn meta_tags_in_order() {
        let html = r#"<html><head><title>A Story About Things - The Site</title>
            <meta name="parsely-author" content="By Jane Roe">
            <meta name="sailthru.date" content="2020-01-02">
            <meta property="article:author" content="https://example.org/jane">
            <meta name="dc.publisher" content="Example Press"></head><body><p>x</p></body></html>"#;
        let m = read_meta(&Html::parse_document(html));
        assert_eq!(m.title.as_deref(), Some("A Story About Things"));
        assert_eq!(m.authors, vec!["Jane Roe"]);
        assert_eq!(m.date_raw.as_deref(), Some("2020-01-02"));
        assert_eq!(m.publication.as_deref(), Some("Example Press"));
    }

    #[test]
    fn organisation_author_only_when_no_person() {
        let v: Value =
            serde_json::json!([{"@type":"Organization","name":"Reuters"},{"@type":"Person","name":"Al Smith"}]);
        assert_eq!(ld_authors(&v), vec!["Al Smith"]);
        let v: Value = serde_json::json!({"@type":"Organization","name":"Reuters"});
        assert_eq!(ld_authors(&v), vec!["Reuters"]);
        let v: Value = serde_json::json!("Ann Lee and Bo Chen");
        assert_eq!(ld_authors(&v), vec!["Ann Lee", "Bo Chen"]);
    }
}
