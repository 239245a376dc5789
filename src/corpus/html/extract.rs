//! Main-content extraction: which part of a web page is the article.
//!
//! The steps, each small and named, in the spirit of readability and trafilatura (read, not
//! copied):
//! 1. [`removed_elements`]: elements that never hold article text (scripts, forms' controls,
//!    navigation, asides, figures, hidden elements) and, in the first pass, elements whose class
//!    or id says they are menus, share bars, teasers, comments or sidebars (`unlikely`, unless
//!    `maybe` protects them).
//! 2. [`score_candidates`]: every paragraph-like element with enough text gives points (one, plus
//!    its commas, plus its length in hundreds of characters up to three) to its parent, half to its
//!    grandparent and less to farther ancestors; a candidate starts from its tag's and its
//!    class's weight (a container named like an article body gets a bonus) and is scaled by one
//!    minus its link density.
//! 3. [`pick_root`]: the best candidate, moved up to an ancestor when several strong candidates
//!    share it or when the parent holds clearly more article text; its siblings join when they
//!    score well or are plain paragraphs.
//! 4. [`collect_blocks`]: the chosen elements' text, block by block, leaving out what is dropped
//!    inside the article anyway (share bars, teasers, bios, captions, link lists, forms) and
//!    boilerplate lines.
//! 5. [`extract`]: if a pass keeps too little, the next pass relaxes the class rules (as
//!    readability retries), and the longest result wins; a page with no good candidate falls
//!    back to the whole body's paragraphs.

use super::dom::{Dom, Stats, Tag, NONE};
use crate::corpus::blocks::{BlockKind, RawBlock};
use regex::Regex;
use serde::Deserialize;

