"""Dependencies point down: no app imports from an app above it (docs/architecture.md).

Every module under billtone/ and config/ is read with ast (nothing is imported or run), its
tests and function-level imports included. A new app fails here until it is given a layer.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# An app may import its own layer and every layer below it, never one above.
# Apps on one layer are peers: they may import each other (accounts and notifications do,
# sparingly); the money apps also build on each other (reconciliation on banktransfers,
# invoicing on catalog). config/ wires everything together and may import anything.
LAYERS = {
    "core": 0,  # Money, clock, errors, idempotency, audit, pagination
    "accounts": 1,  # accounts, members, tokens, billing profile, access decorator
    "notifications": 1,  # stored, retried emails
    "ledger": 2,  # the double-entry ledger
    "payments": 3,  # the money apps: what customers pay, and how
    "banktransfers": 3,
    "reconciliation": 3,
    "catalog": 3,
    "telephony": 3,
    "basket": 4,  # the basket and checkout: builds on the money apps, none builds on it
    "billing": 4,  # monthly bills: Next Bill, bill runs, dunning (peer of basket)
    "invoicing": 3,
    "rating": 3,
    "web": 5,  # the Billing panel's layout and overview
    "demo": 6,  # demo data: may use every app
}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module under billtone/ and config/."""
    found = {}
    for top in ("billtone", "config"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth; `from a import b` is a.b
    when a.b is a module of ours, else a. Relative imports resolved against `name`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((node.lineno, child if child in MODULES else base))
    return found


def _app(module: str) -> str | None:
    """The app a dotted name belongs to: billtone.<app>..., or "config"; None outside."""
    parts = module.split(".")
    if parts[0] == "config":
        return "config"
    if parts[0] == "billtone" and len(parts) > 1 and (ROOT / "billtone" / parts[1]).is_dir():
        return parts[1]
    return None


def _project_imports():
    """(importing module, its file, line, imported module) for imports of our own modules."""
    for name, path in MODULES.items():
        for line, imported in _imports(name, path):
            if _app(imported) is not None:
                yield name, path, line, imported


def test_every_app_has_a_layer():
    apps = {path.name for path in (ROOT / "billtone").iterdir() if (path / "apps.py").exists()}

    assert apps, "no apps found"
    assert sorted(apps - LAYERS.keys()) == [], "give the new app a layer in LAYERS"


def test_no_app_imports_from_an_app_above_it():
    upward = []
    for name, path, line, imported in _project_imports():
        here, there = _app(name), _app(imported)
        if here in (None, "config") or here == there:
            continue  # config and the entry points (billtone/cli.py) may import anything
        where = f"{path.relative_to(ROOT)}:{line} ({here}) imports {imported}"
        if there == "config":
            if ".tests." not in name:  # tests may drive the Celery app as a worker would
                upward.append(f"{where}: config is above every app")
        elif here not in LAYERS or there not in LAYERS:
            upward.append(f"{where}: give {here if here not in LAYERS else there} a layer")
        elif LAYERS[there] > LAYERS[here]:
            upward.append(f"{where} ({there}): a higher layer")

    assert upward == []


# A model named by its label ("accounts.Account") in a ForeignKey is a dependency too, if
# not an import. One points up: the audit log (core) records which customer account an entry
# is about. Moving AuditEntry to accounts moves its table and every app's audit_record
# import; until then it is the one exception, named here so that no other joins it.
MODEL_REFERENCES_UP = {("billtone.core.models", "accounts.Account")}
RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


def test_no_model_refers_to_a_model_of_an_app_above_it():
    upward = []
    for name, path in MODULES.items():
        here = _app(name)
        if here in (None, "config") or here not in LAYERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            target = node.args[0]
            if called not in RELATIONS or not isinstance(target, ast.Constant):
                continue
            label = str(target.value).partition(".")[0]
            if LAYERS.get(label, -1) > LAYERS[here] and (name, target.value) not in (
                MODEL_REFERENCES_UP
            ):
                upward.append(f"{path.relative_to(ROOT)}:{node.lineno} refers to {target.value}")

    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _module_graph() -> dict[str, set[str]]:
    """Imports between modules of one app, less two kinds: a module importing its own
    package (whose __init__ lists the modules' names), and a service scheduling its app's
    task after commit (the task takes ids and calls the service back: Celery's pattern, not
    a tangle)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, _, _, imported in _project_imports():
        if _app(name) != _app(imported) or name.startswith(imported + "."):
            continue
        if imported != name and imported.rpartition(".")[2] != "tasks":
            graph[name].add(imported)
    return graph


def test_no_import_cycles_between_modules_of_one_app():
    """A cycle inside an app means two modules share something that belongs in a third."""
    assert _cycles(_module_graph()) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycles_are_found(graph, expected):
    assert _cycles(graph) == expected


def test_imports_are_read_at_any_depth_and_relative_ones_resolved(tmp_path):
    module = tmp_path / "mod.py"
    module.write_text(
        "import billtone.ledger.models\n"
        "def f():\n"
        "    from billtone.payments import services\n"
        "    from . import selectors\n"
    )

    found = _imports("billtone.accounts.mod", module)

    assert found == [
        (1, "billtone.ledger.models"),
        (3, "billtone.payments.services"),
        (4, "billtone.accounts.selectors"),
    ]
