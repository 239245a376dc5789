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

use super::dom::{Dom, Tag};
use crate::corpus::metadata::{split_byline, MetaSource};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// Elements by tag name, in document order.
fn named<'a>(dom: &'a Dom, name: &'a str) -> impl Iterator<Item = usize> + 'a {
    (0..dom.nodes.len()).filter(move |&i| &*dom.nodes[i].name == name)
}

/// Whether a `class` attribute holds `token` as one of its space-separated names (CSS `.token`).
fn has_class(dom: &Dom, i: usize, token: &str) -> bool {
    dom.attr(i, "class")
        .is_some_and(|c| c.split_ascii_whitespace().any(|t| t == token))
}

fn attr_is(dom: &Dom, i: usize, name: &str, value: &str) -> bool {
    dom.attr(i, name) == Some(value)
}

fn attr_contains(dom: &Dom, i: usize, name: &str, part: &str) -> bool {
    dom.attr(i, name).is_some_and(|v| v.contains(part))
}

/// Byline markup in two tiers: elements that hold a name and nothing else (a link to the
/// author's page, `rel`/`itemprop=author`, a name class), else the byline containers, whose text
/// may also hold dates, e-mail addresses and roles.
fn is_byline_name(dom: &Dom, i: usize) -> bool {
    let a = &*dom.nodes[i].name == "a";
    attr_is(dom, i, "rel", "author")
        || attr_is(dom, i, "itemprop", "author")
        || has_class(dom, i, "byline-name")
        || has_class(dom, i, "author-name")
        || attr_contains(dom, i, "class", "author-name")
        || attr_contains(dom, i, "class", "authorname")
        || (a && (attr_contains(dom, i, "href", "/author/") || attr_contains(dom, i, "href", "/authors/")))
}

fn is_byline(dom: &Dom, i: usize) -> bool {
    has_class(dom, i, "byline")
        || has_class(dom, i, "author")
        || has_class(dom, i, "article-author")
        || attr_contains(dom, i, "class", "byline")
        || attr_contains(dom, i, "class", "post-author")
        || attr_contains(dom, i, "class", "__author")
        || (&*dom.nodes[i].name == "a" && attr_contains(dom, i, "href", "/by/"))
        || attr_contains(dom, i, "data-testid", "byline")
}

/// JSON-LD blocks: `<script type="application/ld+json">` (the type compared in any case, as
/// browsers do).
fn is_ld_json(dom: &Dom, i: usize) -> bool {
    &*dom.nodes[i].name == "script"
        && dom
            .attr(i, "type")
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
}

/// Words that are never an author's name in a byline (credentials, roles, placeholders).
static NOT_A_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(ph\.?d\.?|m\.?d\.?|mph|ma|ms|msc|bsc|jd|rn|rd|mba|esq\.?|staff|staff writer|editor|editors|admin|administrator|no author|unknown|anonymous|guest|contributor|updated|published|and)$").unwrap()
});
/// A licence link (`a[href*="/by/"]` matches creativecommons.org/licenses/by/) is not a byline.
static LICENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(licen[cs]e|creative commons|copyright)\b").unwrap());
/// Trailing roles after a name: "Jane Roe, Staff Writer", "Jane Roe PhillyVoice Staff".
static ROLE_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\s*[,|]?\s*(\b\w+\s+)?\b(staff writer|staff reporter|staff|correspondent|contributor|contributing writer|senior writer|reporter|editor|columnist)$|\s+(for|from|at)\s+(the\s+)?[A-Z].*$|\s+on\s+(\w+\.?\s+\d{1,2}|\d{1,2}\s+\w+|\d{4}-\d{2}).*$)").unwrap()
});
static VIEW_POSTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(view|see|more) (all )?(posts|articles|stories) by\s+").unwrap());

/// One author as a name: prefixes ("By", "View all posts by") and trailing roles removed;
/// `None` for credentials, placeholders and the site's own name.
fn tidy_author(a: &str, site: Option<&str>) -> Option<String> {
    let a = clean(a);
    let a = VIEW_POSTS.replace(&a, "");
    let a = BY_PREFIX.replace(&a, "");
    let a = ROLE_SUFFIX.replace(&a, "");
    let a = URL_IN_PARENS.replace_all(&a, "");
    let a = a.trim().trim_matches([',', ';', '|', '-', '–', '—']).trim().to_string();
    // Bylines set in capitals ("By GILLIAN MOHNEY") name the same person as "Gillian Mohney".
    let a = if a.chars().any(char::is_alphabetic) && !a.chars().any(char::is_lowercase) && a.contains(' ') {
        title_case(&a)
    } else {
        a
    };
    if a.is_empty()
        || a.starts_with('@')
        || NOT_A_NAME.is_match(&a)
        || looks_like_url(&a)
        || LICENCE.is_match(&a)
        || a.split_whitespace().count() > 6
    {
        return None;
    }
    if site.is_some_and(|s| s.trim().eq_ignore_ascii_case(&a)) {
        return None;
    }
    Some(a)
}

