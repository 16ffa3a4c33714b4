"""Command line: ``python -m xhydro_accessor demo``."""

import argparse

from . import demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="xhydro-accessor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="route synthetic runoff through the bundled EFAS network")
    run_demo.add_argument("--members", type=int, default=50, help="ensemble members (default 50)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo.run(members=args.members)


if __name__ == "__main__":
    main()
