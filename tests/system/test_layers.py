"""The layers hold: hardware ← core ← adapters ← entry, no cycles, no private reach-ins.

Read from the source with ``ast`` (what every module imports at run time, lazy imports
included; imports under ``if TYPE_CHECKING:`` are for type checkers only and do not count).
A new module is placed by its package, so it cannot escape the rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hardware", "hub", "web")
ENTRY = {"hub.cli", "hub.service"}
ADAPTERS = ("web", "hub.mqtt", "hub.homekit")
RANK = {"hardware": 0, "core": 1, "adapter": 2, "entry": 3}
ADAPTER_LIBRARIES = (
    "flask",
    "werkzeug",
    "waitress",
    "paho",
    "jinja2",
    "pyhap",
    "zeroconf",
)
#: the core's folders, lowest first: a module imports (at run time) only from its own folder
#: or a lower one, so the tree draws the architecture (``hub`` alone is the package root)
CORE_FOLDERS = (
    ("hub", "hub.facts", "hub.errors", "hub.command_models", "hub.config"),  # the vocabulary
    ("hub.engine",),  # the loop, the clock, the event bus, the watchdog
    ("hub.store",),  # SQLite and the records that follow a deed
    ("hub.people",),  # profiles, who is on the table, limits, the journal
    ("hub.scenes",),  # what a scene does, its timeline
    ("hub.room",),  # the room's parts and the safety that holds them
    ("hub.sessions",),  # sessions and their cues
    ("hub.routines", "hub.guests"),  # schedules; a visiting therapist's links
    ("hub.backup",),  # backup, restore, the checks every row passes
    ("hub.context", "hub.core", "hub.pi_setup"),  # the hub assembled
)
#: the one import upwards, and why (lazy, at run time)
UPWARDS = {
    ("hub.store.database", "hub.backup.set_aside"): "when it opens, the store sets aside the "
    "rows no reader can use, checked with the models of the folders above it",
}
#: what adapters may not reach through the hub: its parts, its guard, its lock, its internals
HUB_INSIDES = {"room", "guard", "lock", "loop", "context", "fader", "events"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[module_name(path)] = path
    return out


def layer(name: str) -> str:
    if name.split(".")[0] == "hardware":
        return "hardware"
    if name in ENTRY:
        return "entry"
    if any(name == a or name.startswith(a + ".") for a in ADAPTERS):
        return "adapter"
    return "core"


def adapter_of(name: str) -> str | None:
    return next((a for a in ADAPTERS if name == a or name.startswith(a + ".")), None)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those inside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports(name: str, path: Path) -> set[str]:
    """The modules ``name`` imports at run time (ours resolved to modules, others by top name)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    ours = modules()
    out: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # "from . import x" may name a module
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in ours else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in ours and target.split(".")[0] in PACKAGES:
                target = target.rpartition(".")[0]  # a name inside a module: the module
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: imports(name, path) for name, path in modules().items()}


def ours(target: str) -> bool:
    return target.split(".")[0] in PACKAGES


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_point_down_only(name: str) -> None:
    mine = layer(name)
    for target in sorted(GRAPH[name]):
        if not ours(target):
            if mine in ("core", "hardware"):
                assert target.split(".")[0] not in ADAPTER_LIBRARIES, (
                    f"{name} ({mine}) imports {target}: only adapters talk HTTP and MQTT"
                )
            continue
        theirs = layer(target)
        assert RANK[theirs] <= RANK[mine], f"{name} ({mine}) imports {target} ({theirs})"
        if mine == "adapter" and theirs == "adapter":
            assert adapter_of(name) == adapter_of(target), (
                f"{name} imports {target}: adapters stay independent of each other"
            )


def core_rank(name: str) -> int:
    """The rank of ``name``'s core folder (the longest listed prefix)."""
    best, rank = "", -1
    for i, folder in enumerate(CORE_FOLDERS):
        for prefix in folder:
            hit = name == prefix or (prefix != "hub" and name.startswith(prefix + "."))
            if hit and len(prefix) > len(best):
                best, rank = prefix, i
    return rank


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if layer(n) == "core"))
def test_core_folders_import_downwards(name: str) -> None:
    mine = core_rank(name)
    assert mine >= 0, f"{name} is in no core folder of CORE_FOLDERS: place it"
    for target in sorted(t for t in GRAPH[name] if ours(t) and layer(t) == "core"):
        theirs = core_rank(target)
        if (name, target) in UPWARDS:
            continue
        assert theirs <= mine, (
            f"{name} ({CORE_FOLDERS[mine][0]}) imports {target} ({CORE_FOLDERS[theirs][0]}), "
            "a folder above it"
        )


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(t for t in GRAPH.get(v, ()) if t in GRAPH):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    # a package's __init__ re-exporting its own modules is not a cycle between layers
    cycles = [c for c in cycles if len({m.split(".")[0] for m in c}) > 1 or not _package_only(c)]
    assert not cycles, f"import cycles: {cycles}"


def _package_only(component: list[str]) -> bool:
    """True if the cycle runs only through a package's __init__ and its own modules."""
    inits = [m for m in component if (ROOT / m.replace(".", "/") / "__init__.py").exists()]
    return len(inits) == 1 and all(m.startswith(inits[0]) for m in component)


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if layer(n) == "adapter"))
def test_adapters_use_only_the_hubs_public_surface(name: str) -> None:
    """No ``hub._private``, and no reaching through the hub to its parts or internals."""
    tree = ast.parse(modules()[name].read_text())
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        owner_name = (
            owner.id
            if isinstance(owner, ast.Name)
            else owner.attr
            if isinstance(owner, ast.Attribute)
            else ""
        )
        if owner_name == "hub" and (node.attr.startswith("_") or node.attr in HUB_INSIDES):
            bad.append(f"line {node.lineno}: hub.{node.attr}")
    assert not bad, f"{name} reaches into the hub: {bad}"


def test_every_module_has_a_layer() -> None:
    assert {layer(n) for n in GRAPH} <= set(RANK)
    assert {
        "hub.core",
        "hub.room.safety",
        "hardware.heatpad",
        "web.api",
        "hub.mqtt.bridge",
        "hub.homekit.bridge",
    } <= set(GRAPH), "the module walk missed part of the tree"
