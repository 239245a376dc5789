//! The rule layer: recommendation cues found in each sentence's tokens, with the clause around
//! each cue read off the tokens: actor (the subject before the cue, or the addressee of an appeal),
//! action (the verb phrase after it), polarity, hedging, target, instrument and speaker.
//!
//! What is not a recommendation although it has a modal: questions; discourse markers ("it must
//! be remembered"); epistemic and counterfactual uses ("must have known", "must be worried",
//! "should have acted"); another actor's constraint ("to compromise, he must save face"); the noun
//! "need"; "has to do with"; inverted conditionals ("Should talks fail, ..."); predictions and
//! possibilities have no cue at all ("Khamenei might well demand ...").

use super::lexicon::{CueKind, Lexicon, Polarity, Strength};
use crate::document::Document;
pub use crate::document::Recommendation;
use crate::entities::link::Mention;

const BE: &[&str] = &["be", "is", "are", "was", "were", "'s", "’s"];
const SUBORDINATORS: &[&str] = &[
    "if", "unless", "because", "since", "although", "though", "whereas", "which", "who", "but", "so", "before",
    "after", "when", "even", "while", "and", "or", "as",
];
/// Subordinators that end an action (a "while" clause belongs to the action: "insist on X while
/// offering Y").
const ACTION_ENDERS: &[&str] = &[
    "if", "unless", "because", "since", "although", "though", "whereas", "which", "who", "but", "so", "even", "to",
];
const OPENER_WORDS: &[&str] = &[
    "and",
    "but",
    "so",
    "then",
    "now",
    "also",
    "therefore",
    "thus",
    "instead",
    "rather",
    "indeed",
    "first",
    "second",
    "third",
    "finally",
    "meanwhile",
    "still",
    "yet",
    "hence",
    "ultimately",
    "above",
    "all",
    "today",
    "tonight",
];
const OPENER_PHRASES: &[&[&str]] = &[
    &["on", "the", "one", "hand"],
    &["on", "the", "other", "hand"],
    &["on", "the", "other"],
    &["at", "the", "same", "time"],
    &["in", "the", "meantime"],
    &["in", "short"],
    &["in", "turn"],
    &["above", "all"],
    &["for", "now"],
];
/// Words that open an adverbial clause or phrase ending in a comma before the subject.
const ADVERBIAL_OPENERS: &[&str] = &[
    "as",
    "given",
    "if",
    "when",
    "while",
    "on",
    "in",
    "for",
    "after",
    "before",
    "although",
    "because",
    "since",
    "indeed",
    "however",
    "still",
    "yet",
    "but",
    "and",
    "so",
    "thus",
    "therefore",
    "moreover",
    "finally",
    "first",
    "second",
    "third",
    "instead",
    "meanwhile",
    "now",
    "then",
    "today",
    "tonight",
    "ultimately",
    "with",
    "without",
    "by",
    "at",
    "under",
    "despite",
    "whatever",
    "whether",
    "once",
    "until",
    "unless",
    "to",
    "from",
    "over",
    "in",
    "during",
    "like",
    "rather",
    "above",
    "of",
    "that",
    "this",
    "here",
    "there",
    "until",
];
const ADVERBS_BEFORE_CUE: &[&str] = &[
    "also",
    "therefore",
    "thus",
    "now",
    "still",
    "then",
    "simply",
    "really",
    "first",
    "clearly",
    "certainly",
    "surely",
    "instead",
    "too",
    "urgently",
    "ultimately",
    "accordingly",
    "consequently",
    "hence",
    "obviously",
];
const STACKED_MODALS: &[&str] = &["would", "will", "may", "might", "could", "shall", "can", "'ll", "'d"];
/// Verbs whose "that" opens a new clause with its own subject ("declare that women should ...").
const THAT_VERBS: &[&str] = &[
    "declare",
    "say",
    "says",
    "said",
    "ensure",
    "believe",
    "agree",
    "know",
    "insist",
    "insists",
    "recommend",
    "demand",
    "think",
    "argue",
    "argues",
    "suggest",
    "suggests",
    "propose",
    "clear",
    "mean",
    "means",
    "hope",
    "understand",
    "recognize",
    "recognise",
    "realize",
    "realise",
    "remember",
    "require",
    "requires",
    "urge",
    "ask",
    "believes",
    "conclude",
    "concluded",
    "is",
    "was",
];
const HEDGES: &[&str] = &[
    "perhaps",
    "probably",
    "possibly",
    "maybe",
    "arguably",
    "if",
    "unless",
    "provided",
    "assuming",
    "presumably",
];
const DISCOURSE_PARTICIPLES: &[&str] = &[
    "remembered",
    "noted",
    "said",
    "stressed",
    "recalled",
    "admitted",
    "emphasized",
    "emphasised",
    "conceded",
    "acknowledged",
    "understood",
    "borne",
    "pointed",
    "added",
    "clear",
    "recognized",
    "recognised",
    "observed",
    "mentioned",
    "repeated",
    "granted",
    "asked",
    "obvious",
    "evident",
    "apparent",
    "fairly",
    "plain",
    "emphasized",
];
/// "should be seen as ...": how to read something.
const INTERPRETIVE_PARTICIPLES: &[&str] = &[
    "seen",
    "viewed",
    "regarded",
    "understood",
    "read",
    "interpreted",
    "considered",
    "treated",
    "judged",
    "taken",
];
/// "we should all hope ...".
const HOPING: &[&str] = &["hope", "wish", "pray", "expect", "assume", "suppose", "imagine"];
/// "it should be possible to ...".
const POSSIBILITY_AFTER_BE: &[&str] = &[
    "possible",
    "feasible",
    "easy",
    "easier",
    "simple",
    "difficult",
    "hard",
    "impossible",
    "likely",
    "unlikely",
];
/// "it is important to stress that ...": the author comments on the argument.
const DISCOURSE_VERBS: &[&str] = &[
    "stress",
    "note",
    "remember",
    "recall",
    "emphasize",
    "emphasise",
    "point",
    "acknowledge",
    "understand",
    "recognize",
    "recognise",
    "mention",
    "add",
    "say",
    "state",
    "repeat",
    "underline",
    "underscore",
    "realize",
    "realise",
    "bear",
];
const EPISTEMIC_AFTER_BE: &[&str] = &[
    "true",
    "right",
    "wrong",
    "aware",
    "afraid",
    "worried",
    "tempted",
    "tired",
    "pleased",
    "confident",
    "nervous",
    "furious",
    "delighted",
    "frustrated",
    "wondering",
    "thinking",
    "feeling",
    "hoping",
    "the",
    "a",
    "an",
    "that",
    "so",
    "very",
    "quite",
    "somewhere",
    "kidding",
    "joking",
    "mistaken",
    "concerned",
    "anxious",
    "relieved",
];
const IRREGULAR_PARTICIPLES: &[&str] = &[
    "made",
    "done",
    "given",
    "taken",
    "held",
    "kept",
    "put",
    "set",
    "met",
    "brought",
    "sought",
    "told",
    "paid",
    "built",
    "found",
    "left",
    "shown",
    "known",
    "seen",
    "been",
    "gone",
    "thought",
    "felt",
    "had",
    "won",
    "lost",
    "struck",
    "fought",
    "led",
    "sent",
    "spent",
    "understood",
    "borne",
    "stopped",
    "bound",
    "run",
    "begun",
    "drawn",
    "driven",
    "forgiven",
    "hidden",
    "ridden",
    "risen",
    "shaken",
    "spoken",
    "stolen",
    "sworn",
    "thrown",
    "woken",
    "written",
    "frozen",
    "chosen",
    "cut",
    "hit",
    "let",
    "shut",
    "spread",
    "dealt",
    "meant",
    "heard",
    "sold",
];
const PRONOUNS_TO_RESOLVE: &[&str] = &["they", "it", "he", "she", "them"];
const SPEECH_VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "told",
    "tells",
    "argued",
    "argues",
    "warned",
    "warns",
    "declared",
    "declares",
    "insisted",
    "insists",
    "added",
    "adds",
    "wrote",
    "writes",
    "stated",
    "states",
    "according",
    "asked",
    "urged",
    "noted",
    "explained",
    "remarked",
    "put",
];
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "no", "any", "this", "that", "their", "our", "its", "his", "her", "my", "your", "urgent", "real",
    "pressing", "clear",
];

