"""Every part of every platform is there: row, counting, media rules, options class, docs.

Adding a platform is one row in ``platforms/_table.py`` and, when it takes
options, one class in ``platforms/_options.py``; these tests fail until the
row, its counting, its options class (and that class's export and docs) and
the reference page agree.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, get_args

import attrs
import pytest

import socialwrite
import socialwrite.platforms
from socialwrite._protocol import PLATFORM_ID
from socialwrite.platforms import (
    RULES,
    MediaKind,
    PlatformRules,
    TextCounting,
    _media,
    _options,
    _text,
)

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "socialwrite" / "platforms"
PLATFORMS = sorted(RULES)
OPTION_CLASSES = get_args(_options.PlatformOptions)
EXAMPLES = sorted(
    f"socialwrite.platforms.{path.stem}".removesuffix(".__init__")
    for path in PACKAGE.glob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)


# --- rows -----------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_row_is_keyed_by_a_valid_platform_id(platform: str) -> None:
    """Each row sits under its own id, one the protocol accepts, with a display name."""
    rules = RULES[platform]
    assert rules.id == platform
    assert PLATFORM_ID.fullmatch(platform)
    assert rules.name


def test_a_row_must_state_every_part() -> None:
    """Text counting, media rules and the options class have no defaults: forgetting one fails."""
    required = {
        field.name for field in attrs.fields(PlatformRules) if field.default is attrs.NOTHING
    }
    assert required >= {
        "id",
        "name",
        "text_limit",
        "text_counting",
        "media_required",
        "max_media",
        "max_images",
        "max_gifs",
        "max_videos",
        "mixed_media",
        "max_image_bytes",
        "max_gif_bytes",
        "max_video_bytes",
        "alt_text_limit",
        "options_class",
    }
    row = attrs.asdict(RULES["bluesky"], recurse=False)
    del row["options_class"]
    with pytest.raises(TypeError, match="options_class"):
        PlatformRules(**row)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_text_rules_are_whole(platform: str) -> None:
    """Each row has a positive text limit and a counting mode that counts text."""
    rules = RULES[platform]
    assert rules.text_limit > 0
    assert rules.text_counting in get_args(TextCounting)
    assert rules.limit(with_media=True) <= rules.limit()
    assert _text.count_with(rules, "ab") == 2
    for extra in (rules.url_length, rules.caption_limit, rules.max_hashtags):
        assert extra is None or extra > 0


def test_every_counting_mode_has_a_counter() -> None:
    """A new TextCounting mode fails here until format_text and count_text can count it."""
    assert set(_text.COUNTERS) == set(get_args(TextCounting))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_media_rules_are_whole(platform: str) -> None:
    """Counts fit max_media, some kind is accepted, and sizes exist only for accepted kinds."""
    rules = RULES[platform]
    assert rules.max_media >= 1
    accepted = [kind for kind in get_args(MediaKind) if rules.max_of_kind(kind)]
    assert accepted
    for kind in get_args(MediaKind):
        assert 0 <= rules.max_of_kind(kind) <= rules.max_media
        most = rules.max_bytes(kind)
        assert most is None or (most > 0 and kind in accepted)
    assert rules.alt_text_limit is None or rules.alt_text_limit > 0


def test_every_media_kind_is_handled() -> None:
    """A new MediaKind fails here until the rules' lookups and the messages know it."""
    kinds = get_args(MediaKind)
    assert set(_media._PLURAL) == set(kinds)
    rules = RULES["x"]
    assert [rules.max_bytes(kind) for kind in kinds] == [
        rules.max_image_bytes,
        rules.max_gif_bytes,
        rules.max_video_bytes,
    ]
    assert [rules.max_of_kind(kind) for kind in kinds] == [
        rules.max_images,
        rules.max_gifs,
        rules.max_videos,
    ]


# --- options classes ------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_row_points_at_its_own_options_class(platform: str) -> None:
    """A row's options class is marked for that platform, and its options are read from it."""
    rules = RULES[platform]
    cls = rules.options_class
    if cls is None:
        assert dict(rules.options) == {}
        return
    assert _options.platform_of(cls) == platform
    assert list(rules.options) == [field.name for field in attrs.fields(cls)]


def test_every_options_class_belongs_to_one_row() -> None:
    """PlatformOptions, the marked classes and the rows' classes are the same set, one per row."""
    used = [rules.options_class for rules in RULES.values() if rules.options_class is not None]
    assert len(used) == len(set(used))
    assert set(used) == set(OPTION_CLASSES)
    marked = {_options.platform_of(cls) for cls in OPTION_CLASSES}
    assert marked == {rules.id for rules in RULES.values() if rules.options_class is not None}


def test_a_row_with_another_platforms_class_is_refused() -> None:
    """A row pointing at a class marked for another platform fails to build."""
    row = attrs.asdict(RULES["bluesky"], recurse=False)
    with pytest.raises(ValueError, match="XOptions"):
        PlatformRules(**{**row, "options_class": _options.XOptions})


