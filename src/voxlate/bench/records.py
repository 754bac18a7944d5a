"""Benchmark records: one JSON line per recorded run in ``benchmarks/<command>.jsonl`` (the
history), and docs/benchmarks.md generated from them (the latest run of each benchmark).

A record: ``title`` (the benchmark), ``date`` (``YYYY-MM-DD HH:MM``), ``machine``,
``command`` (the shell line that made it), ``tables`` (each ``{"header": [...], "rows":
[[...], ...]}``, the figures) and ``body`` (the run's markdown, notes included).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from voxlate.audio import write_text_atomic
from voxlate.errors import MissingDependencyError
from voxlate.tables import markdown_table

Record = dict[str, Any]
COMMAND_ENV = "VOXLATE_COMMAND"

HISTORY = "benchmarks-history.md"  # what the old log held that is not a run record
HISTORY_PNG = "benchmarks-history.png"
MAX_ROWS = 12  # rows of a latest table shown in benchmarks.md (all are in the record)

# The command of each titled section of the old append-only log (it recorded none).
TITLE_COMMANDS: list[tuple[str, str]] = [
    ("bench translate: ASR-BLEU", "voxlate bench translate --asr-bleu N"),
    ("bench translate (--mt llm", "voxlate bench translate --mt llm"),
    ("bench translate", "voxlate bench translate"),
    ("bench live", "voxlate bench live"),
    ("bench batch", "voxlate bench batch"),
    ("bench mt", "voxlate bench mt"),
    ("bench tts", "voxlate bench tts"),
    ("bench hardening (issue 22)", "python scripts/bench_hardening.py --round2"),
    ("bench hardening", "python scripts/bench_hardening.py"),
    ("Voice: speaker similarity and intelligibility (adapter", "voxlate eval voice --search"),
    ("Voice: speaker similarity", "voxlate eval voice"),
    ("Voice style fitting: methods", "voxlate eval voice-style --split validation"),
    ("Voice by Kokoro style", "voxlate eval voice-style"),
    ("Speech enhancement", "voxlate eval enhance"),
    ("SpeakerDiff", "voxlate speakers eval"),
    ("Anonymization", "voxlate eval anonymize"),
    ("Spoken-digit diffusion", "voxlate digits eval"),
    ("Korean ASR", "voxlate eval asr-korean"),
]


def command_for_title(title: str) -> str:
    """The command that writes sections titled `title` ('' if unknown)."""
    return next((c for prefix, c in TITLE_COMMANDS if title.startswith(prefix)), "")


def current_command() -> str:
    """The shell line of this process: `voxlate ...` for the CLI, else `python <script> ...`."""
    if os.environ.get(COMMAND_ENV):  # set by the CLI's main, inherited by its workers
        return os.environ[COMMAND_ENV]
    argv = sys.argv
    name = Path(argv[0]).name if argv else ""
    if name == "voxlate" or (name == "__main__.py" and Path(argv[0]).parent.name == "voxlate"):
        return shlex.join(["voxlate", *argv[1:]])
    try:
        import click

        ctx = click.get_current_context(silent=True)
    except ImportError:
        ctx = None
    if ctx is not None:  # the CLI called in-process (tests): the command, not pytest's argv
        return " ".join(["voxlate", *ctx.command_path.split()[1:]])
    return shlex.join(["python", *argv])


def slug(command: str) -> str:
    """The results file stem of a command: 'voxlate bench live --x' -> 'bench-live'."""
    words = [w for w in command.split() if not w.startswith("-")]
    if words and words[0] == "python":
        return Path(words[1]).stem.replace("_", "-") if len(words) > 1 else "script"
    words = words[1:3] if words and words[0] == "voxlate" else words[:2]
    return "-".join(re.sub(r"[^a-z0-9]+", "-", w.lower()).strip("-") for w in words) or "other"


def results_dir(markdown: str | os.PathLike) -> Path:
    """Where the records behind `markdown` live: ``<repo>/benchmarks`` for ``<repo>/docs/X.md``,
    else ``benchmarks`` beside the file."""
    p = Path(markdown).absolute()
    root = p.parent.parent if p.parent.name == "docs" else p.parent
    return root / "benchmarks"


# -- the markdown tables a run printed ------------------------------------------------------
def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_tables(body: str) -> list[dict[str, list]]:
    """The pipe tables of a markdown text, each as header and rows of cell strings."""
    tables: list[dict[str, list]] = []
    raw = body.splitlines()
    piped = [s.lstrip().startswith("|") for s in raw]
    lines = [  # a blank line between two table lines (some runs printed them) is dropped
        s
        for k, s in enumerate(raw)
        if s.strip() or not (0 < k < len(raw) - 1 and piped[k - 1] and piped[k + 1])
    ]
    i = 0
    while i < len(lines):
        is_rule = i + 1 < len(lines) and re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", lines[i + 1])
        if lines[i].lstrip().startswith("|") and is_rule and "-" in lines[i + 1]:
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append({"header": header, "rows": rows})
        else:
            i += 1
    return tables


def make_record(title: str, body: str, date: str, machine: str, command: str) -> Record:
    return {
        "title": title,
        "date": date,
        "machine": machine,
        "command": command,
        "tables": parse_tables(body),
        "body": body.strip(),
    }


# -- the old append-only log ----------------------------------------------------------------
_STAMP = re.compile(r"^\*(\d{4}-\d\d-\d\d \d\d:\d\d) · (.+)\*$")


def parse_log(text: str) -> tuple[list[Record], str]:
    """Records from a log written by the old ``append_benchmark`` (``## title``, then
    ``*date · machine*``, then the body), and the markdown of the sections that do not
    follow that format (kept as history)."""
    records: list[Record] = []
    leftover: list[str] = []
    for section in re.split(r"^(?=## )", text, flags=re.M):
        if not section.startswith("## "):
            continue
        head, _, rest = section.partition("\n")
        title = head[3:].strip()
        rest = rest.lstrip("\n")
        stamp, _, body = rest.partition("\n")
        m = _STAMP.match(stamp.strip())
        if m is None:
            leftover.append(section.rstrip() + "\n")
            continue
        command = command_for_title(title)
        records.append(make_record(title, body, m.group(1), m.group(2), command))
    return records, "\n".join(leftover)


# -- storage ---------------------------------------------------------------------------
def append_record(record: Record, directory: str | os.PathLike) -> Path:
    """Add `record` as the last line of ``<directory>/<slug of its command>.jsonl``
    (rewritten whole, atomically)."""
    path = Path(directory) / f"{slug(record['command'])}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    line = json.dumps(record, ensure_ascii=False)
    write_text_atomic(path, old + ("" if not old or old.endswith("\n") else "\n") + line + "\n")
    return path


def read_records(directory: str | os.PathLike) -> list[Record]:
    """Every record under `directory`, oldest first (by date, then file order)."""
    out: list[Record] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return sorted(out, key=lambda r: r["date"])


# -- the generated page -----------------------------------------------------------------
def latest(records: Iterable[Record]) -> list[Record]:
    """The newest record of each title, in the order the titles first appeared."""
    by: dict[str, Record] = {}
    for r in records:
        by[r["title"]] = r
    return list(by.values())


def headline(record: Record) -> str:
    """The first row of the first table, as 'row: col value, ...' (a few cells)."""
    if not record["tables"] or not record["tables"][0]["rows"]:
        return "(see below)"
    t = record["tables"][0]
    row = t["rows"][0]
    pairs = [f"{h} {v}" for h, v in zip(t["header"][1:], row[1:], strict=False) if v][:4]
    return f"{row[0]}: " + ", ".join(pairs)


def _code(command: str) -> str:
    return f"`{command}`" if command else "(not recorded)"


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render(records: Sequence[Record], plot: str | None = None) -> str:
    """docs/benchmarks.md: a summary row and the latest table(s) of each benchmark."""
    now = latest(records)
    out = [
        "# voxlate benchmarks",
        "",
        "Generated from `benchmarks/*.jsonl` (one line per recorded run: the history) by",
        "`voxlate bench render`; every `--append` of a `voxlate bench|eval ...` command adds a",
        "record and regenerates this page. Do not edit it by hand. Notes the old log held that",
        f"were not run records: [{HISTORY}]({HISTORY}).",
        "",
    ]
    if plot:
        out += [f"![bench live latency and voice similarity over time]({plot})", ""]
    summary = [
        [_escape(r["title"]), _escape(headline(r)), r["date"], _escape(r["machine"]),
         _code(r["command"])]
        for r in now
    ]  # fmt: skip
    out += [markdown_table(["benchmark", "latest figure", "date", "machine", "command"], summary)]
    for r in now:
        out += [
            "",
            f"## {r['title']}",
            "",
            f"*{r['date']} · {r['machine']}* · {_code(r['command'])}",
        ]
        for t in r["tables"][:2]:
            rows = t["rows"][:MAX_ROWS]
            more = len(t["rows"]) - len(rows)
            out += ["", markdown_table(t["header"], rows).rstrip()]
            if more:
                out += ["", f"({more} more rows in the record)"]
        if not r["tables"]:
            out += ["", "(no table: see the record's body)"]
    return "\n".join(out).rstrip() + "\n"


def _figure(table: dict[str, list], row: str, column: str) -> float | None:
    try:
        i = table["header"].index(column)
        cells = next(r for r in table["rows"] if r[0] == row)
        return float(cells[i])
    except (ValueError, StopIteration, IndexError):
        return None


def plot_history(records: Sequence[Record], png: str | os.PathLike) -> Path | None:
    """Median end-of-speech -> first audio of every `bench live` run over time, and the
    speaker similarity of each voice-style method (latest held-out run); None if no data."""
    from voxlate.plots import pyplot

    live = []
    for r in records:
        if r["title"] == "bench live" and r["tables"]:
            v = _figure(r["tables"][0], "all utterances", "median")
            if v is not None:
                live.append((r["date"], v))
    style: dict[str, list[tuple[str, float]]] = {}
    for r in records:
        if r["title"].startswith("Voice by Kokoro style") and r["tables"]:
            t = r["tables"][0]
            col = next((c for c in t["header"] if c.lower().startswith("sim")), None)
            for row in t["rows"]:
                if col is not None and row:
                    v = _figure(t, row[0], col)
                    if v is not None:
                        style.setdefault(row[0], []).append((r["date"], v))
    if not live and not style:
        return None
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    if live:
        a.plot(range(len(live)), [v for _, v in live], "o-")
        a.set_xticks(range(len(live)), [d[:10] for d, _ in live], rotation=45, fontsize=7)
    a.set_title("bench live: end of speech -> first audio, median (s)", fontsize=9)
    a.set_yscale("log")
    if style:  # the latest held-out run, one bar per method
        names = list(style)
        b.barh(names, [style[n][-1][1] for n in names])
        b.invert_yaxis()
        b.tick_params(axis="y", labelsize=7)
        b.set_xlabel(f"run of {max(d for pts in style.values() for d, _ in pts)}", fontsize=8)
    b.set_title("eval voice-style: similarity to the speaker per method", fontsize=9)
    from voxlate.plots import save_png

    return save_png(fig, png)


def regenerate(markdown: str | os.PathLike, plot: bool = True) -> Path:
    """Rewrite `markdown` (e.g. docs/benchmarks.md) from the records behind it."""
    md = Path(markdown)
    records = read_records(results_dir(md))
    png = md.parent / HISTORY_PNG
    drawn = None
    if plot:
        try:
            drawn = plot_history(records, png)
        except MissingDependencyError:  # no matplotlib: the page without the figure
            drawn = None
    name = png.name if drawn is not None or png.exists() else None
    write_text_atomic(md, render(records, name))
    return md