fn lower(s: &str) -> String {
    s.to_lowercase().replace('’', "'")
}

fn is_punct(w: &str) -> bool {
    !w.chars().any(|c| c.is_alphanumeric())
}

fn is_quote(w: &str) -> bool {
    matches!(w, "\"" | "“" | "”" | "«" | "»")
}

fn is_participle(w: &str) -> bool {
    (w.len() > 3 && (w.ends_with("ed") || w.ends_with("en") || w.ends_with("wn"))) || IRREGULAR_PARTICIPLES.contains(&w)
}

/// A sentence's tokens: texts (as written and lower-case) and their index in `doc.tokens`.
struct Sent<'a> {
    id: usize,
    first: usize,
    words: Vec<&'a str>,
    lw: Vec<String>,
}

/// Where a cue was found in a sentence (positions are sentence-relative token indices).
struct CueHit {
    cue: usize,
    start: usize,
    end: usize,
}

/// Every recommendation in a document, in text order.
pub fn find(doc: &Document, token_texts: &[&str], lex: &Lexicon) -> Vec<Recommendation> {
    let mut by_sent: Vec<(usize, usize)> = vec![(usize::MAX, 0); doc.sentences.len()];
    for (i, t) in doc.tokens.iter().enumerate() {
        let e = &mut by_sent[t.sent_id];
        e.0 = e.0.min(i);
        e.1 = e.1.max(i + 1);
    }
    let mut out: Vec<Recommendation> = Vec::new();
    for (sid, &(a, b)) in by_sent.iter().enumerate() {
        if a == usize::MAX {
            continue;
        }
        let words: Vec<&str> = token_texts[a..b].to_vec();
        let s = Sent {
            id: sid,
            first: a,
            lw: words.iter().map(|w| lower(w)).collect(),
            words,
        };
        if s.lw.iter().rev().find(|w| !is_quote(w)).is_some_and(|w| w == "?") {
            continue; // a question
        }
        // Cues not used as recommendations here (an imperative verb inside a clause, an epistemic
        // "must") never cut another cue's clause.
        let mut hits = find_cues(&s, lex);
        hits.retain(|h| !excluded(&s, h, lex));
        let mut clause_starts: Vec<usize> = hits.iter().map(|h| clause_start(&s, h.start)).collect();
        // A clause never reaches back into the previous cue's: "we shouldn't A, we should B".
        for k in 1..hits.len() {
            let prev_end = hits[k - 1].end;
            if clause_starts[k] < prev_end {
                let cut = (prev_end..hits[k].start)
                    .rev()
                    .find(|&i| matches!(s.lw[i].as_str(), "," | "and" | "but" | "or"))
                    .map(|i| i + 1)
                    .unwrap_or(prev_end);
                clause_starts[k] = cut;
            }
        }
        for (k, h) in hits.iter().enumerate() {
            let next_clause = clause_starts.get(k + 1).copied().unwrap_or(s.lw.len());
            if let Some(r) = read_clause(doc, &s, h, clause_starts[k], next_clause, lex, &out) {
                out.push(r);
            }
        }
    }
    out
}