@pytest.mark.parametrize("cls", OPTION_CLASSES, ids=lambda cls: cls.__name__)
def test_options_class_is_exported(cls: type[Any]) -> None:
    """Each options class is public: exported from socialwrite and listed in its __all__."""
    assert getattr(socialwrite, cls.__name__) is cls
    assert cls.__name__ in socialwrite.__all__


@pytest.mark.parametrize("cls", OPTION_CLASSES, ids=lambda cls: cls.__name__)
def test_options_class_is_a_frozen_keyword_schema(cls: type[Any]) -> None:
    """Every field is an option(): keyword-only, None by default, checked by the schema."""
    assert attrs.has(cls)
    instance = cls()
    for field in attrs.fields(cls):
        assert field.kw_only
        assert field.default is None
        assert field.validator is not None
        assert getattr(instance, field.name) is None
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(instance, field.name, "changed")


@pytest.mark.parametrize("cls", OPTION_CLASSES, ids=lambda cls: cls.__name__)
def test_options_docstring_documents_each_field(cls: type[Any]) -> None:
    """The class docstring's Args names exactly the fields, and states each choice and limit."""
    specs = _options.option_specs(cls)
    documented = _options._documented(cls.__doc__)
    assert list(documented) == list(specs)
    for name, spec in specs.items():
        assert spec.description == documented[name]
        assert spec.description
        for choice in spec.choices or ():
            assert f'"{choice}"' in spec.description
        if spec.max_length is not None:
            assert f"at most {spec.max_length}" in spec.description


def test_docstring_args_parsing() -> None:
    """Args entries are read whole (continuation lines joined); the section ends at a blank."""
    doc = """Summary.

    Args:
        first: one line.
        second: two
            lines.

    Raises:
        third: not an option.
    """
    assert _options._documented(doc) == {"first": "one line.", "second": "two lines."}
    assert _options._documented("No sections.") == {}
    assert _options._documented(None) == {}


def test_title_limit_is_the_title_options_limit() -> None:
    """The title limit is read from the title option, so it is written once."""
    for rules in RULES.values():
        title = rules.options.get("title")
        assert rules.title_limit == (None if title is None else title.max_length)
    assert RULES["youtube"].title_limit == 100
    assert RULES["bluesky"].title_limit is None


# --- docs -----------------------------------------------------------------------------


def _documented_rows() -> dict[str, list[str]]:
    page = (ROOT / "docs" / "reference" / "platforms.md").read_text(encoding="utf-8")
    rows: dict[str, list[str]] = {}
    for line in page.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0]] = cells[1:]
    return rows


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, type):
        return value.__name__
    return str(value)


def test_reference_page_lists_every_platform() -> None:
    """docs/reference/platforms.md has one row per platform, in the table's order."""
    assert list(_documented_rows()) == list(RULES)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_reference_page_matches_the_table(platform: str) -> None:
    """Each documented row states the table's name, limits, counting, media and options class."""
    rules = RULES[platform]
    expected = [
        rules.name,
        rules.text_limit,
        rules.text_counting,
        rules.max_media,
        rules.media_required,
        rules.alt_text_limit,
        rules.options_class,
    ]
    assert _documented_rows()[platform] == [_cell(value) for value in expected]


# --- the package ----------------------------------------------------------------------

ALLOWED_INSIDE = {
    "socialwrite._errors",
    "socialwrite._models",
    "socialwrite._protocol",
    "socialwrite._instances",
}


def _imports(path: Path) -> set[str]:
    """Return every module ``path`` imports, anywhere in it, relative ones made absolute."""
    package = "socialwrite.platforms"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            if node.module is None:
                found.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                found.add(module)
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_package_imports_only_what_it_may(path: Path) -> None:
    """The package needs only the stdlib, attrs, regex and the SDK's lowest modules."""
    for module in _imports(path):
        top = module.split(".")[0]
        if top == "socialwrite":
            assert module.startswith("socialwrite.platforms") or module in ALLOWED_INSIDE, module
        else:
            assert top in {"attrs", "regex"} or top in sys.stdlib_module_names, module


def test_import_stays_lazy() -> None:
    """Importing socialwrite compiles no pattern: regex and twitter-text load on first count."""
    code = (
        "import sys, socialwrite, socialwrite.platforms as p\n"
        "lazy = ('regex', 'socialwrite.platforms._twitter_text')\n"
        "print([name in sys.modules for name in lazy])\n"
        "p.count_text('x', 'a')\n"
        "print([name in sys.modules for name in lazy])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[False, False]", "[True, True]"]


def test_public_names_are_the_packages_all() -> None:
    """socialwrite.platforms exports exactly its __all__ (and OptionValue), all defined."""
    public = {
        name
        for name, value in vars(socialwrite.platforms).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} == {*socialwrite.platforms.__all__, "OptionValue"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_module_examples_run(name: str) -> None:
    """Every docstring example in the package gives what it shows."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
