"""``python -m xhydro_accessor``: the command line of :mod:`xhydro_accessor.cli`."""

from .cli import main

if __name__ == "__main__":
    main()