fn find_cues(s: &Sent, lex: &Lexicon) -> Vec<CueHit> {
    let mut hits = Vec::new();
    let mut i = 0;
    'outer: while i < s.lw.len() {
        for (ci, cue) in lex.cues.iter().enumerate() {
            let n = cue.words.len();
            if i + n > s.lw.len() {
                continue;
            }
            let matched = cue.words.iter().enumerate().all(|(k, w)| {
                let t = s.lw[i + k].as_str();
                if w == "{be}" {
                    BE.contains(&t)
                } else if w == "us" && t == "'s" && k > 0 && cue.words[k - 1] == "let" {
                    true // "let's"
                } else {
                    t == w
                }
            });
            if matched {
                if !is_title(s, i, n) {
                    hits.push(CueHit {
                        cue: ci,
                        start: i,
                        end: i + n,
                    });
                }
                i += n;
                continue 'outer;
            }
        }
        i += 1;
    }
    hits
}

/// A cue that is part of a name or title: capitalised in mid-sentence and followed by another
/// capitalised word (Michelle Obama's "Let's Move!" campaign).
fn is_title(s: &Sent, start: usize, n: usize) -> bool {
    let capitalised = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let mid_sentence = s.words[..start].iter().any(|w| w.chars().any(char::is_alphanumeric));
    mid_sentence
        && !matches!(s.lw[start - 1].as_str(), ":" | ";")
        && capitalised(s.words[start])
        && s.words.get(start + n).is_some_and(|w| capitalised(w))
}