/// The defaults shipped in `data/rules/html.toml`, compiled into the binary.
pub const DEFAULT_HTML_RULES: &str = include_str!("../../../data/rules/html.toml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlRulesFile {
    #[serde(default)]
    pub unlikely: Vec<String>,
    #[serde(default)]
    pub maybe: Vec<String>,
    #[serde(default)]
    pub positive: Vec<String>,
    #[serde(default)]
    pub negative: Vec<String>,
    #[serde(default)]
    pub content: Vec<String>,
    #[serde(default)]
    pub drop: Vec<String>,
    #[serde(default)]
    pub lines: HtmlLinesFile,
    #[serde(default)]
    pub paragraphs: HtmlParagraphsFile,
    #[serde(default)]
    pub tail: HtmlTailFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlParagraphsFile {
    pub max_words: Option<usize>,
    #[serde(default)]
    pub cues: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlTailFile {
    #[serde(default)]
    pub bio: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlLinesFile {
    #[serde(default)]
    pub drop: Vec<String>,
}

/// Compiled rules. The class/id lists are one `RegexSet` (one scan per distinct class string of
/// a page gives every list's verdict); text patterns use ASCII word boundaries, which keep the
/// regex engine on its fast path for any text.
#[derive(Debug, Clone)]
pub struct HtmlRules {
    /// Patterns of every class list, tagged with the list they belong to.
    class_set: regex::RegexSet,
    class_list: Vec<u8>,
    pub drop_lines: Vec<Regex>,
    /// Furniture cues in short blocks, and the longest block they can drop.
    pub paragraph_cues: Option<Regex>,
    pub paragraph_max_words: usize,
    /// Bio patterns for the last blocks.
    pub tail_bio: Option<Regex>,
}

/// Class lists, as bits of [`ClassFlags`].
const UNLIKELY: u8 = 1;
const MAYBE: u8 = 2;
const POSITIVE: u8 = 4;
const NEGATIVE: u8 = 8;
const CONTENT: u8 = 16;
const DROP: u8 = 32;

/// `\b` in a pattern as an ASCII word boundary (English furniture needs no more, and the
/// Unicode one sends the regex engine to its slow path on any non-ASCII text).
fn ascii_boundaries(p: &str) -> String {
    p.replace("\\b", "(?-u:\\b)")
}

fn alternation(patterns: &[String], what: &str, source: &str) -> anyhow::Result<Option<Regex>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let joined = patterns
        .iter()
        .map(|p| format!("(?:{})", ascii_boundaries(p)))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&joined)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{source}: invalid regular expression in [html] {what}: {e}"))
}

impl HtmlRules {
    /// Compiles the `[html]` tables of every source, lists appended in order.
    pub fn compile(files: &[(String, HtmlRulesFile)]) -> anyhow::Result<Self> {
        let mut all = HtmlRulesFile::default();
        let mut names = Vec::new();
        for (name, f) in files {
            names.push(name.as_str());
            all.unlikely.extend(f.unlikely.iter().cloned());
            all.maybe.extend(f.maybe.iter().cloned());
            all.positive.extend(f.positive.iter().cloned());
            all.negative.extend(f.negative.iter().cloned());
            all.content.extend(f.content.iter().cloned());
            all.drop.extend(f.drop.iter().cloned());
            all.lines.drop.extend(f.lines.drop.iter().cloned());
            all.paragraphs.cues.extend(f.paragraphs.cues.iter().cloned());
            if f.paragraphs.max_words.is_some() {
                all.paragraphs.max_words = f.paragraphs.max_words;
            }
            all.tail.bio.extend(f.tail.bio.iter().cloned());
        }
        let source = names.join(", ");
        let mut drop_lines = Vec::new();
        for p in &all.lines.drop {
            drop_lines.push(
                Regex::new(&ascii_boundaries(p))
                    .map_err(|e| anyhow::anyhow!("{source}: invalid regular expression in [html.lines] drop: {e}"))?,
            );
        }
        let mut class_patterns = Vec::new();
        let mut class_list = Vec::new();
        for (list, bit, what) in [
            (&all.unlikely, UNLIKELY, "unlikely"),
            (&all.maybe, MAYBE, "maybe"),
            (&all.positive, POSITIVE, "positive"),
            (&all.negative, NEGATIVE, "negative"),
            (&all.content, CONTENT, "content"),
            (&all.drop, DROP, "drop"),
        ] {
            for p in list {
                Regex::new(p)
                    .map_err(|e| anyhow::anyhow!("{source}: invalid regular expression in [html] {what}: {e}"))?;
                class_patterns.push(ascii_boundaries(p));
                class_list.push(bit);
            }
        }
        Ok(Self {
            class_set: regex::RegexSet::new(&class_patterns)?,
            class_list,
            drop_lines,
            paragraph_cues: alternation(&all.paragraphs.cues, "paragraphs.cues", &source)?
                .map(|r| Regex::new(&format!("(?i){}", r.as_str())).expect("already compiled once")),
            paragraph_max_words: all.paragraphs.max_words.unwrap_or(40),
            tail_bio: alternation(&all.tail.bio, "tail.bio", &source)?,
        })
    }

    /// The shipped defaults alone.
    pub fn defaults() -> Self {
        #[derive(Deserialize)]
        struct Wrapper {
            html: HtmlRulesFile,
        }
        let w: Wrapper = toml::from_str(DEFAULT_HTML_RULES).expect("the shipped HTML rules are valid TOML");
        Self::compile(&[("built-in data/rules/html.toml".into(), w.html)]).expect("the shipped HTML rules compile")
    }
}

fn matches(re: &Option<Regex>, s: &str) -> bool {
    !s.is_empty() && re.as_ref().is_some_and(|r| r.is_match(s))
}

/// A page under extraction: its elements and the class lists each one matches.
struct Page<'a> {
    dom: &'a Dom,
    rules: &'a HtmlRules,
    flags: Vec<u8>,
}

