//! The parser's tree: html5ever's tree builder writes into this arena (our `TreeSink`), and
//! [`crate::corpus::html::dom::Dom`] copies it once into document order. Building it ourselves
//! instead of through a general DOM crate saves a second tree and its selector engine, which
//! were a fifth of extraction's time.

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{expanded_name, local_name, namespace_url, ns, Attribute, QualName};
use std::borrow::Cow;
use std::cell::{Ref, RefCell};

pub const NONE: u32 = u32::MAX;

#[derive(Debug)]
pub enum RawData {
    Document,
    /// A `<template>`'s contents.
    Fragment,
    Element {
        name: QualName,
        attrs: Vec<Attribute>,
    },
    Text(StrTendril),
    /// Comments, processing instructions and the doctype: never text.
    Other,
}

/// A node with links to its parent, children and siblings (`NONE` where there is none), so that
/// the tree builder's moves (foster parenting, the adoption agency) cost no copying.
#[derive(Debug)]
pub struct RawNode {
    pub data: RawData,
    pub parent: u32,
    pub first_child: u32,
    pub last_child: u32,
    pub prev_sibling: u32,
    pub next_sibling: u32,
}

impl RawNode {
    fn new(data: RawData) -> Self {
        RawNode {
            data,
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            prev_sibling: NONE,
            next_sibling: NONE,
        }
    }
}

/// The parsed page; node 0 is the document.
pub struct RawTree {
    pub nodes: Vec<RawNode>,
}

/// Parses a whole page as browsers do (html5ever's tokenizer and tree builder).
pub fn parse(html: &str) -> RawTree {
    let sink = Sink {
        nodes: RefCell::new(RawTree {
            nodes: Vec::with_capacity(html.len() / 40 + 16),
        }),
    };
    sink.nodes.borrow_mut().nodes.push(RawNode::new(RawData::Document));
    html5ever::parse_document(sink, Default::default()).one(html)
}

impl RawTree {
    fn push(&mut self, data: RawData) -> u32 {
        self.nodes.push(RawNode::new(data));
        (self.nodes.len() - 1) as u32
    }

    fn detach(&mut self, i: u32) {
        let (parent, prev, next) = {
            let n = &self.nodes[i as usize];
            (n.parent, n.prev_sibling, n.next_sibling)
        };
        if parent == NONE {
            return;
        }
        match prev {
            NONE => self.nodes[parent as usize].first_child = next,
            p => self.nodes[p as usize].next_sibling = next,
        }
        match next {
            NONE => self.nodes[parent as usize].last_child = prev,
            n => self.nodes[n as usize].prev_sibling = prev,
        }
        let n = &mut self.nodes[i as usize];
        n.parent = NONE;
        n.prev_sibling = NONE;
        n.next_sibling = NONE;
    }

    /// Links the parentless node `child` as the last child of `parent`.
    fn append_node(&mut self, parent: u32, child: u32) {
        let last = self.nodes[parent as usize].last_child;
        {
            let c = &mut self.nodes[child as usize];
            c.parent = parent;
            c.prev_sibling = last;
            c.next_sibling = NONE;
        }
        match last {
            NONE => self.nodes[parent as usize].first_child = child,
            l => self.nodes[l as usize].next_sibling = child,
        }
        self.nodes[parent as usize].last_child = child;
    }

    /// Links the parentless node `child` just before `sibling`, which has a parent.
    fn insert_before(&mut self, sibling: u32, child: u32) {
        let (parent, prev) = {
            let s = &self.nodes[sibling as usize];
            (s.parent, s.prev_sibling)
        };
        {
            let c = &mut self.nodes[child as usize];
            c.parent = parent;
            c.prev_sibling = prev;
            c.next_sibling = sibling;
        }
        self.nodes[sibling as usize].prev_sibling = child;
        match prev {
            NONE => self.nodes[parent as usize].first_child = child,
            p => self.nodes[p as usize].next_sibling = child,
        }
    }

    /// Appends text to the text node `i` when it is one; false otherwise.
    fn merge_text(&mut self, i: u32, text: &StrTendril) -> bool {
        if i == NONE {
            return false;
        }
        match &mut self.nodes[i as usize].data {
            RawData::Text(t) => {
                t.push_tendril(text);
                true
            }
            _ => false,
        }
    }
}

struct Sink {
    nodes: RefCell<RawTree>,
}