/// The first token of the clause a cue at `cue_start` belongs to.
fn clause_start(s: &Sent, cue_start: usize) -> usize {
    let mut k = cue_start;
    while k > 0 {
        let w = s.lw[k - 1].as_str();
        if matches!(w, ";" | ":" | "—" | "–" | "(" | ")") || is_quote(w) {
            return k;
        }
        if w == "that" && k >= 2 && THAT_VERBS.contains(&s.lw[k - 2].as_str()) {
            return k;
        }
        if SUBORDINATORS.contains(&w) && (k == 1 || s.lw[k - 2] == ",") {
            // ", while, on the other, they must ..." starts at "while".
            return k - 1;
        }
        k -= 1;
    }
    0
}

/// True when the cue is not used as a recommendation here.
fn excluded(s: &Sent, h: &CueHit, lex: &Lexicon) -> bool {
    let cue = &lex.cues[h.cue];
    let lw = &s.lw;
    let prev = |n: usize| h.start.checked_sub(n).map(|i| lw[i].as_str()).unwrap_or("");
    let next = |n: usize| lw.get(h.end + n - 1).map(|w| w.as_str()).unwrap_or("");
    let first = cue.words[0].as_str();
    // The noun: "the need to", "no need to"; "has to do with".
    // "There is a need to show resolve" is the author's call, the noun in an existential.
    let existential = (2..=4).any(|n| prev(n) == "there" && (1..n).any(|m| BE.contains(&prev(m))));
    if matches!(first, "need" | "needs") && DETERMINERS.contains(&prev(1)) && !existential {
        return true;
    }
    if matches!(first, "has" | "have") && next(1) == "do" && next(2) == "with" {
        return true;
    }
    // "do not have to", "don't need to", "need not".
    if matches!(prev(1), "not" | "n't" | "never") && matches!(first, "have" | "has" | "need" | "needs") {
        return true;
    }
    // Epistemic and counterfactual: "must have known", "should have acted".
    if next(1) == "have" && is_participle(next(2)) {
        return true;
    }
    // Epistemic "must be worried", "must be thinking"; discourse "it must be remembered".
    if BE.contains(&next(1)) {
        let after = next(2);
        if first == "must" && (EPISTEMIC_AFTER_BE.contains(&after) || (after.ends_with("ing") && after.len() > 4)) {
            return true;
        }
        if prev(1) == "it" && DISCOURSE_PARTICIPLES.contains(&after) {
            return true;
        }
    }
    // Interpretive: "should be seen as", "must be understood as" say how to read something, not
    // what to do.
    if matches!(first, "should" | "must" | "ought")
        && BE.contains(&next(1))
        && INTERPRETIVE_PARTICIPLES.contains(&next(2))
        && next(3) == "as"
    {
        return true;
    }
    // Hoping and wishing: "we should all hope that", "one must hope".
    if matches!(first, "should" | "must")
        && (HOPING.contains(&next(1)) || (next(1) == "all" && HOPING.contains(&next(2))))
    {
        return true;
    }
    // Possibility and ease: "it should be possible to", "it should be easy to".
    if prev(1) == "it" && BE.contains(&next(1)) && POSSIBILITY_AFTER_BE.contains(&next(2)) {
        return true;
    }
    // Discourse: "it is important to stress that", "it is worth noting".
    if cue.kind == CueKind::Impersonal && DISCOURSE_VERBS.contains(&next(1)) {
        return true;
    }
    // Another actor's constraint: "the bill would require sixty votes".
    if matches!(
        cue.words.last().map(String::as_str),
        Some("require" | "requires" | "required")
    ) && is_number_word(next(1))
    {
        return true;
    }
    // Predictions: "they will have to make the case", "we'll need to".
    if matches!(prev(1), "will" | "'ll") && matches!(first, "have" | "has" | "need" | "needs") {
        return true;
    }
    // Inverted conditional: "Should talks fail, ...".
    if first == "should" && h.start == 0 {
        return true;
    }
    // Imperatives open their sentence or clause (after openers such as "So," or "First,").
    if cue.kind == CueKind::Imperative {
        let opener = |w: &String| is_punct(w) || is_quote(w) || OPENER_WORDS.contains(&w.as_str());
        // A vocative may come first: "Congress, give these Americans that chance."
        let vocative = h.start >= 2
            && prev(1) == ","
            && h.start <= 6
            && s.words[..h.start - 1].iter().all(|w| {
                w.chars().next().is_some_and(|c| c.is_uppercase())
                    || w.chars().all(|c| !c.is_alphanumeric())
                    || matches!(*w, "and" | "of" | "the")
            });
        // After a conditional clause: "If the Europeans want a deal, let them press Tehran."
        let after_condition = prev(1) == "," && matches!(lw[0].as_str(), "if" | "unless" | "when" | "until" | "before");
        let opens =
            lw[..h.start].iter().all(opener) || matches!(prev(1), ":" | ";" | "—" | "–") || vocative || after_condition;
        let capital = s.words[h.start].chars().next().is_some_and(char::is_uppercase);
        return !(opens && (capital || vocative || after_condition || matches!(prev(1), ":" | ";" | "—" | "–")));
    }
    // Judgements need the action they judge before them, in the same clause.
    if cue.kind == CueKind::Judgement {
        return h.start == 0 || is_punct(&lw[h.start - 1]);
    }
    // Appeals need an addressee and an infinitive: "call on Europe to act", "urge you to".
    if cue.kind == CueKind::Appeal {
        let to = lw[h.end..].iter().take(10).position(|w| w == "to" || w == "that");
        // The speaker is the cue's own first word ("we want", "it falls to") or just before it.
        let self_named = matches!(first, "i" | "we" | "it" | "my" | "i'm" | "i'd");
        if !(self_named
            || matches!(
                prev(1),
                "i" | "we" | "hereby" | "strongly" | "therefore" | "also" | "again" | "now" | "'m" | "am" | "are"
            ))
            || to.is_none_or(|p| p == 0)
        {
            return true;
        }
    }
    false
}