/// Which class lists each element's class/id string matches, one scan per distinct string.
fn class_flags(dom: &Dom, rules: &HtmlRules) -> Vec<u8> {
    let mut memo: std::collections::HashMap<&str, u8> = std::collections::HashMap::new();
    dom.nodes
        .iter()
        .map(|n| {
            if n.hint.is_empty() {
                return 0;
            }
            *memo.entry(n.hint.as_str()).or_insert_with(|| {
                rules
                    .class_set
                    .matches(&n.hint)
                    .iter()
                    .fold(0u8, |f, i| f | rules.class_list[i])
            })
        })
        .collect()
}

/// What a pass may use; later passes switch rules off when earlier ones keep too little.
#[derive(Debug, Clone, Copy)]
struct Pass {
    strip_unlikely: bool,
    weight_classes: bool,
    clean_conditionally: bool,
}

const PASSES: [Pass; 3] = [
    Pass {
        strip_unlikely: true,
        weight_classes: true,
        clean_conditionally: true,
    },
    Pass {
        strip_unlikely: false,
        weight_classes: true,
        clean_conditionally: true,
    },
    Pass {
        strip_unlikely: false,
        weight_classes: false,
        clean_conditionally: false,
    },
];

/// A pass that keeps at least this many characters of text is accepted.
const ENOUGH_CHARS: usize = 500;
/// Paragraph-like elements with less text than this give no points.
const MIN_PARAGRAPH_CHARS: u32 = 25;

/// Elements with no article text in any pass.
fn always_removed(dom: &Dom, i: usize) -> bool {
    let n = &dom.nodes[i];
    matches!(
        n.tag,
        Tag::Void | Tag::Head | Tag::Nav | Tag::Aside | Tag::Figure | Tag::Figcaption | Tag::Footer | Tag::Header
    ) || n.hidden
}

/// Step 1: which elements are left out of this pass (a removed element's whole subtree goes).
fn removed_elements(page: &Page, pass: Pass, whole: &[Stats]) -> Vec<bool> {
    let (dom, flags) = (page.dom, &page.flags);
    let mut removed = vec![false; dom.nodes.len()];
    // An article body found by its itemprop or its name is never pruned by class rules, nor are
    // its ancestors.
    let mut protected = vec![false; dom.nodes.len()];
    for i in (0..dom.nodes.len()).rev() {
        let n = &dom.nodes[i];
        if n.article_body {
            protected[i] = true;
        }
        if protected[i] && n.parent != NONE {
            protected[n.parent as usize] = true;
        }
    }
    for i in 0..dom.nodes.len() {
        let n = &dom.nodes[i];
        if n.parent != NONE && removed[n.parent as usize] {
            removed[i] = true;
            continue;
        }
        if n.tag == Tag::Text {
            continue;
        }
        // Header and footer inside the article often hold its title and byline only; as page
        // furniture they are navigation. Either way they are not body text.
        if always_removed(dom, i) && !protected[i] {
            removed[i] = true;
            continue;
        }
        if pass.strip_unlikely
            && !protected[i]
            && !matches!(n.tag, Tag::Body | Tag::Html | Tag::Article | Tag::Main | Tag::A)
            && flags[i] & UNLIKELY != 0
            && flags[i] & MAYBE == 0
            && !holds_a_story(&whole[i], &whole[dom.body as usize])
        {
            removed[i] = true;
        }
    }
    removed
}

/// Readability's weight of an element's class and id, plus a bonus for article-body names.
fn class_weight(page: &Page, i: usize, pass: Pass) -> f32 {
    let (dom, flags) = (page.dom, &page.flags);
    let n = &dom.nodes[i];
    let mut w = 0.0;
    if n.article_body {
        w += 50.0;
    }
    if !pass.weight_classes {
        return w;
    }
    if flags[i] & NEGATIVE != 0 {
        w -= 25.0;
    }
    if flags[i] & POSITIVE != 0 {
        w += 25.0;
    }
    if flags[i] & CONTENT != 0 {
        w += 25.0;
    }
    w
}

