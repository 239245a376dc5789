#!/usr/bin/env python3
"""CSV injection, checked with a real spreadsheet program (`make spreadsheet-test`).

Runs `rhetor analyze` on a document whose sentences begin with =1+1, @SUM(A1) and -2+3. It
opens `sentences.csv` in LibreOffice (headless, converting it to .xlsx) and reads the workbook
back with openpyxl. Each such cell must hold the sentence as text, not a formula or its value.
As a control, the same document analysed with --csv-raw must come back with formulas. That
shows the check can tell the two apart.

Needs: LibreOffice (`apt-get install libreoffice-calc-nogui`), openpyxl (`pip install openpyxl`).

    python3 tools/spreadsheet_check.py target/release/rhetor
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

SENTENCES = ["=1+1 is what a scraped comment may say.", "@SUM(A1) was quoted in a tweet.", "-2+3 is a sum too."]


def sheet_cells(rhetor, work, extra):
    doc = work / "formulas.txt"
    doc.write_text("\n\n".join(SENTENCES) + "\n", encoding="utf-8")
    out = work / ("raw" if extra else "safe")
    subprocess.run([rhetor, "analyze", str(doc), "--no-entities", "--quiet", "--out", str(out), *extra], check=True)
    # Comma-separated, double quotes, UTF-8 (76), first line as headers: how a user opens it.
    subprocess.run(
        ["soffice", "--headless", "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(out),
         str(out / "sentences.csv")],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    ws = openpyxl.load_workbook(out / "sentences.xlsx").active
    header = [c.value for c in ws[1]]
    col = header.index("text")
    return [(row[col].value, row[col].data_type) for row in ws.iter_rows(min_row=2)]


def main():
    rhetor = str(Path(sys.argv[1] if len(sys.argv) > 1 else "target/release/rhetor").resolve())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        safe = sheet_cells(rhetor, work, [])
        for sentence, (value, kind) in zip(SENTENCES, safe):
            assert kind == "s" and sentence in str(value), f"{sentence!r} came back as {value!r} ({kind})"
        raw = sheet_cells(rhetor, work, ["--csv-raw"])
        formulas = [v for v, kind in raw if kind == "f" or not (isinstance(v, str) and v in SENTENCES)]
        assert formulas, f"control failed: with --csv-raw the spreadsheet kept {raw!r} as text"
        print("spreadsheet check: the three formula-like sentences read as text in LibreOffice:",
              [v for v, _ in safe], "; with --csv-raw they were run:", [v for v, _ in raw])


if __name__ == "__main__":
    main()
