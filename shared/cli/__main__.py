"""`python -m shared.cli`, the same as `kinerja`."""

from shared.cli.main import main

if __name__ == "__main__":
    main()