fn is_number_word(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_digit())
        || matches!(
            w,
            "two"
                | "three"
                | "four"
                | "five"
                | "six"
                | "seven"
                | "eight"
                | "nine"
                | "ten"
                | "twelve"
                | "twenty"
                | "thirty"
                | "forty"
                | "fifty"
                | "sixty"
                | "seventy"
                | "hundred"
                | "hundreds"
                | "thousands"
                | "millions"
                | "billions"
        )
}

fn strip_subject(s: &Sent, mut a: usize, mut b: usize) -> (usize, usize) {
    // An adverbial clause or phrase before the subject, closed by a comma.
    if a < b && ADVERBIAL_OPENERS.contains(&s.lw[a].as_str()) {
        if let Some(c) = s.lw[a..b].iter().position(|w| w == ",") {
            a += c + 1;
        }
    }
    loop {
        let before = (a, b);
        while a < b && (is_punct(&s.lw[a]) || OPENER_WORDS.contains(&s.lw[a].as_str())) {
            a += 1;
        }
        for p in OPENER_PHRASES {
            if b - a >= p.len() && s.lw[a..a + p.len()].iter().zip(p.iter()).all(|(x, y)| x == y) {
                a += p.len();
            }
        }
        while b > a && (is_punct(&s.lw[b - 1]) || ADVERBS_BEFORE_CUE.contains(&s.lw[b - 1].as_str())) {
            b -= 1;
        }
        if (a, b) == before {
            return (a, b);
        }
    }
}

fn token_texts_at(doc: &Document, i: usize) -> &str {
    doc.slice(doc.tokens[i].span)
}

fn text_of(doc: &Document, s: &Sent, a: usize, b: usize) -> String {
    if a >= b {
        return String::new();
    }
    let start = doc.tokens[s.first + a].span.start;
    let end = doc.tokens[s.first + b - 1].span.end;
    doc.slice(crate::document::Span::new(start, end)).to_string()
}

fn mentions_in<'d>(doc: &'d Document, s: &Sent, a: usize, b: usize) -> impl Iterator<Item = &'d Mention> + 'd {
    let (ga, gb) = (s.first + a, s.first + b);
    doc.mentions
        .iter()
        .filter(move |m| m.token_start >= ga && m.token_end <= gb && m.token_start < m.token_end)
}

