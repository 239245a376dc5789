//! A compact copy of the parsed page: one arena of elements and text nodes in document order,
//! with the few attributes extraction reads (tag, class and id, hidden flags, itemprop) decoded
//! once, every attribute kept for the metadata reader, and per-element text statistics computed
//! once, bottom-up.

use super::tree::{self, RawData, RawTree};
use html5ever::tendril::StrTendril;
use html5ever::{Attribute, LocalName};

/// Tags the extractor tells apart; every other element is `Other` (treated as inline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    Text,
    Html,
    Head,
    Body,
    Article,
    Main,
    Section,
    Div,
    P,
    Span,
    A,
    Br,
    Hr,
    H(u8),
    Ul,
    Ol,
    Li,
    Dl,
    Dt,
    Dd,
    Blockquote,
    Pre,
    Code,
    Table,
    Thead,
    Tbody,
    Tfoot,
    Tr,
    Td,
    Th,
    Caption,
    Figure,
    Figcaption,
    Img,
    Picture,
    Header,
    Footer,
    Nav,
    Aside,
    Form,
    Address,
    Center,
    Font,
    Time,
    /// Never text: script, style, noscript, template, svg, iframe, media, form controls, ...
    Void,
    Other,
}

impl Tag {
    fn of(name: &str) -> Tag {
        match name {
            "html" => Tag::Html,
            "head" => Tag::Head,
            "body" => Tag::Body,
            "article" => Tag::Article,
            "main" => Tag::Main,
            "section" => Tag::Section,
            "div" => Tag::Div,
            "p" => Tag::P,
            "span" => Tag::Span,
            "a" => Tag::A,
            "br" => Tag::Br,
            "hr" => Tag::Hr,
            "h1" => Tag::H(1),
            "h2" => Tag::H(2),
            "h3" => Tag::H(3),
            "h4" => Tag::H(4),
            "h5" => Tag::H(5),
            "h6" => Tag::H(6),
            "ul" | "menu" => Tag::Ul,
            "ol" => Tag::Ol,
            "li" => Tag::Li,
            "dl" => Tag::Dl,
            "dt" => Tag::Dt,
            "dd" => Tag::Dd,
            "blockquote" => Tag::Blockquote,
            "pre" => Tag::Pre,
            "code" => Tag::Code,
            "table" => Tag::Table,
            "thead" => Tag::Thead,
            "tbody" => Tag::Tbody,
            "tfoot" => Tag::Tfoot,
            "tr" => Tag::Tr,
            "td" => Tag::Td,
            "th" => Tag::Th,
            "caption" => Tag::Caption,
            "figure" => Tag::Figure,
            "figcaption" => Tag::Figcaption,
            "img" => Tag::Img,
            "picture" => Tag::Picture,
            "header" => Tag::Header,
            "footer" => Tag::Footer,
            "nav" => Tag::Nav,
            "aside" => Tag::Aside,
            "form" => Tag::Form,
            "address" => Tag::Address,
            "center" => Tag::Center,
            "font" => Tag::Font,
            "time" => Tag::Time,
            "script" | "style" | "noscript" | "template" | "svg" | "math" | "iframe" | "canvas" | "video" | "audio"
            | "object" | "embed" | "button" | "select" | "textarea" | "input" | "option" | "dialog" | "label"
            | "map" | "title" | "meta" | "link" | "source" | "track" | "frame" | "frameset" => Tag::Void,
            _ => Tag::Other,
        }
    }

    /// Elements that start a new block of text.
    pub fn is_block(self) -> bool {
        matches!(
            self,
            Tag::Body
                | Tag::Article
                | Tag::Main
                | Tag::Section
                | Tag::Div
                | Tag::P
                | Tag::Hr
                | Tag::H(_)
                | Tag::Ul
                | Tag::Ol
                | Tag::Li
                | Tag::Dl
                | Tag::Dt
                | Tag::Dd
                | Tag::Blockquote
                | Tag::Pre
                | Tag::Table
                | Tag::Thead
                | Tag::Tbody
                | Tag::Tfoot
                | Tag::Tr
                | Tag::Td
                | Tag::Th
                | Tag::Caption
                | Tag::Figure
                | Tag::Figcaption
                | Tag::Header
                | Tag::Footer
                | Tag::Nav
                | Tag::Aside
                | Tag::Form
                | Tag::Address
                | Tag::Center
        )
    }
}

pub const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct DomNode {
    pub tag: Tag,
    /// Elements: the tag name as written (lower-cased by the parser); empty for other nodes.
    pub name: LocalName,
    /// Elements: every attribute, as the parser gave them.
    pub attrs: Vec<Attribute>,
    pub parent: u32,
    /// First child and next sibling (`NONE` when there is none): no list per node to allocate.
    pub first_child: u32,
    pub next_sibling: u32,
    /// Text nodes: the text as written (white space not yet folded); shares the parser's buffer.
    /// Never-text elements (`Tag::Void`): the text of their subtree, which they keep no nodes
    /// for (a `<title>`, a JSON-LD `<script>`).
    pub text: StrTendril,
    /// Elements: lower-cased `class` and `id`, space-separated (what class/id rules match).
    pub hint: String,
    /// `hidden`, `aria-hidden="true"` or an inline `display:none` / `visibility:hidden`.
    pub hidden: bool,
    /// `itemprop="articleBody"` (or `articlebody` in any case).
    pub article_body: bool,
    /// For `<a>`: whether the link has an `href`.
    pub href: bool,
    /// Text nodes: characters with white-space runs folded, and commas (`folded_len`, computed
    /// once here because every extraction pass sums them).
    pub text_chars: u32,
    pub text_commas: u32,
}

