"""Generate tests/fixtures/yaml/pyyaml-goldens.json: what az's `-o yaml` prints for a corpus of JSON values.

az formats `-o yaml` with `yaml.safe_dump(result, default_flow_style=False, allow_unicode=True)` (knack
`format_yaml`; docs/az-behaviour.md "Output formats"), and the result is always JSON-shaped data. aksctl's emitter
(crates/aks-cli/src/output/yaml.rs) must reproduce that text byte for byte; its data test compares it with every
case written here.

Each case is `{"name", "value", "yaml"}`: `value` is the JSON input (first written with `json.dumps` and read back
with `json.loads`, so the value PyYAML dumped is exactly what serde_json reads), `yaml` is PyYAML's output.

Run with the PyYAML az uses (target/az-venv is where scripts/az-conformance.sh installs az 2.91; any PyYAML 6
works: `python3 -m venv target/yaml-venv && target/yaml-venv/bin/pip install pyyaml`). Needs no network:

    unshare -n target/az-venv/bin/python scripts/gen-yaml-goldens.py
"""

import json
import os
import random
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "tests", "fixtures", "yaml", "pyyaml-goldens.json")
AKS_SHOW = os.path.join(ROOT, "tests", "fixtures", "arm-examples", "ManagedClustersGet.json")

# Strings that exercise PyYAML's resolver (YAML 1.1 bools, ints, floats, nulls, timestamps, merge and value keys)
# and its analysis of indicators, whitespace, line breaks, special and unicode characters.
TRICKY = [
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
    "true", "True", "TRUE", "false", "False", "FALSE", "yes\n", "null", "Null", "NULL", "~", "", " ", "  ",
    "0", "00", "0123", "0129", "08", "0o17", "0x1F", "0xg", "0b101", "0b102", "1_000", "+12", "-12", "1e3", "1E3",
    "1.5", "1.", "-1.5", "1.5e3", "1.5e+3", "1.5E-3", ".5", "._5", "1_0.0_1", ".inf", "-.inf", "+.inf", ".Inf",
    ".INF", ".nan", ".NaN", "-.nan", "1:30", "1:30.5", "190:20:30", "1:60", "0:30", "-1:30", "1:5:3",
    "2024-01-01", "2024-1-1", "2024-01-01 10:00:00", "2024-1-1 1:00:00", "2024-01-01T10:00:00Z",
    "2024-01-01t10:00:00.123456", "2024-01-01 10:00:00.5 +02:00", "2024-01-01 10:00:00 -5", "2024-01-01\t10:00:00Z",
    "2024-01-01 10:00:00 ", "2024-13-45", "20240101", "<<", "<", "=", "==", "!", "&", "*", "!x", "&a", "*a",
    "|", ">", "%x", "@x", "`x", "'quoted'", "it's", '"dq"', 'say "hi"', "back\\slash", ": x", ":x", ":", "x:",
    "x: y", "a:b", "http://example.com:8080/x", "- x", "-x", "-", "--", "---", "--- x", "---x", "...", "...x",
    "? x", "?x", "?", "x?", "#x", "a #b", "a#b", "a# b", "a, b", "a,b", "[x]", "{x}", "x]", "x}", "x[", "a [b]",
    " lead", "trail ", " both ", "a  b", "a   b   c", "a\nb", "a\n", "\na", "\n", "a \nb", "a\n b", "a\n\nb",
    "a\n\n", "tab\there", "\t", "trail\t", "\ttab", "cr\rx", "crlf\r\nx", "nul\x00x", "bell\x07", "esc\x1b",
    "del\x7f", "\x85next", "nbsp\xa0x", "\xa0", "ls\u2028x", "ps\u2029x", "\ufeffbom", "é", "ünïcödé", "日本語",
    "emoji 😀", "😀", "emoji😀\ttab", "\ud7ff", "\ue000x", "\ufffd", "\ufffe", "\U0010fffe", "\U0010ffff",
    "Ünïcode key: value", "ñ\nline",
]

WORDS = " ".join(["word"] * 40)
LONG = [
    WORDS,
    WORDS + " ",
    " " + WORDS,
    "x" * 200,
    "https://example.com/" + "a" * 120 + "?query=value&other=" + "b" * 40,
    "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua: ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo",
    "spaces  between  every  word  " * 8,
    "tab\t" + WORDS + "\tend " + WORDS,
    "quote's " * 30,
    "escape\x07 " * 40,
    "unicode ünïcödé wörds and 日本語 " * 8,
    "emoji 😀 and a tab\t " * 12,
    "line one " * 12 + "\n" + "line two " * 12 + "\n\n" + "line three",
    "a" * 79 + " " + "b" * 10,
    "a" * 80 + " " + "b" * 10,
    "a" * 81 + " " + "b" * 10,
    "a" * 70 + " bbbbbbbbbb cccccccccc",
    "-" + "x" * 100 + " " + "y" * 10,
    '"' + "q" * 90 + " " + "r" * 10 + '"',
    "\\" * 100 + " " + "\\" * 10,
    "a" * 78 + "\t" + "b" * 78 + " c\td " + "e" * 20,
    " " * 100,
    "x" + " " * 90 + "y",
]