/// What follows the name in a byline's text: a date or time ("Dan Goodin - Apr 16, 2015 8:02 pm
/// UTC", "Lucas Nolan 22 Dec 2016", "March 9, 2017", "2/26/2015"), an age ("• 8h"), a handle.
static BYLINE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\s*(?:[-–—•|,;]\s*)?(?:",
        r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b[,;]?\s+\w+\s+\d",
        r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
        r"|\d{1,2}\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{4}",
        r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b",
        r"|•\s*\d+\s*[smhdw]\b|\s@\w+",
        r").*$"
    ))
    .unwrap()
});

/// A byline candidate inside the site's navigation (a menu of the site's columnists, the footer)
/// names someone, but not this article's author.
fn in_site_menu(dom: &Dom, i: usize) -> bool {
    static MENU: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bnav|menu|dropdown|masthead").unwrap());
    dom.ancestors(i).any(|a| {
        let a = a as usize;
        matches!(dom.nodes[a].tag, Tag::Nav | Tag::Footer | Tag::Aside)
            || dom.attr(a, "class").is_some_and(|c| MENU.is_match(c))
            || dom.attr(a, "id").is_some_and(|c| MENU.is_match(c))
    })
}

static URL_IN_PARENS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s*\((https?://|www\.)[^)]*\)").unwrap());

/// "GILLIAN MOHNEY" -> "Gillian Mohney", "JEAN-PAUL O'NEILL" -> "Jean-Paul O'Neill".
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphabetic();
    }
    out
}

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

fn type_names(v: &Value) -> Vec<String> {
    match v.get("@type") {
        Some(Value::String(s)) => vec![s.to_lowercase()],
        Some(Value::Array(a)) => a.iter().filter_map(|t| t.as_str()).map(|s| s.to_lowercase()).collect(),
        _ => vec![],
    }
}

/// Every JSON object of the page's JSON-LD that has an article type; articles proper before
/// plain `WebPage`s.
/// References by `@id` (Yoast's `"author": {"@id": ".../#/schema/person/..."}`) are resolved
/// against the objects of the page's graphs.
fn ld_articles(dom: &Dom) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pages = Vec::new();
    let mut by_id: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    fn visit(
        v: &Value,
        out: &mut Vec<Value>,
        pages: &mut Vec<Value>,
        by_id: &mut std::collections::HashMap<String, Value>,
    ) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| visit(x, out, pages, by_id)),
            Value::Object(o) => {
                if let Some(id) = o.get("@id").and_then(|i| i.as_str()) {
                    if o.len() > 1 {
                        by_id.entry(id.to_string()).or_insert_with(|| v.clone());
                    }
                }
                let types = type_names(v);
                if types.iter().any(|t| t == "webpage") {
                    pages.push(v.clone());
                } else if types.iter().any(|t| ARTICLE_TYPES.contains(&t.as_str())) {
                    out.push(v.clone());
                }
                if let Some(g) = o.get("@graph") {
                    visit(g, out, pages, by_id);
                }
                if let Some(m) = o.get("mainEntity") {
                    if m.is_object() {
                        visit(m, out, pages, by_id);
                    }
                }
            }
            _ => {}
        }
    }
    for i in (0..dom.nodes.len()).filter(|&i| is_ld_json(dom, i)) {
        let raw: &str = &dom.nodes[i].text;
        // Some sites leave HTML comments or trailing semicolons around the JSON.
        let trimmed = raw
            .trim()
            .trim_start_matches("<!--")
            .trim_end_matches("-->")
            .trim()
            .trim_end_matches(';');
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            visit(&v, &mut out, &mut pages, &mut by_id);
        }
    }
    out.extend(pages);
    let resolve = |v: &Value| -> Value {
        match v {
            Value::Object(o) if o.len() == 1 => o
                .get("@id")
                .and_then(|i| i.as_str())
                .and_then(|i| by_id.get(i).cloned())
                .unwrap_or_else(|| v.clone()),
            other => other.clone(),
        }
    };
    for a in &mut out {
        for key in ["author", "publisher"] {
            let Some(field) = a.get(key).cloned() else { continue };
            let resolved = match &field {
                Value::Array(items) => Value::Array(items.iter().map(resolve).collect()),
                other => resolve(other),
            };
            a[key] = resolved;
        }
    }
    out
}

