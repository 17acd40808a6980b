"""Run the ``themes`` command: ``python -m analysis INPUT.csv --text-column C --output OUT.csv``."""

from analysis.cli import main

if __name__ == "__main__":
    main()
