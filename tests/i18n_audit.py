"""Find UI text in app.py / pages/ that is not wrapped with the translator: a static check and a to-do list.

A string literal (or f-string) with letters passed to a Streamlit element (`st.title("…")`, `col.metric("…", …)`,
`label=`/`help=`/`placeholder=`/`title=` keywords, `st.Page(title=…)`, Plotly `title=`) must be `_("…")`
(`_("… {n} …").format(n=n)` for values, `ngettext` for plurals). Text built elsewhere and passed in a variable is
out of reach here; the browser walk in Chinese (tests/test_browser_language.py) catches that.

    python -m tests.i18n_audit [paths…]          # prints file:line: text for each bare string (default app.py pages/)
    python -m tests.i18n_audit --wrap [paths…]   # rewrites them in place: "…" -> _("…"), f"…{x}…" -> _("…{x}…").format(x=x)

`--wrap` also imports `_` from pages.components.language where missing and renames throwaway `_` variables that
would hide it (`for _, row in …` -> `for _unused, row in …`); what it cannot rewrite (text glued with `+`) is
listed for a manual fix. Run `ruff check --fix` afterwards for the import order, then `make i18n`.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Element and widget methods whose text arguments a user reads.
UI_METHODS = frozenset("""
title header subheader caption markdown write text info success warning error exception toast button
download_button link_button page_link metric selectbox multiselect radio checkbox toggle slider select_slider
number_input text_input text_area date_input time_input file_uploader camera_input color_picker expander tabs
form_submit_button spinner status popover segmented_control pills feedback chat_input dialog Page navigation
""".split())
TEXT_KEYWORDS = frozenset({"label", "help", "placeholder", "title", "caption", "text", "name", "value_label",
                           "xaxis_title", "yaxis_title", "legend_title", "legend_title_text", "title_text",
                           "show_spinner", "subplot_titles"})
# Plotly / column_config calls whose title-like keywords are UI text too.
KEYWORD_ONLY_CALLS = frozenset({"update_layout", "update_xaxes", "update_yaxes", "Column", "TextColumn",
                                "NumberColumn", "ProgressColumn", "DateColumn", "DatetimeColumn", "LinkColumn",
                                "CheckboxColumn", "SelectboxColumn", "ListColumn", "BarChartColumn",
                                "LineChartColumn", "ImageColumn", "bar", "line", "scatter", "histogram", "pie",
                                "funnel", "cache_data", "cache_resource", "make_subplots", "Scatter", "Bar"})
# Table column types: the first argument is the column's label.
COLUMN_TYPES = frozenset({"Column", "TextColumn", "NumberColumn", "ProgressColumn", "DateColumn", "DatetimeColumn",
                          "LinkColumn", "CheckboxColumn", "SelectboxColumn", "ListColumn", "BarChartColumn",
                          "LineChartColumn", "ImageColumn"})
TRANSLATORS = frozenset({"_", "ngettext", "pgettext", "N_"})
WORDS = re.compile(r"[A-Za-z]{2,}")
# Text with no word to translate: ids, units, markdown rules, icons.
NEUTRAL = re.compile(r"^[\s\W\d_]*$|^:material/\w+:$|^(CSV|JSON|ID|K|N|SQL|RecoLM)$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _callee(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _text_args(node: ast.Call) -> list[ast.AST]:
    """The arguments of a Streamlit / Plotly call that a user reads."""
    name = _callee(node)
    args: list[ast.AST] = []
    if name in UI_METHODS or name in COLUMN_TYPES:
        args += node.args[:1] if name not in ("tabs", "Page", "navigation", "page_link", "switch_page") else []
        if name == "tabs" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            args += node.args[0].elts
    for k in node.keywords:  # subplot_titles=("…", "…")
        if k.arg == "subplot_titles" and isinstance(k.value, ast.List | ast.Tuple):
            args += k.value.elts
    if name in UI_METHODS or name in KEYWORD_ONLY_CALLS:
        args += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
    # Labels looked up in a dict: `format_func=lambda k: {"fixed": "fixed amount off", …}[k]`, Plotly `labels={…}`.
    # (Not `rename(columns={…})`: a renamed column is an id the code refers to; pages/components/labels.py names it.)
    if name in UI_METHODS or name in COLUMN_TYPES or name in ("bar", "line", "scatter", "funnel"):
        for sub in [*node.args, *(k.value for k in node.keywords)]:
            args += [v for d in ast.walk(sub) if isinstance(d, ast.Dict) for v in d.values]
    return args


def _literal_text(node: ast.AST) -> str | None:
    """The visible text of a str constant or f-string (placeholders as {…}); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        if left is not None or right is not None:
            return (left or "{…}") + (right or "{…}")
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) or _literal_text(node.orelse)
    return None


def _needs_translation(text: str) -> bool:
    return bool(WORDS.search(text)) and not NEUTRAL.match(text.strip())


def audit_source(source: str, path: str) -> list[Finding]:
    found: list[Finding] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if _callee(node) in TRANSLATORS:
            continue
        for arg in _text_args(node):
            text = _literal_text(arg)
            if text is not None and _needs_translation(text):
                found.append(Finding(path, arg.lineno, text))
    return found