#[allow(clippy::too_many_arguments)]
fn read_clause(
    doc: &Document,
    s: &Sent,
    h: &CueHit,
    clause: usize,
    next_clause: usize,
    lex: &Lexicon,
    earlier: &[Recommendation],
) -> Option<Recommendation> {
    if excluded(s, h, lex) {
        return None;
    }
    let cue = &lex.cues[h.cue];
    let lw = &s.lw;
    let n = lw.len();
    // Stacked modal ("would have to") and negation ("must not") join the modality.
    let mut cue_a = h.start;
    if cue_a > clause && STACKED_MODALS.contains(&lw[cue_a - 1].as_str()) {
        cue_a -= 1;
    }
    let mut cue_b = h.end;
    let mut polarity = cue.polarity;
    if cue_b < n && matches!(lw[cue_b].as_str(), "not" | "never" | "n't") {
        cue_b += 1;
        polarity = Polarity::Refrain;
    }
    // The action runs to the end of the clause.
    let mut end = next_clause.max(cue_b).min(n);
    for k in cue_b..end {
        let w = lw[k].as_str();
        let after_comma = k > 0 && lw[k - 1] == ",";
        if matches!(w, ";" | ":" | "—" | "–" | "?" | "!") || (after_comma && ACTION_ENDERS.contains(&w)) {
            end = k;
            break;
        }
        if is_quote(w) && k > cue_b {
            end = k;
            break;
        }
    }
    // Actor and action by the cue's kind.
    let (mut subj_a, mut subj_b) = (cue_a, cue_a);
    let mut act_a = cue_b;
    match cue.kind {
        CueKind::Modal => {
            (subj_a, subj_b) = strip_subject(s, clause, cue_a);
            // Another actor's constraint: "To compromise, he must save face."
            let mut lead = clause;
            while lead < cue_a && (is_punct(&lw[lead]) || OPENER_WORDS.contains(&lw[lead].as_str())) {
                lead += 1;
            }
            let purpose = lw.get(lead).is_some_and(|w| w == "to")
                || (lw.get(lead).is_some_and(|w| w == "in") && lw.get(lead + 2).is_some_and(|w| w == "to"));
            if purpose && subj_b > subj_a {
                let last = lw[subj_b - 1].as_str();
                let subj_is_person = matches!(last, "he" | "she")
                    || mentions_in(doc, s, subj_a, subj_b).any(|m| m.label == "PER" && m.token_end == s.first + subj_b);
                if subj_is_person {
                    return None;
                }
            }
        }
        CueKind::Impersonal => {
            if cue.words.last().is_some_and(|w| w == "for") {
                // "it is time for Washington to act"
                if let Some(p) = lw[cue_b..end].iter().position(|w| w == "to") {
                    (subj_a, subj_b) = (cue_b, cue_b + p);
                    act_a = cue_b + p + 1;
                }
            }
        }
        CueKind::Imperative => {
            // The verb is the cue unless the cue is a marker ("do not", "let", "please").
            if !matches!(cue.words[0].as_str(), "do" | "don't" | "never" | "let" | "please") {
                act_a = h.start;
            }
        }
        CueKind::Judgement => {
            // The action is what comes before the cue in its clause.
            let (a, b) = strip_subject(s, clause, cue_a);
            if b <= a {
                return None;
            }
            let judged = text_of(doc, s, a, b);
            let action = judged.clone();
            let modality = text_of(doc, s, cue_a, cue_b.max(h.end));
            let clause_words: Vec<String> = lw[a..end.max(b)].to_vec();
            let instruments: Vec<String> = lex
                .instruments_in(&clause_words)
                .into_iter()
                .map(|(k, _)| lex.instruments[k].id.clone())
                .collect();
            let (target, target_id) = mentions_in(doc, s, a, b)
                .next()
                .map(|m| (m.entity_name.clone(), m.entity_id.clone()))
                .unwrap_or_default();
            let hedged = lw[clause..end.max(h.end)].iter().any(|w| HEDGES.contains(&w.as_str()));
            let rule_score = if hedged { 0.8 * 0.8 } else { 0.8 };
            return Some(Recommendation {
                sent_id: s.id,
                start: doc.tokens[s.first + a].span.start,
                end: doc.tokens[s.first + end.max(h.end) - 1].span.end,
                actor: String::new(),
                actor_raw: String::new(),
                actor_id: String::new(),
                modality,
                strength: cue.strength,
                polarity,
                action,
                target,
                target_id,
                instrument: instruments.first().cloned().unwrap_or_else(|| "other".into()),
                instruments,
                hedged,
                speaker: speaker_of(doc, s, h.start),
                rule_score,
                score: rule_score,
                cue_kind: cue.kind,
                cue_token: s.first + h.start,
            });
        }
        CueKind::Appeal => {
            let p = lw[cue_b..end].iter().position(|w| w == "to" || w == "that")?;
            (subj_a, subj_b) = (cue_b, cue_b + p);
            act_a = cue_b + p + 1;
            if lw[subj_a..subj_b].first().is_some_and(|w| w == "on" || w == "upon") {
                subj_a += 1;
            }
        }
    }
    while end > act_a
        && (is_punct(&lw[end - 1]) || ACTION_ENDERS.contains(&lw[end - 1].as_str()) || lw[end - 1] == "while")
    {
        end -= 1;
    }
    if end <= act_a {
        return None; // a cue with nothing to do
    }
    let action = text_of(doc, s, act_a, end);
    let mut actor_raw = text_of(doc, s, subj_a, subj_b);
    let mut actor_id = mentions_in(doc, s, subj_a, subj_b)
        .next()
        .map(|m| m.entity_id.clone())
        .unwrap_or_default();
    let mut target = String::new();
    let mut target_id = String::new();
    // A passive without an agent names what is acted on, not who acts.
    let passive = BE.contains(&lw[act_a].as_str()) && lw.get(act_a + 1).is_some_and(|w| is_participle(w));
    if passive && cue.kind == CueKind::Modal {
        target = actor_raw.clone();
        target_id = actor_id.clone();
        match lw[act_a..end].iter().position(|w| w == "by") {
            Some(p) if p > 1 => {
                let (ba, bb) = (act_a + p + 1, end);
                actor_raw = text_of(doc, s, ba, bb);
                actor_id = mentions_in(doc, s, ba, bb)
                    .next()
                    .map(|m| m.entity_id.clone())
                    .unwrap_or_default();
            }
            _ => {
                actor_raw = String::new();
                actor_id = String::new();
            }
        }
    } else if let Some(m) = mentions_in(doc, s, act_a, end).next() {
        target = m.entity_name.clone();
        target_id = m.entity_id.clone();
    }
    // "they", "it": the actor named before.
    let mut actor = actor_raw.clone();
    if cue.words.first().is_some_and(|w| w == "let") {
        // "Let us ...", "let's ...": the speaker and audience together.
        actor_raw = text_of(doc, s, h.start + 1, h.end);
        actor = "we".into();
    }
    if PRONOUNS_TO_RESOLVE.contains(&lower(&actor_raw).as_str()) {
        let pron = lower(&actor_raw);
        let here = s.first + subj_a;
        // The nearest earlier actor: a recommendation's (within five sentences), or an entity
        // that opens its sentence as the subject ("The European Union has been cautious. It
        // should ..."); persons for "he"/"she", organisations and places otherwise.
        let want_person = pron == "he" || pron == "she";
        let from_rec = earlier
            .iter()
            .rev()
            .take_while(|r| r.sent_id + 5 >= s.id)
            .find(|r| !r.actor.is_empty() && !PRONOUNS_TO_RESOLVE.contains(&lower(&r.actor_raw).as_str()))
            .map(|r| (r.start, r.actor.clone(), r.actor_id.clone()));
        let sentence_first = |sent: usize| doc.tokens.partition_point(|t| t.sent_id < sent);
        let from_subject = doc
            .mentions
            .iter()
            .rev()
            .filter(|m| m.token_start < here && !m.demonym && m.sent_id + 5 >= s.id)
            .filter(|m| {
                if want_person {
                    m.label == "PER"
                } else {
                    m.label == "ORG" || m.label == "LOC"
                }
            })
            .find(|m| {
                let first = sentence_first(m.sent_id);
                let lead = (first..m.token_start).all(|i| {
                    matches!(
                        lower(token_texts_at(doc, i)).as_str(),
                        "the" | "," | "and" | "but" | "so"
                    )
                });
                lead
            })
            .map(|m| (m.start, m.entity_name.clone(), m.entity_id.clone()));
        let antecedent = match (from_rec, from_subject) {
            (Some(r), Some(m)) => Some(if m.0 > r.0 { m } else { r }),
            (r, m) => r.or(m),
        }
        .map(|(_, a, id)| (a, id));
        if let Some((a, id)) = antecedent {
            actor = a;
            actor_id = id;
        }
    }
    // Instruments: the first in the action decides; all in the clause are listed.
    // A copular recommendation ("a guarantee ... would have to be a key component") is about
    // its subject, so the subject's instrument comes first.
    let copular = BE.contains(&lw[act_a].as_str()) && !passive;
    let mut act_words: Vec<String> = Vec::new();
    if copular {
        act_words.extend_from_slice(&lw[subj_a..subj_b]);
    }
    act_words.extend_from_slice(&lw[act_a..end]);
    let clause_words: Vec<String> = lw[act_a..next_clause.max(end).min(n)].to_vec();
    let mut instruments: Vec<String> = lex
        .instruments_in(&act_words)
        .into_iter()
        .map(|(k, _)| lex.instruments[k].id.clone())
        .collect();
    for (k, _) in lex.instruments_in(&clause_words) {
        let id = &lex.instruments[k].id;
        if !instruments.contains(id) {
            instruments.push(id.clone());
        }
    }
    let instrument = instruments.first().cloned().unwrap_or_else(|| "other".into());
    // Hedged: a stacked "would/could/might/may", a hedge word in the clause, or an "if" clause
    // that opens the sentence.
    let hedged = (cue_a < h.start && matches!(lw[cue_a].as_str(), "would" | "could" | "might" | "may"))
        || lw[clause..end].iter().any(|w| HEDGES.contains(&w.as_str()))
        || (matches!(lw[0].as_str(), "if" | "unless") && lw[..h.start].iter().any(|w| w == ","));
    let speaker = speaker_of(doc, s, h.start);
    let strength = cue.strength;
    let mut rule_score = match strength {
        Strength::Strong => 0.9,
        Strength::Moderate => 0.8,
        Strength::Weak => 0.6,
    };
    if hedged {
        rule_score *= 0.8;
    }
    let span_a = if subj_b > subj_a && subj_a < cue_a {
        subj_a
    } else {
        cue_a
    };
    let start = doc.tokens[s.first + span_a].span.start;
    let end_char = doc.tokens[s.first + end - 1].span.end;
    Some(Recommendation {
        sent_id: s.id,
        start,
        end: end_char,
        actor,
        actor_raw,
        actor_id,
        modality: text_of(doc, s, cue_a, cue_b),
        strength,
        polarity,
        action,
        target,
        target_id,
        instrument,
        instruments,
        hedged,
        speaker,
        rule_score,
        score: rule_score,
        cue_kind: cue.kind,
        cue_token: s.first + h.start,
    })
}

