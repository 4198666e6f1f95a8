"""The app's languages: English (the source text, in the code) and Hebrew (the lecture's own).

Text is marked in the code the standard gettext way and looked up in message catalogues,
`locale/<code>/LC_MESSAGES/messages.po` (Babel extracts the marked text from the source:
`make messages`; `tests/test_catalogue.py` fails when a marked string has no translation):

    _("Output size")                      translated now, in the current language
    N_("Output size")                     only marked (a module-level constant): `_()` it on show
    _("{n:,} images").format(n=count)     placeholders by name, never an f-string inside `_()`
    ngettext("{n} run", "{n} runs", n)    a count's plural form

The current language is a `ContextVar`: each Streamlit session's script runs in its own thread,
and its router sets the language at the start of every run (`dashboard/language.py`); anything
else (the CLI, a training subprocess, a test) is in English unless it calls `set_language`.

The `.po` files are the one source: they are compiled in memory when first used (Babel's
`write_mo`, then the standard library's `gettext`), so there is no binary `.mo` to go stale.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import re
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
# The language's own name, as its readers write it (the switch shows these).
LANGUAGES: dict[str, str] = {"en": "English", "he": "עברית"}
RIGHT_TO_LEFT = frozenset({"he"})

# In a right-to-left sentence, a run of numbers and operators is laid out right to left as well
# ("784 × 3,456 = 2,712,960" would read "2,712,960 = 3,456 × 784"): each such run of a
# translation (placeholders, numbers, operators, at least one operator between two operands) is
# wrapped in Unicode's left-to-right isolate (LRI ... PDI) when the catalogue is loaded, so the
# catalogue itself stays plain text.
LRI, PDI = "\u2066", "\u2069"
_OPERAND = r"(?:\{[^{}]*\}|\d[\d,.]*%?)"
_OPERATOR = r"[×=+−÷/·→≤≥<>^]"
_RUN = re.compile(
    rf"\**{_OPERAND}\**(?:[ \u00a0]*\**{_OPERATOR}[ \u00a0]*\**{_OPERAND}\**"
    rf"|[ \u00a0]*\**{_OPERAND}\**)*"
)

_VERBATIM = re.compile(r"(```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$)", re.S)


def isolate_left_to_right(text: str) -> str:
    """`text` with its runs of numbers and operators wrapped as left-to-right isolates."""

    def wrap(match: re.Match) -> str:
        run = match.group(0)
        if not re.search(_OPERATOR, run):
            return run
        inner = run.strip("*")
        start = run.index(inner)
        return f"{run[:start]}{LRI}{inner}{PDI}{run[start + len(inner) :]}"

    # Formulas and code are left alone: KaTeX and code blocks are left to right already, and an
    # invisible character inside them would be copied with the code.
    pieces = _VERBATIM.split(text)
    return "".join(
        piece if index % 2 else _RUN.sub(wrap, piece) for index, piece in enumerate(pieces)
    )


def ltr(text: object) -> str:
    """`text` as one left-to-right piece (a shape, a sum) in the current language's text."""
    return f"{LRI}{text}{PDI}" if right_to_left() else str(text)


_current: ContextVar[str] = ContextVar("language", default=DEFAULT)


def language() -> str:
    """The current language's code ("en", "he")."""
    return _current.get()


def set_language(code: str) -> str:
    """Make `code` the current language (an unknown code gives the default); returns it."""
    code = code if code in LANGUAGES else DEFAULT
    _current.set(code)
    return code


@contextlib.contextmanager
def in_language(code: str) -> Iterator[str]:
    """`with in_language("en"):` text made inside is in `code` (e.g. what is stored for every
    reader, such as a quiz answer's named mistake, which each reader's page translates)."""
    token = _current.set(code if code in LANGUAGES else DEFAULT)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def right_to_left(code: str | None = None) -> bool:
    return (code or language()) in RIGHT_TO_LEFT


def catalogue_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of `code` (English, or a missing catalogue: the text itself)."""
    path = catalogue_path(code)
    if code == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    # Imported here: the CLI and the trainer (English only) never load Babel.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy (unchecked) entry stays English
    compiled.seek(0)
    table = gettext.GNUTranslations(compiled)
    if code in RIGHT_TO_LEFT:
        table._catalog = {  # noqa: SLF001 (gettext's own table, filled once here)
            key: isolate_left_to_right(value) if isinstance(value, str) else value
            for key, value in table._catalog.items()  # noqa: SLF001
        }
    return table


def _(message: str) -> str:
    """`message` in the current language (itself where the catalogue has no entry)."""
    if not message:
        return message
    return translations(language()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for it)
    """Marks `message` for the catalogue without translating it (translate it where shown)."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(language()).ngettext(singular, plural, count)


# The source folders whose marked text is in the catalogues, and the marking functions.
SOURCES = ("core", "dashboard", "pages")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract():
    """Every marked string in the source, as a Babel catalogue (the template, `messages.pot`)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="cnn-explainer", domain=DOMAIN)
    root = LOCALE_DIR.parent
    for folder in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            root / folder, [("**.py", "python")], keywords=KEYWORDS, strip_comment_tags=True
        ):
            template.add(
                message,
                locations=[(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
                flags=("python-brace-format",) if "{" in str(message) else (),
            )
    return template


def update(code: str) -> tuple[int, int]:
    """Brings `code`'s catalogue up to the source: new strings added untranslated, gone ones
    dropped (kept commented out as obsolete). Returns (entries, untranslated)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = extract()
    path = catalogue_path(code)
    if path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale=code, domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=code, domain=DOMAIN, project="cnn-explainer")
    catalog.update(template, no_fuzzy_matching=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, sort_output=False, include_previous=False)
    untranslated = sum(1 for message in catalog if message.id and not message.string)
    return len([m for m in catalog if m.id]), untranslated


if __name__ == "__main__":  # `make messages`: every catalogue brought up to the source
    for code in LANGUAGES:
        if code != DEFAULT:
            entries, missing = update(code)
            print(f"{catalogue_path(code)}: {entries} entries, {missing} untranslated")
