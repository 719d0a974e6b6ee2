"""The ``gies`` command line: thin wrappers that parse options and call the library.

Every :class:`~gies.errors.GiesError` becomes one readable message on stderr and exit code 2;
any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

from gies import __version__
from gies.errors import GiesError

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[1]
#: The demo pipeline, relative to a gies source folder (it reads ``data/sample/``).
DEMO = Path("pipelines") / "bungo-cocoa.yaml"
log = logging.getLogger("gies")


class _Progress:
    """Stage lines and a bar of chunks done (rich, with ETA) on stderr; silent when quiet
    (the :class:`gies.runner.Progress` of a command-line run)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.console = None
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True)

    def stage(self, name: str) -> None:
        if not self.quiet:
            self.console.print(f"[bold cyan]»[/] {name}")

    def bar(self, total: int, what: str):
        return _Bar(self.console, total, what) if not self.quiet else _Bar(None, total, what)


class _Bar:
    """A transient rich progress bar with ETA (nothing without a console)."""

    def __init__(self, console, total: int, what: str):
        self.bar = None
        if console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress(f"  {what}", BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=console, transient=True)
            self.task = self.bar.add_task(what, total=total)
            self.bar.start()

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(level)
    warnings.simplefilter("ignore")  # gies warnings are collected and printed in the summary


def _summary_table(result) -> str:
    from gies.methods.schemes import SCHEMES

    a = result.aoi_summary.iloc[0]
    origin = _origin_rows(a)
    if "S1_ha" not in a.index and "VS_ha" not in a.index:  # no requirements: the origin alone
        return origin
    scheme = SCHEMES[result.manifest.get("class_scheme", {}).get("name", "fao")]
    potential = f"potential_{scheme.keys[0]}_ha" in a.index
    rows = list(zip(scheme.names, scheme.keys))
    if scheme.fao and (potential or a.get("N2_ha", 0) > 0):  # N split into N1 and N2
        rows[-1:] = [("N1", "N1"), ("N2", "N2")]
    rows += [("excluded", "excluded"), ("no data", "nodata")]
    total = a["area_ha"]

    def ha(prefix, col):
        if col == "N1":
            return a[f"{prefix}N_ha"] - a[f"{prefix}N2_ha"]
        return a[f"{prefix}{col}_ha"]

    head = f"{'class':<10}{'hectares':>14}{'share':>9}"
    lines = [head + (f"{'potential ha':>16}" if potential else "")]
    for name, col in rows:
        v = ha("", col)
        line = f"{name:<10}{v:>14,.0f}{(v / total if total else 0):>9.1%}"
        if potential:
            line += f"{ha('potential_', col):>16,.0f}"
        lines.append(line)
    lines.append(f"{'AOI':<10}{total:>14,.0f}{1:>9.1%}")
    return "\n".join(lines) + ("\n\n" + origin if origin else "")


def _origin_rows(a) -> str:
    """The AOI's hectares of the agreement classes (or of the similarity cut), and nothing
    without an origin analysis."""
    for prefix in ("agreement", "origin"):
        cols = [c[len(prefix) + 1:-3] for c in a.index
                if c.startswith(f"{prefix}_") and c.endswith("_ha")]
        if cols:
            total = a["area_ha"]
            lines = [f"{prefix:<20}{'hectares':>14}{'share':>9}"]
            for c in cols:
                v = a[f"{prefix}_{c}_ha"]
                lines.append(f"{c.replace('_', ' '):<20}{v:>14,.0f}"
                             f"{(v / total if total else 0):>9.1%}")
            lines.append(f"{'AOI':<20}{total:>14,.0f}{1:>9.1%}")
            return "\n".join(lines)
    return ""


def cmd_run(args) -> int:
    from gies.runner import run

    progress = _Progress(args.quiet)
    result = run(args.pipeline, progress=progress, force=getattr(args, "force", False),
                 scheduler=getattr(args, "scheduler", None), workers=getattr(args, "workers", None),
                 memory_limit=getattr(args, "memory_limit", None))
    if not args.quiet:
        print(f"\nOutputs: {result.output_dir}")
        print(_summary_table(result))
        c = result.manifest.get("cache", {})
        if c.get("enabled"):
            print(f"\nCache: {c['bytes'] / 1e6:,.1f} MB in {c['folder']} "
                  f"({len(c['reused'])} layer(s) reused, {len(c['added'])} added; "
                  "'gies cache clear' empties it)")
        if result.warnings:
            print(f"\n{len(result.warnings)} warning(s) (also in manifest.json):")
            for w in result.warnings:
                print(f"  - {w}")
        print(f"\nTotal time {result.timings['total']:.1f} s")
    return 0


