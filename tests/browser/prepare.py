"""`python -m tests.browser.prepare`: what `make run` does before it serves (migrate, seed the
demo, register the trusted documents), in one process to save two start-ups; DATABASE_URL
names the database."""

from __future__ import annotations

import sys

from app.cli import main

if __name__ == "__main__":
    for command in (["migrate"], ["seed-demo"], ["documents", "register", "documents"]):
        if main(command) != 0:
            sys.exit(f"fulfillment {' '.join(command)} failed")
