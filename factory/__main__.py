"""``python -m factory``: the same command as ``studio-factory`` (factory.cli.main)."""

from factory.cli import main

if __name__ == "__main__":
    main()
