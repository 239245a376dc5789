//! Policy recommendations through the real binary: rules, the shared encoder's classifier and
//! entity linking, on the reference document and on small fixtures.

use crate::common::*;
use std::collections::BTreeMap;

type Row = BTreeMap<String, Option<String>>;

fn rows(out: &std::path::Path) -> Vec<Row> {
    let df = parquet(out, "recommendations");
    let names: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
    (0..df.height())
        .map(|i| {
            names
                .iter()
                .map(|c| {
                    let v = df.column(c).unwrap().get(i).unwrap();
                    let s = match v {
                        polars::prelude::AnyValue::Null => None,
                        polars::prelude::AnyValue::String(s) => Some(s.to_string()),
                        polars::prelude::AnyValue::StringOwned(s) => Some(s.to_string()),
                        other => Some(other.to_string()),
                    };
                    (c.clone(), s)
                })
                .collect()
        })
        .collect()
}

fn get<'a>(r: &'a Row, c: &str) -> &'a str {
    r.get(c).and_then(|v| v.as_deref()).unwrap_or("")
}

/// The recommendation whose action starts with `action`.
fn by_action<'a>(rows: &'a [Row], action: &str) -> &'a Row {
    rows.iter()
        .find(|r| get(r, "action").starts_with(action))
        .unwrap_or_else(|| {
            let all: Vec<&str> = rows.iter().map(|r| get(r, "action")).collect();
            panic!("no recommendation whose action starts with {action:?}; found {all:#?}")
        })
}

#[test]
fn reference_document_recommendations_and_non_recommendations() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze_full(&[&reference(), "--no-stance"], dir.path());
    assert_eq!(code, 0, "{err}");
    let rows = rows(dir.path());

    let stick = by_action(&rows, "stick to a dual-track policy");
    assert_eq!(get(stick, "actor"), "the United States and its allies");
    assert_eq!(get(stick, "modality"), "must");
    assert_eq!(get(stick, "strength"), "strong");
    assert_eq!(get(stick, "hedged"), "false");
    assert_eq!(get(stick, "speaker"), "author");

    // "they" resolved to the actor named before; the instrument from the action.
    let intensify = by_action(&rows, "intensify the political pressure and economic sanctions on Iran");
    assert_eq!(get(intensify, "actor_raw"), "they");
    assert_eq!(get(intensify, "actor"), "the United States and its allies");
    assert_eq!(get(intensify, "instrument"), "sanctions");
    assert_eq!(get(intensify, "target"), "Iran");
    assert_eq!(get(intensify, "polarity"), "act");

    let negotiate = by_action(&rows, "negotiate seriously");
    assert_eq!(get(negotiate, "actor"), "the United States and its allies");
    assert_eq!(get(negotiate, "instrument"), "negotiation");

    let insist = by_action(&rows, "insist on transparency");
    assert_eq!(get(insist, "actor_raw"), "They");
    assert_eq!(get(insist, "actor"), "the United States and its allies");
    assert_eq!(get(insist, "modality"), "should");
    assert_eq!(get(insist, "strength"), "moderate");
    assert_eq!(get(insist, "instrument"), "verification");
    let all = get(insist, "instruments");
    assert!(
        all.contains("sanctions_relief"),
        "the easing of sanctions is listed: {all}"
    );
    assert!(get(insist, "action").contains("easing of sanctions"));

    // The hedged "a guarantee ... would have to be a key component of a nuclear compromise": the
    // rules read it (below, rules only), but the model trained on op-eds vetoes it (probability
    // 0.08, under its threshold 0.16): a known miss, issue 12.
    assert!(
        rows.iter().all(|r| !get(r, "action").contains("key component")),
        "the known miss is found again: update this test and the model card"
    );
    let rules_dir = tempdir().unwrap();
    let (code, err) = analyze(&[&reference()], rules_dir.path());
    assert_eq!(code, 0, "{err}");
    let rule_rows = self::rows(rules_dir.path());
    let guarantee = by_action(&rule_rows, "be a key component of a nuclear compromise");
    assert!(get(guarantee, "actor").starts_with("a guarantee that the West"));
    assert_eq!(get(guarantee, "modality"), "would have to");
    assert_eq!(get(guarantee, "instrument"), "security_guarantees");
    assert_eq!(get(guarantee, "hedged"), "true");

    // A passive without an agent: no actor; what is acted on is the target.
    let resolved = by_action(&rows, "be resolved through negotiations");
    assert_eq!(get(resolved, "actor"), "");
    assert_eq!(get(resolved, "target"), "The nuclear crisis");
    assert_eq!(get(resolved, "instrument"), "negotiation");
    assert!(
        !get(resolved, "action").contains("to borrow"),
        "the aside is not part of the action"
    );

    let smile = by_action(
        &rows,
        "allow the Iranians to come out of talks with a smile on their face",
    );
    assert_eq!(get(smile, "actor"), "A successful strategy");
    assert_eq!(get(smile, "instrument"), "negotiation");

    // Offsets slice the clean text: the recommendation runs from actor to action.
    let texts = parquet(dir.path(), "texts");
    let text = strs(&texts, "text")[0].clone().unwrap();
    let chars: Vec<char> = text.chars().collect();
    let (s, e): (usize, usize) = (get(stick, "start").parse().unwrap(), get(stick, "end").parse().unwrap());
    assert_eq!(
        chars[s..e].iter().collect::<String>(),
        "the United States and its allies must stick to a dual-track policy"
    );

    // Not recommendations: a discourse marker, another actor's constraint (twice: heading and
    // body), a possibility.
    for r in &rows {
        let sentence = get(r, "text");
        assert!(!sentence.contains("it must be remembered"), "discourse marker: {r:?}");
        assert!(!sentence.contains("he must save face"), "Khamenei's constraint: {r:?}");
        assert!(!sentence.contains("might well demand"), "a possibility: {r:?}");
        let score: f64 = get(r, "score").parse().unwrap();
        assert!((0.0..=1.0).contains(&score));
    }
    assert_eq!(rows.len(), 6, "{rows:#?}");
}

