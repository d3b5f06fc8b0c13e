"""The pipeline: the phase registry (the only place the order of phases lives), its runner, gates and
run records, bulk loading and the backfill."""
