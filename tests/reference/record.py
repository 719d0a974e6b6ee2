"""Record or check the outputs of every shipped pipeline against the stored reference.

    python tests/reference/record.py record            # run every pipeline, write <name>.json
    python tests/reference/record.py compare           # run again, list every difference (exact)
    python tests/reference/record.py compare --tolerant   # with the tolerances of the CI test

The reference (``tests/reference/<pipeline>.json``, see ``outputs.py``) is recorded on one
commit and checked on another in the same environment: a change that must not move numbers
compares exactly; ``tests/integration/test_reference.py`` checks it in CI with tolerances.
A change that moves numbers on purpose records the reference again in the same commit.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from outputs import compare, digest, informational  # noqa: E402


def pipelines() -> list[Path]:
    return sorted((REPO / "pipelines").glob("*.yaml"))


def run(path: Path, root: Path) -> Path:
    import gies

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gies.run(path, output_root=root)
    return Path(result.output_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["record", "compare"])
    ap.add_argument("--tolerant", action="store_true", help="the CI tolerances instead of exact")
    ap.add_argument("--only", nargs="*", help="pipeline names (default: every shipped one)")
    ap.add_argument("--ignore-manifest", nargs="*", default=[],
                    help="manifest key paths (a.b) a change documents")
    args = ap.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in pipelines():
            if args.only and path.stem not in args.only:
                continue
            folder = run(path, Path(tmp))
            new = digest(folder)
            ref_path = HERE / f"{path.stem}.json"
            if args.action == "record":
                ref_path.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n", encoding="utf-8")
                print(f"{path.stem}: recorded {len(new)} files")
                continue
            ref = json.loads(ref_path.read_text(encoding="utf-8"))
            diffs = compare(ref, new, exact=not args.tolerant, ignore_manifest=args.ignore_manifest)
            info = informational(ref, new)
            print(f"{path.stem}: {'identical' if not diffs else f'{len(diffs)} difference(s)'}"
                  f" ({len(new)} files; byte-compared only and different: {', '.join(info) or 'none'})")
            for d in diffs:
                print(f"  {d}")
            failed += bool(diffs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
