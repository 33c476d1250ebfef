"""No module over 400 lines, no function over 80 without a reason beside it (issue 15), in
banktransfers, reconciliation, notifications, catalog, telephony, invoicing and basket; their
tests and migrations are not checked.

Read with ast, nothing imported. A function or method is measured from its `def` to its
last line (end_lineno - lineno + 1). One over 80 lines passes only when the line just above
it (above its first decorator, if any) is a comment holding the marker "over 80 lines",
then its reason:

    # over 80 lines: one flat pass over a TxDtls, run for every transaction
    def read(self, tx, is_credit):

A module over 400 lines passes only with a line of its own that starts "# over 400 lines:"
and gives the reason; better split it (STYLE.md: split by sub-domain).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = (
    "banktransfers",
    "reconciliation",
    "notifications",
    "catalog",
    "telephony",
    "invoicing",
    "basket",
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
FUNCTION_MARKER = "over 80 lines"
MODULE_MARKER = "# over 400 lines:"


def _modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / "billtone" / app).rglob("*.py"))
        if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
    ]


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, line, length) of each function over the limit without the marker above it."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = lines[first - 2].strip() if first > 1 else ""
        if length > MAX_FUNCTION_LINES and not (
            above.startswith("#") and FUNCTION_MARKER in above.lower()
        ):
            found.append((node.name, node.lineno, length))
    return found


def test_no_module_is_over_400_lines_without_a_reason():
    too_long = [
        f"{path.relative_to(ROOT)}: {len(lines)} lines"
        for path in _modules()
        if len(lines := path.read_text().splitlines()) > MAX_MODULE_LINES
        and not any(line.startswith(MODULE_MARKER) for line in lines)
    ]
    assert not too_long, "split these modules (or give the reason, see above):\n" + "\n".join(
        too_long
    )


def test_no_function_is_over_80_lines_without_a_reason_above_it():
    too_long = [
        f"{path.relative_to(ROOT)}:{line} {name}: {length} lines"
        for path in _modules()
        for name, line, length in long_functions(path.read_text())
    ]
    assert not too_long, (
        f'split these functions, or write "# {FUNCTION_MARKER}: <why>" on the line above '
        "them:\n" + "\n".join(too_long)
    )


def test_the_marker_is_what_lets_a_long_function_pass():
    def function(lines: int) -> str:
        return "def f():\n" + "    x = 1\n" * (lines - 1)

    assert long_functions(function(MAX_FUNCTION_LINES)) == []
    assert long_functions(function(81)) == [("f", 1, 81)]
    assert long_functions(f"# {FUNCTION_MARKER}: one pass\n@staticmethod\n{function(81)}") == []
    assert long_functions(f"# {FUNCTION_MARKER}: not beside it\n\n{function(81)}") != []
