"""Who is calling: principals and the checks of their credentials."""