/// "author", or the person a quotation around token `at` is attributed to.
fn speaker_of(doc: &Document, s: &Sent, at: usize) -> String {
    let mut inside = false;
    let mut open_at = 0;
    for (k, w) in s.words[..at].iter().enumerate() {
        match *w {
            "“" => {
                inside = true;
                open_at = k;
            }
            "”" => inside = false,
            "\"" => {
                inside = !inside;
                open_at = k;
            }
            _ => {}
        }
    }
    if !inside {
        return "author".into();
    }
    let close = s.words[at..]
        .iter()
        .position(|w| *w == "”" || *w == "\"")
        .map(|p| at + p)
        .unwrap_or(s.words.len());
    // A person named outside the quotation, nearest a speech verb; else in the sentence before.
    let outside: Vec<&Mention> = doc
        .mentions
        .iter()
        .filter(|m| m.sent_id == s.id && m.label == "PER")
        .filter(|m| {
            let k = m.token_start - s.first;
            k < open_at || k > close
        })
        .collect();
    let speech_at: Vec<usize> =
        s.lw.iter()
            .enumerate()
            .filter(|(k, w)| (*k < open_at || *k > close) && SPEECH_VERBS.contains(&w.as_str()))
            .map(|(k, _)| k)
            .collect();
    let best = outside.iter().min_by_key(|m| {
        let k = m.token_start - s.first;
        speech_at.iter().map(|&v| v.abs_diff(k)).min().unwrap_or(usize::MAX)
    });
    if let Some(m) = best {
        return m.entity_name.clone();
    }
    doc.mentions
        .iter()
        .rev()
        .find(|m| m.sent_id + 1 == s.id && m.label == "PER")
        .map(|m| m.entity_name.clone())
        .unwrap_or_else(|| "(unattributed quotation)".into())
}
