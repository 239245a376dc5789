#!/usr/bin/env python3
"""Build data/extraction/other-sites/ from Mozilla Readability's test pages.

Readability (https://github.com/mozilla/readability, Apache-2.0) keeps real saved web pages in
test/test-pages/NAME/source.html, each with the article as its maintainers accept it in
expected.html. We take the English article pages from sites that are not in trafilatura's
evaluation set (../shared/data/extraction/), and write the article-extraction benchmark layout
that `rhetor eval extraction` reads: html/ID.html (the source page, byte for byte) and
ground-truth.json ({ID: {"articleBody": text of expected.html, "url": ..., "title": ...}}).

The text of expected.html is its character data with block elements on lines of their own;
scripts, styles and nothing else are dropped. Standard library only.

    python3 tools/readability_devset.py /path/to/readability-checkout data/extraction/other-sites
"""

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# English article pages (news, magazines, company and personal blogs, how-to articles) from
# sites absent from ../shared/data/extraction/. Left out: product and documentation pages
# (mozilla-1/2, google-sre-book-1, ietf-1, mercurial, lwn-1, daringfireball-1), a news front
# page (yahoo-2), fiction (archive-of-our-own), synthetic test cases, and pages not in English.
PAGES = [
    "ars-1", "blogger", "breitbart", "buzzfeed-1", "citylab-1", "cnet", "dropbox-blog",
    "ebb-org", "ehow-1", "ehow-2", "engadget", "firefox-nightly-blog", "gitlab-blog",
    "herald-sun-1", "iab-1", "lifehacker-working", "medium-1", "medium-2", "medium-3",
    "quanta-1", "seattletimes-1", "simplyfound-1", "spiceworks", "tmz-1", "topicseed-1",
    "tumblr", "v8-blog", "wapo-1", "wapo-2", "webmd-1", "webmd-2", "wikia", "wordpress",
    "yahoo-1", "yahoo-3",
]

# Readability keeps some site furniture in its expected output; the mission says bylines, dates,
# share and sign-up prompts, author bios and "Read more" lists are not article text, so these
# lines are dropped (DROP) or the text is cut from a line on (CUT_FROM). Captions stay.
DROP = {
    "breitbart": {"22 Dec, 2016", "SIGN UP FOR OUR NEWSLETTER"},
    "buzzfeed-1": {"Facebook"},
    "citylab-1": {"1:39 PM ET"},
    "ehow-1": {"Found This Helpful", "Featured"},
    "ehow-2": {"Last updated September 14, 2016", "Save"},
    "engadget": {"Gallery: Xbox One X | 14 Photos", "from $610.00", "87"},
    "tmz-1": {"2/26/2015 7:11 AM PST BY TMZ STAFF", "EXCLUSIVE"},
    "yahoo-3": {"View photo", "."},
}
DROP_PREFIX = {"breitbart": ("Lucas Nolan is a reporter for Breitbart",)}
CUT_FROM = {
    "citylab-1": "About the Author",
    "ehow-2": "Related Searches",
    "iab-1": "About the author",
    "wapo-1": "Read more:",
    "yahoo-1": "More games news:",
}

# The article's author(s) as the page names them in its byline (checked by hand against each page;
# readability's own byline field is messy: "by Lucas Nolan22 Dec 2016651"). Pages without a
# personal byline (tmz-1, topicseed-1, spiceworks, v8-blog, tumblr) have none and are not judged.
AUTHORS = {
    "ars-1": "Dan Goodin", "blogger": "Andrew Zonenberg", "breitbart": "Lucas Nolan",
    "buzzfeed-1": "Mark Di Stefano", "citylab-1": "Sarah Archer", "cnet": "Steven Musil",
    "dropbox-blog": "Arun Sai Krishnan", "ebb-org": "Bradley M. Kuhn", "ehow-1": "Lucy Akins",
    "ehow-2": "Gina Roberts-Grey", "engadget": "Devindra Hardawar", "firefox-nightly-blog": "Mike Conley",
    "gitlab-blog": "Dave Steer", "herald-sun-1": "Laurie Oakes", "iab-1": "Scott Cunningham",
    "lifehacker-working": "Patrick Allan", "medium-1": "Pippin Lee", "medium-2": "Courtney Kirchoff",
    "medium-3": "John C. Welch", "quanta-1": "Joshua Sokol", "seattletimes-1": "Benjamin Romano",
    "simplyfound-1": "Joe Wee", "wapo-1": "Erin Cunningham", "wapo-2": "Steven Mufson",
    "webmd-1": "Brenda Goodman", "webmd-2": "Kelli Miller", "wikia": "James Akinaka",
    "wordpress": "Sarah Gooding", "yahoo-1": "Ben Silverman", "yahoo-3": "Gillian Mohney",
}

BLOCK = {
    "p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
    "blockquote", "pre", "table", "tr", "td", "th", "figure", "figcaption", "br", "hr",
    "header", "footer", "dl", "dt", "dd",
}
SKIP = {"script", "style", "noscript", "template"}


class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skip += 1
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)

    def text(self):
        lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


def main():
    src, out = Path(sys.argv[1]) / "test" / "test-pages", Path(sys.argv[2])
    (out / "html").mkdir(parents=True, exist_ok=True)
    truth = {}
    for name in PAGES:
        page = src / name
        parser = Text()
        parser.feed((page / "expected.html").read_text(encoding="utf-8"))
        meta = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        (out / "html" / f"{name}.html").write_bytes((page / "source.html").read_bytes())
        lines = parser.text().split("\n")
        if name in CUT_FROM:
            lines = lines[: lines.index(CUT_FROM[name])]
        lines = [
            line
            for line in lines
            if line not in DROP.get(name, ()) and not line.startswith(DROP_PREFIX.get(name, ()))
        ]
        truth[name] = {
            "articleBody": "\n".join(lines),
            "author": AUTHORS.get(name),
            "site": meta.get("siteName"),
            "source": f"mozilla/readability test/test-pages/{name}",
        }
    (out / "ground-truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(truth)} pages -> {out}")


if __name__ == "__main__":
    main()