def _leaves(node: ast.AST) -> list[ast.AST]:
    """The str constants / f-strings a text argument is made of (both branches of `a if c else b`)."""
    if isinstance(node, ast.Constant | ast.JoinedStr):
        return [node]
    if isinstance(node, ast.IfExp):
        return _leaves(node.body) + _leaves(node.orelse)
    return []


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _placeholder(expr: ast.AST, taken: dict[str, str], source: str) -> str:
    code = ast.get_source_segment(source, expr) or ast.unparse(expr)
    for name, known in taken.items():
        if known == code:
            return name
    if isinstance(expr, ast.Name):
        name = expr.id
    elif isinstance(expr, ast.Attribute):
        name = expr.attr
    elif isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and str(expr.slice.value).isidentifier():
        name = str(expr.slice.value)
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "len" and expr.args:
        name = "n_" + _placeholder(expr.args[0], {}, source)
    else:
        name = "value"
    name = name.strip("_") or "value"
    base, k = name, 2
    while name in taken:
        name, k = f"{base}{k}", k + 1
    taken[name] = code
    return name


def _wrapped(node: ast.AST, source: str) -> str:
    if isinstance(node, ast.Constant):
        return f"_({ast.get_source_segment(source, node)})"
    taken: dict[str, str] = {}
    parts: list[str] = []
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value).replace("{", "{{").replace("}", "}}"))
            continue
        name = _placeholder(v.value, taken, source)
        conv = {-1: "", 115: "!s", 114: "!r", 97: "!a"}[v.conversion]
        spec = "" if v.format_spec is None else ":" + "".join(
            str(x.value) if isinstance(x, ast.Constant) else "{" + _placeholder(x.value, taken, source) + "}"
            for x in v.format_spec.values)
        parts.append("{" + name + conv + spec + "}")
    args = ", ".join(f"{k}={code}" for k, code in taken.items())
    return f"_({_quote(''.join(parts))}).format({args})"


def _offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of ast's (1-based line, UTF-8 byte column)."""
    return sum(len(x) for x in lines[: line - 1]) + len(lines[line - 1].encode("utf-8")[:col].decode("utf-8"))


def wrap_source(source: str) -> tuple[str, list[str]]:
    """`source` with every bare UI string wrapped in `_()`; plus what needs a manual fix."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    manual: list[str] = []
    comprehension_names = {id(n) for c in ast.walk(tree) if isinstance(c, ast.comprehension)
                           for n in ast.walk(c.target)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store) \
                and id(node) not in comprehension_names:
            a = _offset(lines, node.lineno, node.col_offset)
            edits.append((a, a + 1, "_unused"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _callee(node) in TRANSLATORS:
            continue
        for arg in _text_args(node):
            text = _literal_text(arg)
            if text is None or not _needs_translation(text):
                continue
            leaves = _leaves(arg)
            if not leaves:
                manual.append(f"line {arg.lineno}: {text!r} (glued with +: rewrite as one _() with placeholders)")
                continue
            for leaf in leaves:
                if _needs_translation(_literal_text(leaf) or ""):
                    a = _offset(lines, leaf.lineno, leaf.col_offset)
                    b = _offset(lines, leaf.end_lineno, leaf.end_col_offset)
                    edits.append((a, b, _wrapped(leaf, source)))
    out = source
    for a, b, new in sorted(edits, reverse=True):
        out = out[:a] + new + out[b:]
    if edits and not re.search(r"^from pages\.components\.language import .*\b_\b", out, re.M):
        imports = list(re.finditer(r"^(from|import) [\w.]+.*$", out, re.M))
        at = imports[-1].end() if imports else 0
        out = out[:at] + "\nfrom pages.components.language import _" + out[at:]
    return out, manual


def audit(paths: list[Path] | None = None) -> list[Finding]:
    """Bare UI strings in `paths` (default: app.py and every .py under pages/)."""
    out: list[Finding] = []
    for file in _files(paths):
        rel = str(file.resolve().relative_to(ROOT)) if file.resolve().is_relative_to(ROOT) else str(file)
        out += audit_source(file.read_text(encoding="utf-8"), rel)
    return sorted(out, key=lambda f: (f.path, f.line))


def _files(paths: list[Path] | None) -> list[Path]:
    files: list[Path] = []
    for p in paths or [ROOT / "app.py", ROOT / "pages"]:
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return files


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["--wrap"]:
        for file in _files([Path(a) for a in argv[1:]] or None):
            before = file.read_text(encoding="utf-8")
            after, manual = wrap_source(before)
            if after != before:
                file.write_text(after, encoding="utf-8")
                print(f"wrapped {file}")
            for m in manual:
                print(f"  manual: {file}: {m}")
        raise SystemExit(0)
    findings = audit([Path(a) for a in argv] or None)
    for f in findings:
        print(f)
    print(f"{len(findings)} bare UI strings", file=sys.stderr)
    raise SystemExit(1 if findings else 0)