fn tag_weight(tag: Tag) -> f32 {
    match tag {
        Tag::Div | Tag::Article | Tag::Main | Tag::Section => 5.0,
        Tag::Pre | Tag::Td | Tag::Blockquote => 3.0,
        Tag::Address | Tag::Ol | Tag::Ul | Tag::Dl | Tag::Dd | Tag::Dt | Tag::Li | Tag::Form => -3.0,
        Tag::H(_) | Tag::Th => -5.0,
        _ => 0.0,
    }
}

/// Elements whose own text counts as a paragraph for scoring.
fn is_paragraph_like(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::P
            | Tag::Pre
            | Tag::Td
            | Tag::Blockquote
            | Tag::Div
            | Tag::Section
            | Tag::Article
            | Tag::Font
            | Tag::Center
            | Tag::Main
            | Tag::Body
    )
}

/// Step 2: the content score of every candidate (0 for elements that are not candidates).
fn score_candidates(page: &Page, removed: &[bool], st: &[Stats], pass: Pass) -> Vec<f32> {
    let dom = page.dom;
    let mut score = vec![0f32; dom.nodes.len()];
    let mut initialised = vec![false; dom.nodes.len()];
    for i in 0..dom.nodes.len() {
        if removed[i] {
            continue;
        }
        let n = &dom.nodes[i];
        if !is_paragraph_like(n.tag) || n.parent == NONE {
            continue;
        }
        let s = st[i];
        // A div or section counts only for the text written directly in it (a text-bearing
        // wrapper); a p, pre, td or blockquote for all of its text.
        let (chars, commas) = match n.tag {
            Tag::P | Tag::Pre | Tag::Td | Tag::Blockquote => (s.chars - s.link_chars.min(s.chars) / 2, s.commas),
            _ => (s.own_chars, s.own_commas),
        };
        if chars < MIN_PARAGRAPH_CHARS {
            continue;
        }
        let points = 1.0 + commas as f32 + (chars as f32 / 100.0).min(3.0);
        let mut ancestor = n.parent;
        let mut level = 0u32;
        while ancestor != NONE && level < 5 {
            let a = ancestor as usize;
            if dom.nodes[a].tag == Tag::Html {
                break;
            }
            if !initialised[a] {
                initialised[a] = true;
                score[a] += tag_weight(dom.nodes[a].tag) + class_weight(page, a, pass);
            }
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f32 * 3.0,
            };
            score[a] += points / divider;
            ancestor = dom.nodes[a].parent;
            level += 1;
        }
    }
    for i in 0..dom.nodes.len() {
        if initialised[i] {
            score[i] *= 1.0 - st[i].link_density();
        }
    }
    score
}

