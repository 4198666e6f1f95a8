"""The message catalogues against the source (issue 24): every marked string has its Hebrew, the
Hebrew keeps the English's placeholders, formulas, code and emphasis, and the catalogue holds
nothing the source no longer says. `make messages` brings a catalogue up to the source."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from babel.messages.pofile import read_po

from core import i18n

BRACES = re.compile(r"\{[^{}]*\}")


def catalogue(code: str):
    with i18n.catalogue_path(code).open("rb") as po:
        return read_po(po, locale=code, domain=i18n.DOMAIN)


@pytest.fixture(scope="module")
def source():
    return i18n.extract()


@pytest.fixture(scope="module")
def hebrew():
    return catalogue("he")


def where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:3])


def test_every_marked_string_has_its_hebrew(source, hebrew) -> None:
    missing = [
        f"{where(m)}: {m.id!r}"
        for m in source
        if m.id and (hebrew.get(m.id) is None or not hebrew.get(m.id).string)
    ]
    fuzzy = [repr(m.id) for m in hebrew if m.id and m.fuzzy]
    assert not missing, "no Hebrew (run `make messages`, then translate):\n" + "\n".join(missing)
    assert not fuzzy, "unchecked (fuzzy) entries:\n" + "\n".join(fuzzy)


def test_catalogue_holds_only_what_the_source_says(source, hebrew) -> None:
    stale = [repr(m.id) for m in hebrew if m.id and source.get(m.id) is None]
    assert not stale, "not in the source any more (run `make messages`):\n" + "\n".join(stale)


def test_hebrew_keeps_placeholders_formulas_and_code(hebrew) -> None:
    """What `.format()` fills in, and what the page draws as LaTeX, code or emphasis, must be the
    same in both languages: a lost `{count}` is a KeyError on the page, a lost `$` a broken
    formula."""
    wrong = []
    for message in hebrew:
        if not message.id or not message.string:
            continue
        english, hebrew_text = message.id, message.string
        for name, count in (
            ("placeholders and LaTeX groups", lambda t: Counter(BRACES.findall(t))),
            ("$ signs", lambda t: t.count("$")),
            ("backticks", lambda t: t.count("`")),
            ("bold markers", lambda t: t.count("**")),
            ("line breaks", lambda t: t.count("\n")),
            ("icons", lambda t: Counter(re.findall(r":material/[a-z_]+:", t))),
        ):
            if count(english) != count(hebrew_text):
                wrong.append(f"{where(message)} {name}: {english!r} -> {hebrew_text!r}")
    assert not wrong, "\n".join(wrong)


def test_hebrew_is_looked_up_and_english_is_the_source() -> None:
    i18n.translations.cache_clear()
    with i18n.in_language("he"):
        assert i18n._("Convolution explorer") == "סייר הקונבולוציה"
        assert i18n._("not a marked string") == "not a marked string"
        assert i18n.right_to_left()
    assert i18n.language() == "en"
    assert i18n._("Convolution explorer") == "Convolution explorer"
    assert i18n.set_language("xx") == "en"  # an unknown code is the default


def test_catalogue_compiles_with_the_standard_library() -> None:
    translations = i18n.translations("he")
    hebrew = catalogue("he")
    translated = [m for m in hebrew if m.id and m.string]
    assert len(translations._catalog) >= len(translated)  # noqa: SLF001 (the compiled table)


@pytest.mark.parametrize(
    "hebrew, shown",
    [
        (
            "סך הכול: {a:,} × {b:,} + {b:,} = **{c:,}**",
            "סך הכול: ⁦{a:,} × {b:,} + {b:,} = **{c:,}⁩**",
        ),
        ("קלט {h}×{w} ← פלט", "קלט ⁦{h}×{w}⁩ ← פלט"),
        ("{n} תמונות, 0.91% מהן", "{n} תמונות, 0.91% מהן"),  # a lone number needs nothing
        ("1. **שורה** ראשונה", "1. **שורה** ראשונה"),
        ("עם $y = 2 + 1$ ו-`3 + 4`, ואז 5 + 6", "עם $y = 2 + 1$ ו-`3 + 4`, ואז ⁦5 + 6⁩"),
    ],
)
def test_sums_in_right_to_left_text_are_isolated(hebrew: str, shown: str) -> None:
    """A sum in a Hebrew sentence reads left to right; formulas and code are left alone (an
    invisible character would be copied with the code)."""
    assert i18n.isolate_left_to_right(hebrew) == shown.replace("⁦", i18n.LRI).replace("⁩", i18n.PDI)
