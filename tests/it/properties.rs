//! Property tests: texts and files built at random (a fixed seed per case, so a failure names the
//! seed that reproduces it) from the pieces real commentary and real pages are made of, read by
//! every reader; `rhetor::fuzzing` checks the promises (offsets slice the clean text, sentences
//! ordered, disjoint and inside paragraphs, tokens inside their sentence, the same bytes give the
//! same documents). The fuzz targets in `fuzz/` run the same checks on bytes libFuzzer chooses;
//! every input they found a fault with is replayed here from `tests/fixtures/fuzz/`.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rhetor::fuzzing;

/// Pieces of text: words, abbreviations, numbers, punctuation, quotes, brackets, white space of
/// every kind, paragraph breaks, scripts other than Latin, combining marks and emoji.
const PIECES: &[&str] = &[
    "Iran",
    "sanctions",
    "the",
    "Mr.",
    "Dr.",
    "U.S.",
    "e.g.",
    "No.",
    "3.5",
    "1,000",
    "2012",
    "-",
    "—",
    "–",
    ",",
    ".",
    "!",
    "?",
    "...",
    "…",
    ";",
    ":",
    "\"",
    "“",
    "”",
    "'",
    "’",
    "(",
    ")",
    "[",
    "]",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\u{a0}",
    "\u{2028}",
    "\u{200b}",
    "خامنه‌ای",
    "Тегеран",
    "中国",
    "é",
    "e\u{301}",
    "🇮🇷",
    "👍🏽",
    "n't",
    "'s",
    "https://example.com/a?b=c",
    "@user",
    "#tag",
    "=1+1",
    "*",
    "_",
    "`",
    "#",
    ">",
    "|",
    "\\",
    "&amp;",
    "<",
    "&",
    "\u{0}",
    "\u{feff}",
];

fn random_text(rng: &mut ChaCha8Rng, max_pieces: usize) -> String {
    let n = rng.random_range(0..=max_pieces);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(PIECES.choose(rng).unwrap());
        if rng.random_bool(0.6) {
            s.push(' ');
        }
    }
    s
}

/// Markup pieces for pages and files of records.
const MARKUP: &[&str] = &[
    "<p>",
    "</p>",
    "<div class=\"story\">",
    "</div>",
    "<article>",
    "</article>",
    "<br>",
    "<h1>",
    "</h1>",
    "<li>",
    "<ul>",
    "</ul>",
    "<a href=\"/author/x\">",
    "</a>",
    "<script>",
    "</script>",
    "<style>",
    "<!--",
    "-->",
    "<svg>",
    "</svg>",
    "<title>",
    "</title>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<b>",
    "<i>",
    "</b>",
    "<meta name=\"author\" content=\"",
    "\">",
    "<p data-x=\"1>2\" class=",
    "<noscript>",
    "<![CDATA[",
    "<template>",
    "<textarea>",
    "</textarea>",
    "&nbsp;",
    "&#x1F600;",
    "&#0;",
    "<",
    ">",
    "\"",
    "'",
    "=",
];