/// Step 3: the article's root and the siblings that join it.
fn pick_root(page: &Page, removed: &[bool], st: &[Stats], score: &[f32], pass: Pass) -> Option<Vec<u32>> {
    let dom = page.dom;
    let mut ranked: Vec<usize> = (0..dom.nodes.len())
        .filter(|&i| !removed[i] && score[i] > 0.0)
        .collect();
    if ranked.is_empty() {
        return None;
    }
    ranked.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));

    let mut top = ranked[0];
    let top_score = score[top];
    // Several strong candidates under one ancestor: the article is that ancestor (paragraphs
    // split over sibling wrappers).
    let strong: Vec<usize> = ranked[1..]
        .iter()
        .copied()
        .take(5)
        .filter(|&i| score[i] >= top_score * 0.75)
        .collect();
    if strong.len() >= 2 {
        let ancestors_of = |mut i: usize| {
            let mut v = Vec::new();
            while dom.nodes[i].parent != NONE {
                i = dom.nodes[i].parent as usize;
                v.push(i);
            }
            v
        };
        let mut parent = dom.nodes[top].parent;
        while parent != NONE
            && dom.nodes[parent as usize].tag != Tag::Body
            && dom.nodes[parent as usize].tag != Tag::Html
        {
            let p = parent as usize;
            let containing = strong.iter().filter(|&&s| ancestors_of(s).contains(&p)).count();
            if containing >= 2 {
                top = p;
                break;
            }
            parent = dom.nodes[p].parent;
        }
    }
    // Walk up while the ancestors' scores stay above a third of the last one, and take the
    // first ancestor that scores better than the last (the pick was one part of the story);
    // a pick that is its parent's only child with text is replaced by the parent.
    let mut last = score[top];
    let mut a = dom.nodes[top].parent;
    while a != NONE && !matches!(dom.nodes[a as usize].tag, Tag::Body | Tag::Html) {
        let ai = a as usize;
        if score[ai] == 0.0 {
            a = dom.nodes[ai].parent;
            continue;
        }
        if score[ai] < last / 3.0 {
            break;
        }
        if score[ai] > last {
            top = ai;
            break;
        }
        last = score[ai];
        a = dom.nodes[ai].parent;
    }
    loop {
        let parent = dom.nodes[top].parent;
        if parent == NONE || matches!(dom.nodes[parent as usize].tag, Tag::Body | Tag::Html) {
            break;
        }
        let p = parent as usize;
        let with_text = dom
            .children(p)
            .filter(|&c| !removed[c as usize] && st[c as usize].chars > 0)
            .count();
        if with_text == 1 {
            top = p;
        } else {
            break;
        }
    }

    // Siblings that belong to the article.
    let parent = dom.nodes[top].parent;
    if parent == NONE || dom.nodes[top].tag == Tag::Body {
        return Some(vec![top as u32]);
    }
    let threshold = (score[top] * 0.2).max(10.0);
    let siblings: Vec<u32> = dom
        .children(parent as usize)
        .filter(|&c| !removed[c as usize] && dom.nodes[c as usize].tag != Tag::Text)
        .collect();
    let mut joined = vec![false; siblings.len()];
    for (k, &c) in siblings.iter().enumerate() {
        let ci = c as usize;
        if ci == top {
            joined[k] = true;
            continue;
        }
        let n = &dom.nodes[ci];
        let s = st[ci];
        let density = s.link_density();
        // A sibling that scores well, a plain paragraph, or a wrapper holding paragraphs of its
        // own (stories split into several rows around advertisements).
        joined[k] = (score[ci] >= threshold && density < 0.33)
            || (n.tag == Tag::P
                && ((s.chars > 80 && density < 0.25)
                    || (s.chars > 0 && s.chars <= 80 && s.link_chars == 0 && ends_sentence(dom, ci))))
            || (!matches!(n.tag, Tag::Ul | Tag::Ol | Tag::Dl | Tag::Table | Tag::Form)
                && s.p_chars >= 300
                && density < 0.1
                && class_weight(page, ci, pass) >= 0.0);
    }
    // A standfirst or lede just before the story: a heading or paragraph of plain text.
    if let Some(first) = joined.iter().position(|&j| j) {
        if first > 0 {
            let ci = siblings[first - 1] as usize;
            let s = st[ci];
            if matches!(dom.nodes[ci].tag, Tag::H(2..=6) | Tag::P | Tag::Div)
                && s.chars >= 50
                && s.link_chars == 0
                && s.chars == s.own_chars
            {
                joined[first - 1] = true;
            }
        }
    }
    let chosen: Vec<u32> = siblings
        .iter()
        .zip(&joined)
        .filter(|(_, &j)| j)
        .map(|(&c, _)| c)
        .collect();

    Some(chosen)
}

fn subtree_text(dom: &Dom, i: usize, out: &mut String) {
    let n = &dom.nodes[i];
    if n.tag == Tag::Text {
        out.push_str(&n.text);
    }
    for c in dom.children(i) {
        subtree_text(dom, c as usize, out);
    }
}

fn ends_sentence(dom: &Dom, i: usize) -> bool {
    let mut s = String::new();
    subtree_text(dom, i, &mut s);
    let t = s.trim_end();
    t.ends_with('.') || t.ends_with('!') || t.ends_with('?') || t.ends_with('"') || t.ends_with('”')
}

