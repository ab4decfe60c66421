"""The console's templates and labels, checked whole: a page a test does not load still
compiles, and every label reads in both languages with the same placeholders."""

from __future__ import annotations

import re
from importlib.resources import files

from jinja2 import Environment, PackageLoader, meta

from verifier.console._labels import LABELS, label

TEMPLATES = files("verifier.console") / "templates"


def test_every_template_compiles() -> None:
    loader = PackageLoader("verifier.console", "templates")
    environment = Environment(loader=loader, autoescape=True)
    names = sorted(entry.name for entry in TEMPLATES.iterdir() if entry.name.endswith(".html"))
    assert "_clause.html" in names
    for name in names:
        environment.get_template(name)


def test_every_label_used_by_a_template_exists() -> None:
    environment = Environment(autoescape=True)
    used: set[str] = set()
    for entry in TEMPLATES.iterdir():
        source = entry.read_text(encoding="utf-8")
        meta.find_undeclared_variables(environment.parse(source))  # parses: no syntax error
        used.update(re.findall(r"""\bt\("([a-z_.0-9]+)"[,)]""", source))
    missing = sorted(key for key in used if key not in LABELS)
    assert not missing


def test_labels_read_in_both_languages_with_the_same_placeholders() -> None:
    for key, (english, chinese) in LABELS.items():
        assert english.strip(), key
        assert chinese.strip(), key
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", chinese)), key
    assert label("results", "zh", shown=1, total=2) == "共 2 条匹配，显示 1 条"