impl DomNode {
    /// A node with no children, text or attributes yet.
    fn new(tag: Tag, parent: u32) -> Self {
        DomNode {
            tag,
            name: LocalName::from(""),
            attrs: Vec::new(),
            parent,
            first_child: NONE,
            next_sibling: NONE,
            text: StrTendril::new(),
            hint: String::new(),
            hidden: false,
            article_body: false,
            href: false,
            text_chars: 0,
            text_commas: 0,
        }
    }
}

/// Text statistics of an element's subtree, counting only text that is not inside a removed
/// element.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Characters of text (runs of white space count as one).
    pub chars: u32,
    /// Of which inside links.
    pub link_chars: u32,
    pub commas: u32,
    /// Paragraph elements (`p`) inside.
    pub paragraphs: u32,
    pub links: u32,
    pub images: u32,
    pub list_items: u32,
    /// Characters of text outside links inside paragraph elements (`p`, `pre`, `blockquote`).
    pub p_chars: u32,
    /// Characters of text directly in this element or its inline children (not in nested blocks).
    pub own_chars: u32,
    pub own_commas: u32,
}

impl Stats {
    pub fn link_density(&self) -> f32 {
        if self.chars == 0 {
            0.0
        } else {
            self.link_chars as f32 / self.chars as f32
        }
    }
}

pub struct Dom {
    pub nodes: Vec<DomNode>,
    /// The `<body>` element, else the root.
    pub body: u32,
}

/// Characters of a text with white-space runs folded to one.
pub fn folded_len(s: &str) -> (u32, u32) {
    let mut n = 0u32;
    let mut commas = 0u32;
    let mut in_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_space {
                n += 1;
                in_space = true;
            }
        } else {
            n += 1;
            in_space = false;
            if c == ',' || c == '，' {
                commas += 1;
            }
        }
    }
    (n, commas)
}

/// An element's node: its tag, the attributes extraction reads decoded in one pass (each
/// lookup would scan them all), and every attribute kept.
fn element(name: LocalName, attrs: Vec<Attribute>, parent: u32) -> DomNode {
    let tag = Tag::of(&name);
    let (mut class, mut id, mut style) = (None, None, None);
    let (mut hidden, mut article_body, mut href) = (false, false, false);
    for a in &attrs {
        let value: &str = &a.value;
        match &*a.name.local {
            "class" => class = Some(value),
            "id" => id = Some(value),
            "style" => style = Some(value),
            "hidden" => hidden = true,
            "aria-hidden" => hidden |= value == "true",
            "itemprop" => article_body = value.eq_ignore_ascii_case("articlebody"),
            "href" => href = true,
            _ => {}
        }
    }
    let mut hint = String::new();
    if let Some(c) = class {
        hint.push_str(&c.to_lowercase());
    }
    if let Some(id) = id {
        hint.push(' ');
        hint.push_str(&id.to_lowercase());
    }
    let style_hidden = style.is_some_and(|s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    });
    DomNode {
        hint,
        hidden: hidden || style_hidden,
        article_body,
        href,
        name,
        attrs,
        ..DomNode::new(tag, parent)
    }
}

/// The text under raw node `r`, in document order.
fn subtree_text(raw: &RawTree, r: u32, out: &mut StrTendril) {
    let mut c = raw.nodes[r as usize].first_child;
    while c != tree::NONE {
        if let RawData::Text(t) = &raw.nodes[c as usize].data {
            out.push_tendril(t);
        } else {
            subtree_text(raw, c, out);
        }
        c = raw.nodes[c as usize].next_sibling;
    }
}

impl Dom {
    /// Parses a page.
    pub fn parse(html: &str) -> Dom {
        Dom::from_tree(tree::parse(html))
    }