fn ld_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(clean(s)).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(ld_string),
        Value::Object(o) => o
            .get("name")
            .and_then(ld_string)
            .or_else(|| o.get("@value").and_then(ld_string)),
        _ => None,
    }
}

/// Authors of a JSON-LD `author` value: (people, organisations).
fn ld_authors(v: &Value) -> (Vec<String>, Vec<String>) {
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
    (people, orgs)
}

/// Decodes the character references a value may still hold (JSON-LD is not HTML-decoded, and
/// some pages escape attributes twice) and folds white space.
fn clean(s: &str) -> String {
    static ENTITY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});").unwrap());
    let decoded = ENTITY.replace_all(s, |c: &regex::Captures| {
        let e = &c[1];
        let ch = if let Some(hex) = e.strip_prefix("#x").or_else(|| e.strip_prefix("#X")) {
            u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
        } else if let Some(dec) = e.strip_prefix('#') {
            dec.parse::<u32>().ok().and_then(char::from_u32)
        } else {
            match e {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "nbsp" => Some(' '),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "rdquo" => Some('”'),
                "ldquo" => Some('“'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "hellip" => Some('…'),
                _ => None,
            }
        };
        ch.map(String::from).unwrap_or_else(|| c[0].to_string())
    });
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
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

/// Removes the site's own name when a title ends with it ("Headline | The Site").
fn strip_named_site(title: &str, site: Option<&str>) -> String {
    let Some(site) = site.filter(|s| !s.trim().is_empty()) else {
        return title.to_string();
    };
    for sep in [" | ", " – ", " — ", " - ", " :: ", " · "] {
        if let Some(head) = title.strip_suffix(&format!("{sep}{}", site.trim())) {
            if !head.trim().is_empty() {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
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
pub fn ld_article_body(dom: &Dom) -> Option<String> {
    ld_articles(dom)
        .iter()
        .find_map(|o| {
            o.get("articleBody")
                .and_then(|v| v.as_str())
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
}

/// Reads the page's metadata.
pub fn read_meta(dom: &Dom) -> MetaSource {
    let mut meta = MetaSource::default();
    let metas: Vec<(String, String)> = named(dom, "meta")
        .filter_map(|i| {
            let key = dom
                .attr(i, "property")
                .or_else(|| dom.attr(i, "name"))
                .or_else(|| dom.attr(i, "itemprop"))?;
            Some((key.trim().to_lowercase(), dom.attr(i, "content")?.to_string()))
        })
        .collect();
    let ld = ld_articles(dom);
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

    let publication = publication.map(|p| clean(&p));
    let site = publication.as_deref();
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
        .map(|t| strip_named_site(&clean(&t), site))
        .or_else(|| {
            named(dom, "h1")
                .map(|i| dom.text_of(i))
                .find(|t| !t.is_empty())
                .map(|t| clean(&t))
        })
        .or_else(|| {
            named(dom, "title")
                .map(|i| dom.text_of(i))
                .find(|t| !t.is_empty())
                .map(|t| strip_site_suffix(&clean(&t), site))
        });

    // Authors: people named by JSON-LD, else the meta tags, else the byline markup; an
    // organisation named as JSON-LD author only when no person is named anywhere.
    let (ld_people, ld_orgs) = ld
        .iter()
        .find_map(|o| {
            o.get("author")
                .map(ld_authors)
                .filter(|(p, o)| !p.is_empty() || !o.is_empty())
        })
        .unwrap_or_default();
    let from_meta = || {
        [
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
                .flat_map(|(_, c)| split_byline(&clean(c)))
                .collect();
            (!vals.is_empty()).then_some(vals)
        })
    };
    let from_byline = || -> Vec<String> {
        let all = 0..dom.nodes.len();
        all.clone()
            .filter(|&i| is_byline_name(dom, i))
            .chain(all.filter(|&i| is_byline(dom, i)))
            .filter(|&i| !in_site_menu(dom, i))
            .map(|i| dom.text_of(i))
            .map(|t| BYLINE_TAIL.replace(&t, "").into_owned())
            .map(|t| clean(&t))
            .filter(|t| !t.is_empty() && t.split_whitespace().count() <= 12)
            .take(1)
            .flat_map(|t| split_byline(&t))
            .collect()
    };
    let mut authors = ld_people;
    if authors.is_empty() {
        authors = from_meta().unwrap_or_else(from_byline);
    }
    if authors.is_empty() {
        authors = ld_orgs;
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in authors {
        let Some(a) = tidy_author(&a, site) else { continue };
        if seen.insert(a.to_lowercase()) {
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
            (0..dom.nodes.len())
                .filter(|&i| attr_is(dom, i, "itemprop", "datePublished") && &*dom.nodes[i].name != "meta")
                .filter_map(|i| {
                    dom.attr(i, "content")
                        .or_else(|| dom.attr(i, "datetime"))
                        .map(str::to_string)
                        .or_else(|| Some(dom.text_of(i)))
                })
                .map(|s| s.trim().to_string())
                .find(|s| !s.is_empty())
        })
        .or_else(|| {
            named(dom, "time")
                .filter_map(|i| dom.attr(i, "datetime"))
                .map(|s| s.trim().to_string())
                .find(|s| !s.is_empty())
        });
    meta.publication = publication;
    meta.url = named(dom, "link")
        .filter(|&i| attr_is(dom, i, "rel", "canonical"))
        .filter_map(|i| dom.attr(i, "href"))
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .or_else(|| meta_content(&metas, &["og:url"]))
        .or_else(|| ld_field("url"));
    if meta.date_raw.is_none() {
        // News URLs often carry the date: /2019/12/29/ or /2019-12-29/.
        static URL_DATE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|-|$)").unwrap()
        });
        meta.date_raw = meta
            .url
            .as_deref()
            .and_then(|u| URL_DATE.captures(u))
            .map(|c| format!("{}-{}-{}", &c[1], &c[2], &c[3]));
    }
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
        let m = read_meta(&Dom::parse(html));
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
        let m = read_meta(&Dom::parse(html));
        assert_eq!(m.title.as_deref(), Some("A Story About Things"));
        assert_eq!(m.authors, vec!["Jane Roe"]);
        assert_eq!(m.date_raw.as_deref(), Some("2020-01-02"));
        assert_eq!(m.publication.as_deref(), Some("Example Press"));
    }

    #[test]
    fn yoast_references_and_entities() {
        let html = r#"<html><head><meta property="og:site_name" content="Harper&#039;s Magazine">
            <meta property="og:title" content="A Letter | Harper&#039;s Magazine">
            <script type="application/ld+json">{"@graph":[{"@type":"Person","@id":"https://x/#/p/1","name":"Ann O&#8217;Neil"},
            {"@type":"NewsArticle","author":{"@id":"https://x/#/p/1"},"datePublished":"2020-07-07"}]}</script></head></html>"#;
        let m = read_meta(&Dom::parse(html));
        assert_eq!(m.title.as_deref(), Some("A Letter"));
        assert_eq!(m.authors, vec!["Ann O’Neil"]);
        assert_eq!(m.publication.as_deref(), Some("Harper's Magazine"));
    }

    #[test]
    fn people_before_organisations() {
        let v: Value =
            serde_json::json!([{"@type":"Organization","name":"Reuters"},{"@type":"Person","name":"Al Smith"}]);
        assert_eq!(
            ld_authors(&v),
            (vec!["Al Smith".to_string()], vec!["Reuters".to_string()])
        );
        let v: Value = serde_json::json!("Ann Lee and Bo Chen");
        assert_eq!(ld_authors(&v).0, vec!["Ann Lee", "Bo Chen"]);
        // A person named in the byline wins over an organisation as JSON-LD author.
        let html = r#"<html><head><meta property="og:site_name" content="CNN"><script type="application/ld+json">
            {"@type":"NewsArticle","author":[{"@type":"Organization","name":"National Geographic"}]}</script></head>
            <body><span class="byline">By Michael Hingston, Staff Writer</span></body></html>"#;
        assert_eq!(read_meta(&Dom::parse(html)).authors, vec!["Michael Hingston"]);
        assert_eq!(
            tidy_author("View all posts by Daniel Lemire", None).as_deref(),
            Some("Daniel Lemire")
        );
        assert_eq!(tidy_author("PhD", None), None);
        assert_eq!(tidy_author("CNN", Some("CNN")), None);
        assert_eq!(
            tidy_author("Glen Owen for The Mail on Sunday", None).as_deref(),
            Some("Glen Owen")
        );
    }
}
