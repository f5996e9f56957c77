"""`python -m tests.browser.serve HOST PORT`: what `make run` does (migrate, seed the demo,
register the trusted documents, serve), in one process so the browser tests pay for one
start-up; DATABASE_URL and the other settings come from the environment."""

from __future__ import annotations

import sys

from app.cli import main

if __name__ == "__main__":
    host, port = sys.argv[1:3]
    for command in (["migrate"], ["seed-demo"], ["documents", "register", "documents"]):
        if main(command) != 0:
            sys.exit(f"fulfillment {' '.join(command)} failed")
    sys.exit(main(["serve", "--host", host, "--port", port]))
