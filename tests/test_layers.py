"""The layers of docs/ARCHITECTURE.md, checked on the imports of every module under src/.

Bottom up: the base (audio, dsp, text, checkpoint, metrics, ...) -> diffusion -> engines ->
data -> pipeline -> eval (metrics) -> server | tasks | batch -> bench (the runners that time
the whole product) -> cli. A module may import its own layer and those
below, never one above (runtime never imports training or evaluation code), and the
module import graph has no cycle. Imports inside functions count too: they are lazy,
not exempt. Only `if TYPE_CHECKING:` blocks are skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
PKG = SRC / "voxlate"

# Layer of each top-level module or package of voxlate (higher imports lower).
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        [
            "audio",
            "dsp",
            "text",
            "errors",
            "registry",
            "languages",
            "subtitles",
            "plots",
            "tables",
            "parts",
            "shipped",
            "health",
            "checkpoint",
            "training",
            "metrics",
            "audio_decode",
            "audio_encode",
            "outputs",
            "video",
            "distributed",
        ],
        0,
    ),  # fmt: skip
    "diffusion": 1,
    "engines": 2,
    "data": 3,  # corpora; the synthetic digit corpus is spoken by the TTS engines
    **dict.fromkeys(["pipeline", "transcription"], 4),
    "eval": 5,  # metrics: below tasks, never imports server, batch, tasks, bench or cli
    **dict.fromkeys(["server", "tasks", "batch"], 6),
    "bench": 7,  # `voxlate bench ...` runners and the benchmark records
    **dict.fromkeys(["cli", "__main__"], 8),
}
SIBLINGS_APART = {  # same layer, never each other
    (a, b) for a in ("server", "tasks", "batch") for b in ("server", "tasks", "batch") if a != b
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> set[str]:
    """The voxlate modules `path` imports (absolute names), anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("voxlate"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("voxlate"):
                continue
            for a in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{mod}.{a.name}"
                out.add(sub if _exists(sub) else mod)
    return {m for m in out if m != here}


def _exists(mod: str) -> bool:
    p = SRC / mod.replace(".", "/")
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def top(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PKG.rglob("*.py"))}


def test_every_module_has_a_layer():
    missing = {top(m) for m in graph() if top(m) and top(m) not in LAYERS}
    assert not missing, f"add these to LAYERS and docs/ARCHITECTURE.md: {sorted(missing)}"


def test_no_import_goes_up_a_layer():
    wrong = []
    for mod, deps in graph().items():
        a = top(mod)
        if not a:
            continue
        for dep in deps:
            b = top(dep)
            if not b or b == a:
                continue
            if LAYERS[b] > LAYERS[a] or (a, b) in SIBLINGS_APART:
                wrong.append(f"{mod} -> {dep}")
    assert not wrong, "wrong-way imports:\n" + "\n".join(sorted(wrong))


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `g` (a list of modules, first == last), or None.

    A package's `__init__` importing its own submodules is not an edge back to it.
    """
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if d.startswith(m + "."):  # a package importing its own submodule
                continue
            if state.get(d) == 1:
                return stack[stack.index(d) :] + [d]
            if d not in state and (c := visit(d)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_checks_can_fail():
    """The cycle finder and the layer table catch what they are meant to."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"p": {"p.x"}, "p.x": {"q"}, "q": set()}) is None
    assert LAYERS["engines"] < LAYERS["pipeline"] < LAYERS["eval"] < LAYERS["tasks"]
    assert LAYERS["server"] == LAYERS["batch"] < LAYERS["bench"] < LAYERS["cli"]
    src = imports_of(PKG / "pipeline" / "file.py")
    assert "voxlate.pipeline.stream_stages" in src and "voxlate.audio" in src


def test_single_sources():
    """Constants and formulas live in one module each (issue 17, 'single sources')."""
    import re

    texts = {p: p.read_text(encoding="utf-8") for p in PKG.rglob("*.py")}
    rate = [p for p, t in texts.items() if re.search(r"^SAMPLE_RATE\s*=\s*16", t, re.M)]
    assert rate == [PKG / "audio.py"], rate
    mel = [p for p, t in texts.items() if "2595" in t]
    assert mel == [PKG / "dsp.py"], mel
    fillets = [p for p, t in texts.items() if "/usr/share/games/fillets-ng" in t]
    assert fillets == [PKG / "data" / "fillets.py"], fillets
    modes = [p for p, t in texts.items() if re.search(r"\(\s*\"preserve\",\s*\"tts\"", t)]
    assert modes == [PKG / "pipeline" / "voice" / "mode.py"], modes


def test_no_training_logs_or_markers_in_git():
    """Training logs and markers live in git-ignored run folders; their figures are in docs/."""
    import shutil
    import subprocess

    root = SRC.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        import pytest

        pytest.skip("not a git checkout")
    files = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    bad = [f for f in files if f.endswith((".log", ".log.jsonl", ".done"))]
    assert not bad, bad


def test_eval_holds_metrics_only():
    """eval/ sits below tasks: it imports none of server, batch, tasks, bench or cli."""
    above = {"server", "batch", "tasks", "bench", "cli"}
    wrong = [
        f"{mod} -> {dep}"
        for mod, deps in graph().items()
        if top(mod) == "eval"
        for dep in deps
        if top(dep) in above
    ]
    assert not wrong, wrong


RATES = {16000, 22050, 24000}  # Hz, as sample rates
FRAMES = {400, 160}  # the 25 ms / 10 ms frame at 16 kHz: audio.FRAME_LENGTH, audio.FRAME_HOP
_NAMED = r"^\s*[A-Za-z_]\w*\s*(:\s*[\w\[\], |]+)?=\s*"  # `NAME = value`: a named home constant


def bare_values(path: Path) -> list[str]:
    """Sample rates and frame sizes written as bare numbers in `path` (outside strings and
    comments): a rate is allowed only as the value of a named constant (an engine's native
    rate, a file format's), a frame size only in voxlate/audio.py."""
    import io
    import re
    import tokenize

    if path == PKG / "audio.py":
        return []
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    name = path.relative_to(SRC) if path.is_relative_to(SRC) else path.name
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type != tokenize.NUMBER:
            continue
        try:
            value = int(tok.string.replace("_", ""))
        except ValueError:
            continue
        line = lines[tok.start[0] - 1]
        named = re.match(_NAMED + re.escape(tok.string) + r"\b", line) is not None
        if value in RATES and not named and "opus" not in line:  # opus: the format's rates
            out.append(f"{name}:{tok.start[0]}: {line.strip()}")
        framed = re.search(r"n_fft|hop|win|frame", line, re.I)
        if value in FRAMES and framed:
            out.append(f"{name}:{tok.start[0]}: {line.strip()}")
    return out


def test_sample_rates_and_frame_sizes_have_one_home():
    """16 kHz is audio.SAMPLE_RATE, 25 ms / 10 ms frames audio.FRAME_LENGTH / FRAME_HOP;
    another rate is a named constant where it belongs (issue 23, 'single sources by value')."""
    found = [s for p in sorted(PKG.rglob("*.py")) for s in bare_values(p)]
    assert not found, "\n".join(found)


def test_the_value_check_can_fail(tmp_path: Path):
    bad = tmp_path / "probe.py"
    bad.write_text("x = f(a.resample(16_000))\nRATE = 16_000\nmel(n_fft=400, hop=160)\n")
    got = bare_values(bad)
    assert [s.split(":")[1] for s in got] == ["1", "3", "3"], got