#[test]
fn quotes_pronouns_and_modal_non_recommendations() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze_full(&[&fixture("recommend/quotes.md"), "--no-stance"], dir.path());
    assert_eq!(code, 0, "{err}");
    let rows = rows(dir.path());

    let options = by_action(&rows, "keep every option on the table");
    assert_eq!(get(options, "speaker"), "John McCain");
    assert_eq!(get(options, "actor"), "We");
    let diplomacy = by_action(&rows, "give diplomacy a chance");
    assert_eq!(get(diplomacy, "speaker"), "Dianne Feinstein");
    assert_eq!(get(diplomacy, "actor"), "Washington");
    assert_eq!(get(diplomacy, "instrument"), "negotiation");

    // "It" is the European Union, named in the sentence before.
    let coordinate = by_action(&rows, "coordinate closely with its allies");
    assert_eq!(get(coordinate, "actor_raw"), "It");
    assert_eq!(get(coordinate, "actor"), "European Union");
    assert_eq!(get(coordinate, "speaker"), "author");
    assert_eq!(get(coordinate, "instrument"), "alliances");

    // Inverted conditionals, questions, epistemic must: none of them.
    assert_eq!(rows.len(), 3, "{rows:#?}");
}

#[test]
fn user_cues_and_instruments_extend_the_rules() {
    let dir = tempdir().unwrap();
    let extra = dir.path().join("extra.toml");
    std::fs::write(
        &extra,
        "[[instrument]]\nid = \"cyber\"\nname = \"Cyber operations\"\ncues = [\"cyber*\", \"sabotage\"]\n\n\
         [[cue]]\nphrase = \"is well advised to\"\nstrength = \"weak\"\npolarity = \"act\"\nkind = \"modal\"\n",
    )
    .unwrap();
    let input = dir.path().join("op-ed.txt");
    std::fs::write(
        &input,
        "Israel is well advised to expand its cyber campaign against the centrifuges.\n\n\
         The Pentagon must not rule out sabotage.\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, err) = analyze(
        &[
            &input.display().to_string(),
            "--cues",
            &extra.display().to_string(),
            "--instruments",
            &extra.display().to_string(),
        ],
        &out,
    );
    assert_eq!(code, 0, "{err}");
    let rows = rows(&out);
    let cyber = by_action(&rows, "expand its cyber campaign");
    assert_eq!(get(cyber, "actor"), "Israel");
    assert_eq!(get(cyber, "strength"), "weak");
    assert_eq!(get(cyber, "instrument"), "cyber");
    let sabotage = by_action(&rows, "rule out sabotage");
    assert_eq!(get(sabotage, "polarity"), "refrain");
    assert_eq!(get(sabotage, "modality"), "must not");
    assert_eq!(get(sabotage, "instrument"), "cyber");
}

/// Regression: Michelle Obama's "Let's Move!" (a programme's name) was read as a recommendation.
#[test]
fn names_with_cue_words_are_not_recommendations() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze_full(&[&fixture("recommend/titles.md"), "--no-stance"], dir.path());
    assert_eq!(code, 0, "{err}");
    let rows = rows(dir.path());
    assert!(rows.iter().all(|r| !get(r, "text").contains("Let's Move")), "{rows:#?}");
    let expand = by_action(&rows, "expand that partnership to every school");
    assert_eq!(get(expand, "modality").to_lowercase(), "let us");
    assert_eq!(get(expand, "polarity"), "act");
    by_action(&rows, "pass the bill");
    assert_eq!(rows.len(), 2, "{rows:#?}");
}

/// Issue 12's kinds, in sentences of our own: prescriptions op-eds make without a modal, and
/// "should"/"need" sentences that prescribe nothing.
#[test]
fn op_ed_prescriptions_without_modals_and_modal_non_recommendations() {
    let dir = tempdir().unwrap();
    let (code, err) = analyze_full(&[&fixture("recommend/genre-kinds.md"), "--no-stance"], dir.path());
    assert_eq!(code, 0, "{err}");
    let rows = rows(dir.path());
    let found = |part: &str| rows.iter().any(|r| get(r, "text").contains(part));
    for miss in [
        "We need a long-term strategy",               // "need" with a noun object
        "There is a need to show resolve",            // the noun "need"
        "will require more patience",                 // "will require"
        "deserves a firmer answer",                   // "deserves"
        "It would be a grave error",                  // a judgement without a modal
        "There are sensible steps Congress can take", // steps an actor can take
        "let them press Tehran",                      // "let them", after a condition
    ] {
        assert!(found(miss), "{miss:?} is a recommendation: {rows:#?}");
    }
    for decoy in [
        "should be seen as",          // interpretive
        "We should all hope",         // hoping
        "It should be possible",      // possibility
        "will have to make the case", // prediction
        "would require sixty votes",  // another actor's constraint
        "It is important to stress",  // discourse
    ] {
        assert!(!found(decoy), "{decoy:?} is not a recommendation: {rows:#?}");
    }
    assert_eq!(rows.len(), 7, "{rows:#?}");
}
