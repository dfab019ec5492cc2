"""``python -m tidings.cli``."""

from tidings.cli import run

if __name__ == "__main__":
    run()