def nested_examples():
    long = "the quick brown fox jumps over the lazy dog " * 4
    return [
        {},
        [],
        {"a": {}},
        {"a": []},
        [[]],
        [{}],
        [[], {}],
        [[1, 2], [3, [4, [5]]]],
        [{"a": 1, "b": [1, 2]}, {"c": {"d": []}}],
        {"list": [{"x": [{"y": 1}, [long, {"z": long}]]}]},
        {"deep": {"deeper": {"deepest": {"leaf": long, "items": [long, ": " + long, "tab\t" + long]}}}},
        [[[[long]]]],
        [{"key with spaces": "value", "key: colon": "v", "-dash": "v", "": "empty key", "yes": "bool key",
          "1": "int key", "1.5": "float key", "null": "null key", "~": "tilde key", "multi\nline": "key",
          "trailing ": "space", "k" * 130: "long key", "k" * 127: "key of 127", "k" * 128: "key of 128",
          "ünï": "unicode key", "emoji😀": "key", "tab\tkey": "v", "'quote": "v", "#hash": "v"}],
        {"B": 1, "a": 2, "_": 3, "é": 4, "Z": 5, "1": 6, "10": 7, "2": 8, "@odata.type": 9, "$ref": 10,
         "A": 11, "aa": 12, "a_b": 13, "a-b": 14, "a.b": 15, "~": 16, "ab": 17, "Ä": 18, "日": 19, "😀": 20},
        {"numbers": [0, 1, -5, 42, 9007199254740992, 9223372036854775807, -9223372036854775808,
                     18446744073709551615, 1.0, -1.5, 0.1, 0.5, 100.0, 123456789.123, 1e16, 1.5e16, 1e-5,
                     0.0001, 0.00012, 1e22, 1e21, 1234567890123456.0, 12345678901234567.0, 5e-324,
                     1.7976931348623157e308, -0.0, 2.5e-7, 3.14159, 1e100]},
        {"booleans": [True, False], "nulls": [None, None], "mixed": [None, True, 1, 1.0, "1", "true", "null"]},
        {"empty": "", "space": " ", "tilde": "~", "null_string": "null", "none": None},
        {"a": [{"b": [{"c": [{"d": "e"}]}]}]},
        {"list_of_lists": [[1, [2, 3]], [[4], []], [{}]]},
        {"multiline": "first\nsecond\n", "crlf": "a\r\nb", "long_multiline": long + "\n" + long},
    ]


ROOT_SCALARS = ["x", "", "yes", "a\nb", WORDS, 1, 1.5, -0.0, True, False, None, "null", "~", "---", "...",
                "- x", "#x", " lead", "tab\t"]


def random_strings(count, seed=20261128):
    """Seeded random strings over the characters PyYAML's analysis and writers treat specially, short and long
    (folding), so the corpus covers combinations nobody thought to write down."""
    rng = random.Random(seed)
    alphabet = list("aZ09 :#-?'\",[]{}&*!|>%@`.~=<") + ["\n", "\t", "\r", "\x00", "\x85", "\xa0", "\u2028", "é",
                                                         "日", "😀", "\ufeff", "  ", "ab", "word ", "\\"]
    strings = []
    for _ in range(count):
        length = rng.choice([1, 2, 3, 5, 8, 13, 40, 90, 200])
        strings.append("".join(rng.choice(alphabet) for _ in range(length)))
    return strings


def aks_show():
    with open(AKS_SHOW, encoding="utf-8") as file:
        example = json.load(file)
    return example["responses"]["200"]["body"]


def main():
    cases = []

    def add(name, value):
        value = json.loads(json.dumps(value, ensure_ascii=False))
        text = yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)
        cases.append({"name": name, "value": value, "yaml": text})

    for index, text in enumerate(TRICKY):
        add(f"tricky-{index}", {"value": text, "list": [text], "nested": {"key": text}})
        add(f"tricky-key-{index}", {text: "value"})
    for index, text in enumerate(LONG):
        add(f"long-{index}", {"value": text, "list": [text, [text]], "nested": {"deeper": {"key": text}}})
        add(f"long-root-{index}", text)
    for index, value in enumerate(nested_examples()):
        add(f"nested-{index}", value)
    for index, value in enumerate(ROOT_SCALARS):
        add(f"root-{index}", value)
    for index, text in enumerate(random_strings(400)):
        add(f"random-{index}", {text: [text, {"m": text}]})
    add("all-tricky-strings", TRICKY)
    add("aks-show", aks_show())
    add("aks-list", [aks_show(), aks_show()])

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as file:
        # One case per line: small, and a regenerated file diffs case by case.
        header = json.dumps({"generator": "scripts/gen-yaml-goldens.py", "pyyaml": yaml.__version__},
                            ensure_ascii=False)
        file.write(header[:-1] + ', "cases": [\n')
        file.write(",\n".join(json.dumps(case, ensure_ascii=False) for case in cases))
        file.write("\n]}\n")
    print(f"{len(cases)} cases written to {os.path.relpath(OUTPUT, ROOT)} (PyYAML {yaml.__version__})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
