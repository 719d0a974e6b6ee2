"""``docs/methods.md`` lists exactly the registered methods (it is generated from them)."""

from __future__ import annotations

from gies.methods import CURVES, methods_markdown

from ..conftest_paths import REPO


def test_methods_doc_is_generated_from_the_registries():
    text = (REPO / "docs" / "methods.md").read_text(encoding="utf-8")
    assert text == methods_markdown(), (
        "regenerate: python -c \"from gies.methods import methods_markdown; "
        "open('docs/methods.md', 'w').write(methods_markdown())\"")
    assert all(f"| `{name}`" in text for name in CURVES)
