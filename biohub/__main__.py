"""``python -m biohub``: the same command as the ``biohub`` console script."""

from biohub.cli import main

if __name__ == "__main__":
    main()
