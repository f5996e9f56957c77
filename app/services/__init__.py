"""Use cases: the application logic between the API edge and the database."""