impl TreeSink for Sink {
    type Handle = u32;
    type Output = RawTree;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> RawTree {
        self.nodes.into_inner()
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> u32 {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a u32) -> Ref<'a, QualName> {
        Ref::map(self.nodes.borrow(), |t| match &t.nodes[*target as usize].data {
            RawData::Element { name, .. } => name,
            _ => panic!("the tree builder asked for the name of a node that is not an element"),
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _flags: ElementFlags) -> u32 {
        let template = name.expanded() == expanded_name!(html "template");
        let mut t = self.nodes.borrow_mut();
        let e = t.push(RawData::Element { name, attrs });
        if template {
            // The template's contents: its first child (see `get_template_contents`).
            let f = t.push(RawData::Fragment);
            t.append_node(e, f);
        }
        e
    }

    fn create_comment(&self, _text: StrTendril) -> u32 {
        self.nodes.borrow_mut().push(RawData::Other)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> u32 {
        self.nodes.borrow_mut().push(RawData::Other)
    }

    fn append(&self, parent: &u32, child: NodeOrText<u32>) {
        let mut t = self.nodes.borrow_mut();
        match child {
            NodeOrText::AppendNode(c) => t.append_node(*parent, c),
            NodeOrText::AppendText(text) => {
                let last = t.nodes[*parent as usize].last_child;
                if !t.merge_text(last, &text) {
                    let n = t.push(RawData::Text(text));
                    t.append_node(*parent, n);
                }
            }
        }
    }

    fn append_based_on_parent_node(&self, element: &u32, prev_element: &u32, child: NodeOrText<u32>) {
        let has_parent = self.nodes.borrow().nodes[*element as usize].parent != NONE;
        if has_parent {
            self.append_before_sibling(element, child)
        } else {
            self.append(prev_element, child)
        }
    }

    fn append_doctype_to_document(&self, _name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {
        let mut t = self.nodes.borrow_mut();
        let d = t.push(RawData::Other);
        t.append_node(0, d);
    }

    fn get_template_contents(&self, target: &u32) -> u32 {
        self.nodes.borrow().nodes[*target as usize].first_child
    }

    fn same_node(&self, x: &u32, y: &u32) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &u32, new_node: NodeOrText<u32>) {
        let mut t = self.nodes.borrow_mut();
        if let NodeOrText::AppendNode(c) = new_node {
            t.detach(c);
        }
        if t.nodes[*sibling as usize].parent == NONE {
            return;
        }
        match new_node {
            NodeOrText::AppendNode(c) => t.insert_before(*sibling, c),
            NodeOrText::AppendText(text) => {
                let prev = t.nodes[*sibling as usize].prev_sibling;
                if !t.merge_text(prev, &text) {
                    let n = t.push(RawData::Text(text));
                    t.insert_before(*sibling, n);
                }
            }
        }
    }

    fn add_attrs_if_missing(&self, target: &u32, attrs: Vec<Attribute>) {
        let mut t = self.nodes.borrow_mut();
        if let RawData::Element { attrs: have, .. } = &mut t.nodes[*target as usize].data {
            for a in attrs {
                if !have.iter().any(|h| h.name == a.name) {
                    have.push(a);
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &u32) {
        self.nodes.borrow_mut().detach(*target);
    }

    fn reparent_children(&self, node: &u32, new_parent: &u32) {
        let mut t = self.nodes.borrow_mut();
        let mut c = t.nodes[*node as usize].first_child;
        while c != NONE {
            let next = t.nodes[c as usize].next_sibling;
            t.detach(c);
            t.append_node(*new_parent, c);
            c = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(t: &RawTree, i: u32, out: &mut String) {
        let n = &t.nodes[i as usize];
        match &n.data {
            RawData::Element { name, .. } => {
                out.push('<');
                out.push_str(&name.local);
                out.push('>');
            }
            RawData::Text(s) => out.push_str(s),
            _ => {}
        }
        let mut c = n.first_child;
        let mut prev = NONE;
        while c != NONE {
            assert_eq!(t.nodes[c as usize].parent, i, "a child's parent link");
            assert_eq!(
                t.nodes[c as usize].prev_sibling, prev,
                "a child's previous-sibling link"
            );
            outline(t, c, out);
            prev = c;
            c = t.nodes[c as usize].next_sibling;
        }
        assert_eq!(n.last_child, prev, "the last-child link");
        if let RawData::Element { name, .. } = &n.data {
            out.push_str("</");
            out.push_str(&name.local);
            out.push('>');
        }
    }

    /// The tree builder's moves: misnested formatting (the adoption agency), text in a table
    /// (foster parenting) and adjacent text merged into one node.
    #[test]
    fn the_tree_builders_moves_keep_the_links_consistent() {
        let t = parse("<p>a<b>b<i>c</p>d</i>e</b><table>x<tr><td>y</td></tr></table>z<template><p>t</p></template>");
        let mut s = String::new();
        outline(&t, 0, &mut s);
        assert_eq!(
            s,
            "<html><head></head><body><p>a<b>b<i>c</i></b></p><b><i>d</i>e</b>x<table><tbody><tr><td>y</td></tr></tbody></table>z<template><p>t</p></template></body></html>"
        );
    }
}
