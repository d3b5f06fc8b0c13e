"""Evaluation: grading, metrics, the walk-forward backtest and its report."""