fn random_page(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.random_range(0..60) {
        if rng.random_bool(0.4) {
            s.push_str(MARKUP.choose(rng).unwrap());
        } else {
            s.push_str(&random_text(rng, 12));
        }
    }
    s
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn random_jsonl(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.random_range(0..6) {
        match rng.random_range(0..5) {
            0 => s.push_str(&random_text(rng, 8)),
            1 => s.push_str("{}"),
            _ => s.push_str(&format!(
                "{{\"id\": {}, \"title\": {}, \"author\": {}, \"date\": {}, \"text\": {}}}",
                json_string(&random_text(rng, 2)),
                json_string(&random_text(rng, 4)),
                json_string(&random_text(rng, 3)),
                json_string(["2012-05-14", "May 2012", "", "14.05.2012"].choose(rng).unwrap()),
                json_string(&random_text(rng, 80)),
            )),
        }
        s.push('\n');
    }
    s
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn random_csv(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::from("id,author,date,text\n");
    for _ in 0..rng.random_range(0..6) {
        let fields = [
            csv_field(&random_text(rng, 2)),
            csv_field(&random_text(rng, 3)),
            csv_field(["2012-05-14", "", "May 14, 2012"].choose(rng).unwrap()),
            csv_field(&random_text(rng, 80)),
        ];
        let n = if rng.random_bool(0.1) { 3 } else { 4 };
        s.push_str(&fields[..n].join(","));
        s.push('\n');
    }
    s
}

fn random_markdown(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::new();
    if rng.random_bool(0.5) {
        s.push_str(&format!(
            "---\ntitle: {}\nauthor: {}\n---\n",
            random_text(rng, 4),
            random_text(rng, 2)
        ));
    }
    for _ in 0..rng.random_range(0..12) {
        let prefix = [
            "",
            "# ",
            "## ",
            "- ",
            "> ",
            "1. ",
            "```\n",
            "[link](/x) ",
            "![img](a.png)",
        ]
        .choose(rng)
        .unwrap();
        s.push_str(prefix);
        s.push_str(&random_text(rng, 30));
        s.push_str("\n\n");
    }
    s
}

const CASES: u64 = 300;

#[test]
fn segmentation_keeps_its_promises_on_any_text() {
    for seed in 0..CASES * 3 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let text = random_text(&mut rng, 200);
        let outcome = std::panic::catch_unwind(|| fuzzing::check_text(&text));
        assert!(outcome.is_ok(), "seed {seed}: {text:?}");
    }
}

#[test]
fn every_reader_keeps_its_promises_on_random_files() {
    for seed in 0..CASES {
        let mut rng = ChaCha8Rng::seed_from_u64(1_000_000 + seed);
        let files = [
            ("p.txt", random_text(&mut rng, 300)),
            ("p.md", random_markdown(&mut rng)),
            ("p.html", random_page(&mut rng)),
            ("p.jsonl", random_jsonl(&mut rng)),
            ("p.csv", random_csv(&mut rng)),
        ];
        for (name, content) in &files {
            let outcome = std::panic::catch_unwind(|| fuzzing::read_as(name, content.as_bytes()));
            assert!(outcome.is_ok(), "seed {seed}, {name}: {content:?}");
        }
    }
}

#[test]
fn dates_and_decoding_keep_their_promises_on_random_input() {
    for seed in 0..CASES {
        let mut rng = ChaCha8Rng::seed_from_u64(2_000_000 + seed);
        let mut bytes = random_text(&mut rng, 40).into_bytes();
        // Invalid UTF-8 and stray bytes too.
        for _ in 0..rng.random_range(0..4) {
            let at = rng.random_range(0..=bytes.len());
            bytes.insert(at, rng.random());
        }
        fuzzing::decoding(&bytes);
        fuzzing::dates(&bytes);
        let date = format!(
            "{} {} {}",
            rng.random_range(0..40),
            ["May", "Sept.", "december", "Mon,", ""].choose(&mut rng).unwrap(),
            rng.random_range(0..10000)
        );
        fuzzing::dates(date.as_bytes());
    }
}

/// Inputs the fuzzers found faults with (`tests/fixtures/fuzz/TARGET/NAME`), replayed through the
/// same entry point; each was a crash, a hang or an unbounded allocation before its fix.
#[test]
fn fuzz_findings_stay_fixed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let Ok(targets) = std::fs::read_dir(&root) else { return };
    for target in targets.flatten() {
        let name = target.file_name().to_string_lossy().to_string();
        for input in std::fs::read_dir(target.path()).unwrap().flatten() {
            let data = std::fs::read(input.path()).unwrap();
            let run = || match name.as_str() {
                "read_txt" => fuzzing::read_as("f.txt", &data),
                "read_markdown" => fuzzing::read_as("f.md", &data),
                "read_html" => fuzzing::read_as("f.html", &data),
                "read_jsonl" => fuzzing::read_as("f.jsonl", &data),
                "read_csv" => fuzzing::read_as("f.csv", &data),
                "read_gzip" => fuzzing::read_as("f.jsonl.gz", &data),
                "read_warc" => fuzzing::read_as("f.warc", &data),
                "read_warc_gz" => fuzzing::read_as("f.warc.gz", &data),
                "sidecar" => fuzzing::sidecar(&data),
                "metadata_table" => fuzzing::metadata_table("metadata.csv", &data),
                "decoding" => fuzzing::decoding(&data),
                "dates" => fuzzing::dates(&data),
                "segmentation" => fuzzing::segmentation(&data),
                other => panic!("tests/fixtures/fuzz/{other}: no such fuzz target"),
            };
            let outcome = std::panic::catch_unwind(run);
            assert!(outcome.is_ok(), "{name}/{:?} fails again", input.file_name());
        }
    }
}
