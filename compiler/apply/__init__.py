"""`specops apply`: executors with side effects (dbt, MLflow, kubectl), run in graph order under a lock."""
