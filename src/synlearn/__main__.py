"""``python -m synlearn check CONFIG...``: check config files before running the workflow.

Snakemake reads ``--configfile`` itself and reports a YAML syntax error without the
line; this command names the file and line, then runs the same checks as the
workflow (schemas, and each family's cross-field rules). Exit status 0 when every
file is valid, 1 otherwise, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import check_config
from .core.config import load_config
from .core.errors import ConfigError

SCHEMAS = Path(__file__).resolve().parents[2] / "workflow" / "schemas"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synlearn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check config files")
    check.add_argument("configs", nargs="+", type=Path)
    check.add_argument("--schemas", type=Path, default=SCHEMAS,
                       help="folder of the config schemas (default: the repository's)")
    args = parser.parse_args(argv)
    status = 0
    for path in args.configs:
        try:
            check_config(load_config(path), args.schemas, source=str(path))
        except ConfigError as error:
            print(error, file=sys.stderr)
            status = 1
        else:
            print(f"{path}: valid")
    return status


if __name__ == "__main__":
    sys.exit(main())