    /// The parser's tree in document order (pre-order), which the statistics rely on.
    fn from_tree(mut raw: RawTree) -> Dom {
        let mut nodes: Vec<DomNode> = Vec::with_capacity(raw.nodes.len());
        let mut last_child: Vec<u32> = Vec::with_capacity(raw.nodes.len());
        let mut body = NONE;
        // Depth-first with an explicit stack: (raw node, parent index).
        let mut stack = vec![(0u32, NONE)];
        while let Some((r, parent)) = stack.pop() {
            let index = nodes.len() as u32;
            let data = std::mem::replace(&mut raw.nodes[r as usize].data, RawData::Other);
            let dom_node = match data {
                RawData::Text(text) => {
                    let (text_chars, text_commas) = folded_len(&text);
                    DomNode {
                        text,
                        text_chars,
                        text_commas,
                        ..DomNode::new(Tag::Text, parent)
                    }
                }
                RawData::Element { name, attrs } => element(name.local, attrs, parent),
                RawData::Document | RawData::Fragment => DomNode::new(Tag::Other, parent),
                // Comments, doctypes and processing instructions carry no text.
                RawData::Other => continue,
            };
            if dom_node.tag == Tag::Body && body == NONE {
                body = index;
            }
            let tag = dom_node.tag;
            nodes.push(dom_node);
            if parent != NONE {
                // Children arrive in document order: link each after its parent's last child.
                match last_child[parent as usize] {
                    NONE => nodes[parent as usize].first_child = index,
                    prev => nodes[prev as usize].next_sibling = index,
                }
                last_child[parent as usize] = index;
            }
            last_child.push(NONE);
            match tag {
                Tag::Text => {}
                // Script, style and the other never-text elements keep no children: their text
                // (often most of a page's bytes) is never article text. Their text is kept
                // whole for the metadata reader.
                Tag::Void => {
                    let mut text = StrTendril::new();
                    subtree_text(&raw, r, &mut text);
                    nodes[index as usize].text = text;
                }
                _ => {
                    // Children pushed in reverse so they pop in document order.
                    let mut c = raw.nodes[r as usize].last_child;
                    while c != tree::NONE {
                        stack.push((c, index));
                        c = raw.nodes[c as usize].prev_sibling;
                    }
                }
            }
        }
        Dom {
            body: if body == NONE { 0 } else { body },
            nodes,
        }
    }

    /// The value of attribute `name` of node `i`. Only the attributes in
    /// [`super::prefilter::KEPT_ATTRIBUTES`] reach the parser (all of them on `<meta>`, `<link>`).
    pub fn attr(&self, i: usize, name: &str) -> Option<&str> {
        self.nodes[i]
            .attrs
            .iter()
            .find(|a| &*a.name.local == name)
            .map(|a| &*a.value)
    }

    /// The text of node `i`'s subtree, pieces joined by a space and white space folded (a
    /// never-text element gives the text it holds).
    pub fn text_of(&self, i: usize) -> String {
        let mut pieces = Vec::new();
        self.collect_text(i, &mut pieces);
        pieces.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn collect_text<'a>(&'a self, i: usize, pieces: &mut Vec<&'a str>) {
        let n = &self.nodes[i];
        if n.tag == Tag::Text || n.tag == Tag::Void {
            pieces.push(&n.text);
        }
        for c in self.children(i) {
            self.collect_text(c as usize, pieces);
        }
    }

    /// The elements enclosing node `i`, nearest first.
    pub fn ancestors(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(self.nodes[i].parent).filter(|&p| p != NONE), move |&p| {
            Some(self.nodes[p as usize].parent).filter(|&q| q != NONE)
        })
    }

    /// The children of node `i`, in document order.
    pub fn children(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(self.nodes[i].first_child).filter(|&c| c != NONE), move |&c| {
            Some(self.nodes[c as usize].next_sibling).filter(|&n| n != NONE)
        })
    }

    pub fn tag(&self, i: u32) -> Tag {
        self.nodes[i as usize].tag
    }

    /// Statistics of every node, given which elements are removed (their text counts nowhere).
    pub fn stats(&self, removed: &[bool]) -> Vec<Stats> {
        let mut st = vec![Stats::default(); self.nodes.len()];
        // Nodes are in pre-order, so every child comes after its parent: go backwards.
        for i in (0..self.nodes.len()).rev() {
            if removed[i] {
                continue;
            }
            let n = &self.nodes[i];
            let mut s = Stats::default();
            if n.tag == Tag::Text {
                let (chars, commas) = (n.text_chars, n.text_commas);
                s.chars = chars;
                s.commas = commas;
                s.own_chars = chars;
                s.own_commas = commas;
            } else {
                for c in self.children(i) {
                    if removed[c as usize] {
                        continue;
                    }
                    let cs = st[c as usize];
                    s.chars += cs.chars;
                    s.link_chars += cs.link_chars;
                    s.commas += cs.commas;
                    s.paragraphs += cs.paragraphs;
                    s.links += cs.links;
                    s.images += cs.images;
                    s.list_items += cs.list_items;
                    s.p_chars += cs.p_chars;
                    if !self.nodes[c as usize].tag.is_block() {
                        s.own_chars += cs.own_chars;
                        s.own_commas += cs.own_commas;
                    }
                }
                match n.tag {
                    Tag::A if n.href => {
                        s.link_chars = s.chars;
                        s.links += 1;
                    }
                    Tag::P | Tag::Pre | Tag::Blockquote => {
                        s.paragraphs += u32::from(n.tag == Tag::P);
                        s.p_chars = s.chars.saturating_sub(s.link_chars);
                    }
                    Tag::Img | Tag::Picture => s.images += 1,
                    Tag::Li => s.list_items += 1,
                    _ => {}
                }
            }
            st[i] = s;
        }
        st
    }
}
