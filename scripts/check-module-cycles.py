#!/usr/bin/env python3
"""Module layering checks for every crate of the workspace (Python 3 standard library only).

1. Import cycles. Each crate's module tree is read from its source (`mod x;` declarations from `src/lib.rs` or
   `src/main.rs` down, `#[cfg(test)]` modules excluded). Every `use` tree and every `crate::…`, `super::…` and
   `self::…` path in code is resolved to the module it names (following `pub use` re-exports). A path from module
   A to module B counts as an edge between the two siblings under their closest common parent that contain them,
   so the graph is checked at each level: a crate's top-level modules, and the sub-modules within each parent.
   Every strongly connected component with more than one module is a cycle; the script lists each and fails.

2. Function length. Every `fn` body outside tests (`#[cfg(test)]` modules, `tests/`, `benches/`, `examples/`) and
   generated files is measured in lines. Functions over the limit are listed, and the script fails.

Usage: scripts/check-module-cycles.py [--root DIR] [--self-test]   (exit 0 clean, 1 findings, 2 usage)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MAX_FUNCTION_LINES = 100
# Generated code is not held to the function-length limit.
GENERATED_FILES = {"crates/aks-model/src/az_attributes.rs"}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ---------------------------------------------------------------------------------------------------------------
# Source text without comments, strings and test modules (newlines kept so line numbers stay true)


def blank(text: str) -> str:
    """Replaces everything but newlines with spaces."""
    return re.sub(r"[^\n]", " ", text)


_TOKEN = re.compile(
    r"""
      (?P<line_comment>//[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<raw_string>b?r(?P<hashes>\#*)")
    | (?P<string>b?"(?:\\.|[^"\\])*")
    | (?P<char>b?'(?:\\u\{[0-9A-Fa-f]+\}|\\.|[^\\'\n])')
    """,
    re.VERBOSE | re.DOTALL,
)


def strip_comments_and_strings(text: str) -> str:
    out = []
    pos = 0
    while True:
        m = _TOKEN.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos : m.start()])
        if m.group("block_comment"):
            end = _block_comment_end(text, m.start())
            out.append(blank(text[m.start() : end]))
            pos = end
        elif m.group("raw_string"):
            closing = '"' + m.group("hashes")
            end = text.find(closing, m.end())
            end = len(text) if end < 0 else end + len(closing)
            out.append('""' + blank(text[m.start() + 2 : end]))
            pos = end
        elif m.group("line_comment"):
            pos = m.end()
        else:
            out.append('""' + blank(m.group(0)[2:]) if m.group("string") else "' '")
            pos = m.end()


def _block_comment_end(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def matching_brace(text: str, open_index: int) -> int:
    """Index just past the `}` closing the `{` at open_index (comments and strings already stripped)."""
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


_CFG_TEST_MOD = re.compile(
    r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*([;{])"
)


def strip_test_modules(code: str) -> tuple[str, set[str]]:
    """Blanks `#[cfg(test)] mod x { … }` bodies; returns the code and the names of `#[cfg(test)] mod x;` files."""
    test_files = set()
    while True:
        m = _CFG_TEST_MOD.search(code)
        if not m:
            return code, test_files
        if m.group(2) == ";":
            test_files.add(m.group(1))
            end = m.end()
        else:
            end = matching_brace(code, m.end() - 1)
        code = code[: m.start()] + blank(code[m.start() : end]) + code[end:]


# ---------------------------------------------------------------------------------------------------------------
# Module tree


class Module:
    def __init__(self, path: tuple[str, ...], file: Path, code: str):
        self.path = path
        self.file = file
        self.code = code
        self.children: dict[str, Module] = {}
        self.reexports: dict[str, list[str]] = {}


_MOD_DECL = re.compile(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;")


def load_module(path: tuple[str, ...], file: Path, child_dir: Path) -> Module:
    code, test_files = strip_test_modules(strip_comments_and_strings(file.read_text(encoding="utf-8")))
    module = Module(path, file, code)
    for name in _MOD_DECL.findall(code):
        if name in test_files:
            continue
        for candidate, grand_dir in (
            (child_dir / f"{name}.rs", child_dir / name),
            (child_dir / name / "mod.rs", child_dir / name),
        ):
            if candidate.is_file():
                module.children[name] = load_module(path + (name,), candidate, grand_dir)
                break
        else:
            raise SystemExit(f"error: {file}: module `{name}` has no file under {child_dir}")
    return module


def walk(module: Module):
    yield module
    for child in module.children.values():
        yield from walk(child)


# ---------------------------------------------------------------------------------------------------------------
# Paths in code


_USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]*);")


def expand_use_tree(tree: str) -> list[tuple[list[str], str | None]]:
    """`a::{b, c::d as e}` → [(["a","b"], None), (["a","c","d"], "e")]; `*` and `self` are kept as segments."""
    tree = re.sub(r"\s+", "", tree.replace(" as ", "@"))
    return _expand(tree, [])


def _expand(tree: str, prefix: list[str]) -> list[tuple[list[str], str | None]]:
    brace = tree.find("{")
    if brace < 0:
        name, _, alias = tree.partition("@")
        segments = prefix + [s for s in name.split("::") if s]
        return [(segments, alias or None)]
    head = [s for s in tree[:brace].split("::") if s]
    inner = tree[brace + 1 : tree.rfind("}")]
    results = []
    for part in _split_top_level(inner):
        if part == "self":
            results.append((prefix + head, None))
        elif part:
            results.extend(_expand(part, prefix + head))
    return results


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current.append(ch)
    parts.append("".join(current))
    return parts


_CODE_PATH = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:::" + IDENT + r")+)")


def collect_reexports(module: Module) -> None:
    for m in _USE.finditer(module.code):
        if not m.group(1):
            continue
        for segments, alias in expand_use_tree(m.group(2)):
            if segments and segments[-1] != "*":
                module.reexports[alias or segments[-1]] = segments


def resolve(root: Module, at: Module, segments: list[str], depth: int = 0) -> Module | None:
    """The deepest module of the crate that `segments` (as written in module `at`) reaches, or None."""
    if not segments or depth > 16:
        return None
    first, rest = segments[0], segments[1:]
    if first == "crate":
        current = root
    elif first in ("super", "self"):
        current = at
        while segments and segments[0] in ("super", "self"):
            if segments[0] == "super":
                current = module_at(root, current.path[:-1])
            segments = segments[1:]
        rest = segments
    elif first in at.children:
        current, rest = at.children[first], rest
    else:
        return None  # an external crate, a prelude name or a local item
    for index, segment in enumerate(rest):
        if segment in current.children:
            current = current.children[segment]
        elif segment in current.reexports and current.reexports[segment] != segments:
            target = resolve(root, current, current.reexports[segment] + rest[index + 1 :], depth + 1)
            return target or current
        else:
            break
    return current


def module_at(root: Module, path: tuple[str, ...]) -> Module:
    current = root
    for name in path:
        current = current.children[name]
    return current


def references(root: Module, module: Module) -> set[tuple[str, ...]]:
    """Module paths that `module`'s own code (not its children's) refers to."""
    targets = set()
    code_without_uses = module.code
    for m in _USE.finditer(module.code):
        for segments, _ in expand_use_tree(m.group(2)):
            segments = [s for s in segments if s != "*"]
            target = resolve(root, module, segments)
            if target is not None:
                targets.add(target.path)
        code_without_uses = code_without_uses.replace(m.group(0), "")
    for m in _CODE_PATH.finditer(code_without_uses):
        target = resolve(root, module, m.group(1).split("::"))
        if target is not None:
            targets.add(target.path)
    return targets


# ---------------------------------------------------------------------------------------------------------------
# Cycles


def sibling_edges(root: Module) -> dict[tuple[str, ...], dict[str, set[str]]]:
    """For each parent module, the edges between its children: parent path → child → children it uses."""
    levels: dict[tuple[str, ...], dict[str, set[str]]] = {}
    for module in walk(root):
        for target in references(root, module):
            common = 0
            while common < min(len(module.path), len(target)) and module.path[common] == target[common]:
                common += 1
            if common == len(module.path) or common == len(target):
                continue  # an ancestor or a descendant, not a sibling
            parent = module.path[:common]
            levels.setdefault(parent, {}).setdefault(module.path[common], set()).add(target[common])
    return levels


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; returns the components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

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


def cycle_findings(crate: str, root: Module) -> list[str]:
    failures = []
    for parent, graph in sorted(sibling_edges(root).items()):
        for component in strongly_connected(graph):
            where = "::".join(("crate",) + parent)
            edges = ", ".join(
                f"{a} → {b}" for a in component for b in sorted(graph.get(a, ())) if b in component
            )
            line = f"{crate}: cycle among {len(component)} modules of {where}: {edges}"
            failures.append(line)
    return failures


# ---------------------------------------------------------------------------------------------------------------
# Function length


_FN = re.compile(r"\bfn\s+(" + IDENT + r")\b[^;{]*\{")


def long_functions(module: Module, relative: str) -> list[str]:
    findings = []
    for m in _FN.finditer(module.code):
        end = matching_brace(module.code, m.end() - 1)
        first = module.code.count("\n", 0, m.start()) + 1
        last = module.code.count("\n", 0, end) + 1
        if last - first + 1 > MAX_FUNCTION_LINES:
            findings.append(f"{relative}:{first}: fn {m.group(1)} is {last - first + 1} lines")
    return findings


# ---------------------------------------------------------------------------------------------------------------


def crates(root: Path):
    for manifest in sorted([root / "Cargo.toml", *root.glob("crates/*/Cargo.toml")]):
        name = re.search(r'(?m)^name\s*=\s*"([^"]+)"', manifest.read_text(encoding="utf-8"))
        src = manifest.parent / "src"
        for entry in ("lib.rs", "main.rs"):
            if (src / entry).is_file() and name:
                yield name.group(1), load_module((), src / entry, src)


def self_test() -> int:
    """Runs the checks on a small made-up workspace with known findings; 0 when they are exactly those."""
    import tempfile

    files = {
        "Cargo.toml": "[workspace]\n",
        "crates/x/Cargo.toml": '[package]\nname = "x"\n',
        "crates/x/src/lib.rs": "mod a;\nmod b;\nmod c;\nmod p;\n",
        # a ↔ b through a `use` group and a path in code; a test module's import does not count.
        "crates/x/src/a.rs": "use crate::{b::B, c};\npub struct A;\n#[cfg(test)]\nmod tests { use crate::p::Q; }\n",
        "crates/x/src/b.rs": "pub struct B;\nfn f() { let _ = crate::a::A; }\n",
        # c names p only in a comment and a string: no edge.
        "crates/x/src/c.rs": '// crate::p::Q\nconst S: &str = "crate::p::Q";\n',
        # p::q ↔ p::r, one through p's re-export of r::R.
        "crates/x/src/p/mod.rs": "pub mod q;\nmod r;\npub use q::Q;\npub(crate) use r::R;\n",
        "crates/x/src/p/q.rs": "pub struct Q;\nuse crate::p::R;\n",
        "crates/x/src/p/r.rs": "pub struct R;\nuse super::q::Q;\nfn long() {\n" + "    let _ = 1;\n" * 100 + "}\n",
    }
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        (_, crate_root), = crates(root)
        for module in walk(crate_root):
            collect_reexports(module)
        cycles = cycle_findings("x", crate_root)
        lengths = [line for m in walk(crate_root) for line in long_functions(m, m.file.name)]
    expected_cycles = [
        "x: cycle among 2 modules of crate: a → b, b → a",
        "x: cycle among 2 modules of crate::p: q → r, r → q",
    ]
    expected_lengths = ["r.rs:3: fn long is 102 lines"]
    if cycles != expected_cycles or lengths != expected_lengths:
        print(f"self-test failed: {cycles} {lengths}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--self-test", action="store_true", help="check the checker on a made-up workspace")
    options = parser.parse_args()
    if options.self_test:
        return self_test()

    failures: list[str] = []
    for crate, root in crates(options.root):
        for module in walk(root):
            collect_reexports(module)
        failures += cycle_findings(crate, root)
        for module in walk(root):
            relative = module.file.resolve().relative_to(options.root.resolve()).as_posix()
            if relative in GENERATED_FILES:
                continue
            for line in long_functions(module, relative):
                failures.append(f"{crate}: {line} (limit {MAX_FUNCTION_LINES})")
    for line in failures:
        print(f"error: {line}")
    if failures:
        print(f"{len(failures)} finding(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
