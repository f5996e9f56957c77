"""The committed SDL is the contract; it must match the code (run `make sdl` after a change)."""

from schema.export import SDL_PATH, current_sdl


def test_committed_sdl_matches_the_code() -> None:
    assert SDL_PATH.read_text() == current_sdl(), "schema.graphql is stale: run `make sdl`"
