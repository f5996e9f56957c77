"""Local fakes of vendor APIs that tests talk real HTTP to."""
