"""`python -m schema.export` writes the SDL that clients code against (a test checks drift)."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from schema.build import schema

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def current_sdl() -> str:
    return print_schema(schema) + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(current_sdl())
    print(f"wrote {SDL_PATH}")  # noqa: T201