def cmd_cache(args) -> int:
    from gies.io.cache import LayerCache
    from gies.config import load_pipeline

    p = load_pipeline(args.pipeline)
    cache = LayerCache(p.output_dir.parent / ".cache")
    freed = cache.clear()
    if not args.quiet:
        print(f"Cache {cache.folder} cleared ({freed / 1e6:,.1f} MB freed)")
    return 0


def demo_pipeline(cwd: Path | None = None) -> Path:
    """The demo pipeline: ``pipelines/bungo-cocoa.yaml`` of the working folder, else of the
    source checkout gies runs from; a :class:`GiesError` saying where the sample data is
    when neither has it (an installed package carries no sample data)."""
    for root in (Path.cwd() if cwd is None else cwd, REPO):
        if (root / DEMO).is_file():
            return root / DEMO
    raise GiesError(f"the demo needs the sample data of the gies source folder ({DEMO} and "
                    "data/sample/); run 'gies demo' inside a clone of the gies repository")


def cmd_demo(args) -> int:
    args.pipeline = demo_pipeline()
    return cmd_run(args)


def cmd_validate(args) -> int:
    from gies.api import validate

    report = validate(args.pipeline)
    report.raise_for_problems()
    if not args.quiet:
        print(report)
    return 0


def cmd_schema(args) -> int:
    from gies.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_inspect(args) -> int:
    from gies.io.read import describe

    print(describe(args.file))
    return 0


def cmd_products(args) -> int:
    from gies.config.products import find_profile, list_profiles, load_profile

    if args.action == "list":
        for _, f in list_profiles():
            p = load_profile(f)
            print(f"{p.product:<16}{p.species:<32}limit sets: {', '.join(p.limit_sets)}")
        return 0
    if not args.name:
        raise GiesError("products show: give a product name, e.g. 'gies products show cocoa'")
    p = load_profile(find_profile(args.name, base=Path.cwd()))
    print(f"{p.name} ({p.species}), {p.life_form}; {p.path}")
    for name, ls in p.limit_sets.items():
        print(f"\nlimit set {name!r} ({ls.method}); source: {p.sources[ls.source].strip()}")
        for f, lim in ls.limits.items():
            fd = p.factors[f]
            print(f"  {f:<18}[{fd.units}] {lim}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    ap = argparse.ArgumentParser(prog="gies", description="Land-suitability pipelines.")
    ap.add_argument("--version", action="version", version=f"gies {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0, help="more detail")
    common.add_argument("-q", "--quiet", action="store_true", help="errors only")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", parents=[common], help="run a pipeline file")
    p.add_argument("pipeline", type=Path)
    p.add_argument("--force", action="store_true",
                   help="recompute every layer instead of reusing the cache "
                   "(pipelines with processing.layer_cache: true)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask cluster (tcp://host:8786; default "
                   "$DASK_SCHEDULER_ADDRESS); its workers must see the same file paths")
    p.add_argument("--workers", type=int, metavar="N",
                   help="threads of the local scheduler (default: one per core)")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="memory for the local run (e.g. 2GB, 1.5GiB): fewer threads when they "
                   "would not fit; results do not change (chunking is fixed by the pipeline)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("cache", parents=[common], help="manage the cache of harmonised layers")
    p.add_argument("action", choices=["clear"])
    p.add_argument("pipeline", type=Path, help="the pipeline whose outputs folder holds the cache")
    p.set_defaults(func=cmd_cache)
    p = sub.add_parser("validate", parents=[common], help="check a pipeline file and its data")
    p.add_argument("pipeline", type=Path)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("demo", parents=[common], help="run the bundled Bungo cocoa pipeline")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("schema", parents=[common], help="print the JSON Schema of pipeline files")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("inspect", parents=[common], help="describe a raster or vector file")
    p.add_argument("file")
    p.set_defaults(func=cmd_inspect)
    p = sub.add_parser("products", parents=[common], help="list or show product profiles")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_products)
    return ap


#: Library parameters and the command-line options that set them.
_FLAGS = {"memory_limit": "--memory-limit", "workers": "--workers", "scheduler": "--scheduler"}


def _flags(exc: GiesError) -> str:
    """The message of ``exc`` with the library's parameter names as the options a user
    typed (``memory_limit`` -> ``--memory-limit``)."""
    from gies.errors import ParameterError

    return exc.named(_FLAGS) if isinstance(exc, ParameterError) else str(exc)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gies`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        return args.func(args)
    except GiesError as exc:
        lines = _flags(exc).splitlines() or [type(exc).__name__]
        print(f"gies: error: {lines[0]}", file=sys.stderr)
        for line in lines[1:]:
            print(f"gies: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gies: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (gies products list | head)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