/// Paragraphs of prose with few links, a third or more of all the page's paragraph text: what a
/// "read more" expander or a mis-named wrapper around the rest of the story holds (`<div
/// id="read-more">` on News Corp sites), never a share bar, a bio, a fact box or a list of
/// teasers, so an `unlikely` or `drop` class name alone does not remove it.
fn holds_a_story(s: &Stats, page: &Stats) -> bool {
    s.paragraphs >= 3 && s.p_chars >= 1200 && s.link_density() < 0.1 && s.commas >= 8 && s.p_chars * 3 >= page.p_chars
}

/// Conditional cleaning inside the article (readability's `_cleanConditionally`, adapted):
/// lists, tables and wrappers that are mostly links, images or form controls.
fn drop_inside(page: &Page, i: usize, st: &[Stats], pass: Pass) -> bool {
    let (dom, flags) = (page.dom, &page.flags);
    let n = &dom.nodes[i];
    if n.article_body {
        return false;
    }
    if pass.weight_classes
        && flags[i] & DROP != 0
        && flags[i] & CONTENT == 0
        && !holds_a_story(&st[i], &st[dom.body as usize])
    {
        return true;
    }
    if !pass.clean_conditionally {
        return false;
    }
    if !matches!(
        n.tag,
        Tag::Ul | Tag::Ol | Tag::Table | Tag::Div | Tag::Section | Tag::Form | Tag::Dl | Tag::P
    ) {
        return false;
    }
    let s = st[i];
    if s.chars == 0 {
        return s.images == 0 || n.tag != Tag::P;
    }
    let density = s.link_density();
    let weight = if pass.weight_classes {
        let mut w = 0.0;
        if flags[i] & NEGATIVE != 0 {
            w -= 25.0;
        }
        if flags[i] & (POSITIVE | CONTENT) != 0 {
            w += 25.0;
        }
        w
    } else {
        0.0
    };
    if n.tag == Tag::P {
        // A paragraph that is nothing but a link is a teaser or a "read more".
        return density > 0.9 && s.chars < 200;
    }
    if weight < 0.0 && s.commas < 10 {
        return true;
    }
    if s.commas >= 10 {
        return false;
    }
    let is_list = matches!(n.tag, Tag::Ul | Tag::Ol | Tag::Dl);
    if is_list {
        // A list of links (menus, "related stories", tag lists); a real list in the story has
        // text of its own.
        return density > 0.5 || (s.list_items > 0 && s.links >= s.list_items && density > 0.3);
    }
    if weight < 25.0 && density > 0.33 && s.chars < 2000 {
        return true;
    }
    if weight >= 25.0 && density > 0.5 {
        return true;
    }
    if s.images > 1 && s.paragraphs == 0 && s.chars < 200 {
        return true;
    }
    false
}

/// Marks a `<br>`: one is a space, two in a row separate paragraphs (as on older sites).
const BR: char = '\u{E002}';

struct Collector<'a> {
    page: &'a Page<'a>,
    dom: &'a Dom,
    rules: &'a HtmlRules,
    removed: &'a [bool],
    st: &'a [Stats],
    pass: Pass,
    cur: String,
    kind: BlockKind,
    blocks: Vec<RawBlock>,
}

impl Collector<'_> {
    fn flush(&mut self) {
        let folded = self.cur.split_whitespace().collect::<Vec<_>>().join(" ");
        let paragraph_break = format!("{BR} {BR}");
        let folded = folded.replace(&format!("{BR}{BR}"), &paragraph_break);
        for part in folded.split(paragraph_break.as_str()) {
            let t = part.replace(BR, " ").split_whitespace().collect::<Vec<_>>().join(" ");
            if !t.is_empty() && !self.rules.drop_lines.iter().any(|re| re.is_match(&t)) {
                self.blocks.push(RawBlock {
                    kind: self.kind,
                    text: t,
                });
            }
        }
        self.cur.clear();
    }

    fn walk(&mut self, i: usize, top: bool) {
        if self.removed[i] {
            return;
        }
        let n = &self.dom.nodes[i];
        if n.tag == Tag::Text {
            self.cur.push_str(&n.text);
            return;
        }
        if n.tag == Tag::Br {
            self.cur.push(BR);
            return;
        }
        if !top && drop_inside(self.page, i, self.st, self.pass) {
            return;
        }
        let is_block = n.tag.is_block();
        if is_block {
            self.flush();
            self.kind = match n.tag {
                Tag::H(l) => BlockKind::Heading(l),
                Tag::Li | Tag::Dd | Tag::Dt => BlockKind::ListItem,
                Tag::Blockquote => BlockKind::Quote,
                _ => BlockKind::Paragraph,
            };
        }
        // Table cells of one row are one line of text.
        for c in self.dom.children(i) {
            self.walk(c as usize, false);
            if n.tag == Tag::Tr {
                self.cur.push(' ');
            }
        }
        if is_block {
            self.flush();
            self.kind = BlockKind::Paragraph;
        }
    }
}

/// Step 4: the text of the chosen elements.
fn collect_blocks(page: &Page, removed: &[bool], st: &[Stats], pass: Pass, roots: &[u32]) -> Vec<RawBlock> {
    let dom = page.dom;
    let mut c = Collector {
        page,
        dom,
        rules: page.rules,
        removed,
        st,
        pass,
        cur: String::new(),
        kind: BlockKind::Paragraph,
        blocks: Vec::new(),
    };
    for &r in roots {
        c.walk(r as usize, true);
        c.flush();
    }
    c.blocks
}

/// Site furniture that survives as whole blocks: short appeals and notices anywhere, and the
/// author's bio among the last two blocks.
fn drop_furniture(blocks: Vec<RawBlock>, rules: &HtmlRules) -> Vec<RawBlock> {
    let n = blocks.len();
    blocks
        .into_iter()
        .enumerate()
        .filter(|(i, b)| {
            let words = b.text.split_whitespace().count();
            if words <= rules.paragraph_max_words && matches(&rules.paragraph_cues, &b.text) {
                return false;
            }
            !(*i + 2 >= n
                && n > 2
                && words <= 80
                && matches!(b.kind, BlockKind::Paragraph)
                && matches(&rules.tail_bio, &b.text))
        })
        .map(|(_, b)| b)
        .collect()
}

fn text_len(blocks: &[RawBlock]) -> usize {
    blocks.iter().map(|b| b.text.chars().count()).sum()
}

/// Step 5: the article's blocks, with relaxing passes when a pass keeps too little. A relaxed
/// pass replaces an earlier result only when it keeps much more text that is not mostly links (a
/// short article is better than the teasers around it).
pub fn extract(dom: &Dom, rules: &HtmlRules) -> Vec<RawBlock> {
    let page = Page {
        dom,
        rules,
        flags: class_flags(dom, rules),
    };
    let mut best: Vec<RawBlock> = Vec::new();
    let mut best_len = 0usize;
    let whole = dom.stats(&(0..dom.nodes.len()).map(|i| always_removed(dom, i)).collect::<Vec<_>>());
    for pass in PASSES {
        let removed = removed_elements(&page, pass, &whole);
        let st = dom.stats(&removed);
        let score = score_candidates(&page, &removed, &st, pass);
        let roots = pick_root(&page, &removed, &st, &score, pass).unwrap_or_else(|| vec![dom.body]);
        let blocks = drop_furniture(collect_blocks(&page, &removed, &st, pass, &roots), rules);
        let n = text_len(&blocks);
        let (chars, links) = roots.iter().fold((0u32, 0u32), |(c, l), &r| {
            (c + st[r as usize].chars, l + st[r as usize].link_chars)
        });
        let density = if chars == 0 { 0.0 } else { links as f32 / chars as f32 };
        if best_len == 0 || (n * 2 > best_len * 3 && density <= 0.2) {
            if n >= ENOUGH_CHARS {
                return blocks;
            }
            best_len = n;
            best = blocks;
        }
    }
    best
}
